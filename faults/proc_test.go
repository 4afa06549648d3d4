//go:build faults

package faults

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// proc is a child process whose output goes to a log file. It is killed
// when the test ends, if it still runs, and when the test binary dies
// (Pdeathsig), so no process outlives the suite.
type proc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser // nil when the child reads /dev/null
	done  chan struct{}
	state *os.ProcessState
	err   error
}

// lineWriter hides the *os.File from exec, so the child writes to a pipe
// that this process copies: a file size limit set on the child (the disk
// full fallback) must not hit its log.
type lineWriter struct{ w io.Writer }

func (l lineWriter) Write(p []byte) (int, error) { return l.w.Write(p) }

// startProc starts cmd with stdout and stderr appended to logPath. With
// firstLine, it returns the first line of stdout (the child's hello)
// once printed, and the rest of stdout goes to the log.
func startProc(t *testing.T, name, logPath string, cmd *exec.Cmd, withStdin, firstLine bool,
) (*proc, string) {
	t.Helper()
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("opening %s: %v", logPath, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = lineWriter{log}
	var stdout io.ReadCloser
	if firstLine {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	} else {
		cmd.Stdout = lineWriter{log}
	}
	if withStdin {
		if p.stdin, err = cmd.StdinPipe(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	hello := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		if stdout == nil {
			return
		}
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		hello <- line
		_, _ = io.Copy(log, r)
	}()
	go func() {
		<-copied
		p.err = cmd.Wait()
		p.state = cmd.ProcessState
		_ = log.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	if !firstLine {
		return p, ""
	}
	select {
	case line := <-hello:
		if line == "" {
			t.Fatalf("%s exited before saying hello; see %s", name, logPath)
		}
		return p, line
	case <-time.After(time.Minute):
		t.Fatalf("%s said nothing for a minute; see %s", name, logPath)
	}
	return p, ""
}

// running reports whether the process has not exited.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	if p.running() {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// stop asks the process to exit (SIGTERM, or closing its stdin) and waits
// up to within; it kills it after that. It returns the exit code, -1 for a
// process that died of a signal.
func (p *proc) stop(within time.Duration) (int, error) {
	if p.stdin != nil {
		_ = p.stdin.Close()
	}
	if p.running() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-p.done:
	case <-time.After(within):
		p.kill()
		return -1, fmt.Errorf("%s did not exit within %s of SIGTERM", p.name, within)
	}
	if p.state == nil {
		return -1, fmt.Errorf("%s: %w", p.name, p.err)
	}
	return p.state.ExitCode(), nil
}

// exited waits for the process to end on its own, within d.
func (p *proc) exited(d time.Duration) (int, error) {
	select {
	case <-p.done:
	case <-time.After(d):
		return -1, fmt.Errorf("%s still running after %s", p.name, d)
	}
	if p.state == nil {
		return -1, errors.Join(fmt.Errorf("%s did not start", p.name), p.err)
	}
	return p.state.ExitCode(), nil
}

// runCLI runs one opencals-sync command to completion, its output going to
// the scenario's cli.log.
func (w *world) runCLI(args ...string) {
	w.t.Helper()
	cmd := exec.Command(binary, args...)
	p, _ := startProc(w.t, "opencals-sync "+args[0], filepath.Join(w.logs, "cli.log"), cmd,
		false, false)
	code, err := p.exited(time.Minute)
	if err != nil || code != 0 {
		w.t.Fatalf("opencals-sync %v = exit %d, %v; see %s", args, code, err,
			filepath.Join(w.logs, "cli.log"))
	}
}
