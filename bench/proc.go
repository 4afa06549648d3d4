//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	gosync "sync"
	"syscall"
	"time"
)

// errExited means a child ended while it was being waited for.
var errExited = errors.New("process exited")

// child is a process this command started; its stderr, and its stdout
// unless the caller reads it, go to NAME.log in the work directory.
type child struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed once Wait returned
	err    error         // Wait's error, set before exited closes
	stdout *os.File      // the read end of stdout, for spawnReading
	drain  gosync.WaitGroup
	// draining is set by keepDraining; without it stop closes stdout
	// first, so a child blocked writing to it can end.
	draining bool
}

// spawn starts bin with args, its output in the log.
func (e *env) spawn(name, bin string, args ...string) (*child, error) {
	c, _, err := e.start(name, false, bin, args)
	return c, err
}

// spawnReading starts bin with args and returns its stdout; once the
// caller has read what it needs, it calls keepDraining.
func (e *env) spawnReading(name, bin string, args ...string) (*child, io.Reader, error) {
	return e.start(name, true, bin, args)
}

func (e *env) start(name string, read bool, bin string, args []string) (*child, io.Reader,
	error,
) {
	logFile, err := os.Create(filepath.Join(e.tmp, name+".log"))
	if err != nil {
		return nil, nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	var stdout *os.File
	var pipeW *os.File
	if read {
		if stdout, pipeW, err = os.Pipe(); err != nil {
			return nil, nil, errors.Join(fmt.Errorf("starting %s: %w", name, err), logFile.Close())
		}
		c.cmd.Stdout = pipeW
	}
	err = c.cmd.Start()
	if pipeW != nil {
		_ = pipeW.Close() // the child holds the write end now
	}
	if err != nil {
		return nil, nil, errors.Join(fmt.Errorf("starting %s: %w", name, err), logFile.Close())
	}
	go func() {
		c.err = c.cmd.Wait()
		_ = logFile.Close()
		close(c.exited)
	}()
	if stdout == nil {
		return c, nil, nil
	}
	c.stdout = stdout
	return c, stdout, nil
}

// keepDraining discards the rest of the child's stdout until it exits, so
// that it never blocks writing.
func (c *child) keepDraining() {
	c.draining = true
	c.drain.Go(func() { _, _ = io.Copy(io.Discard, c.stdout) })
}

// closeStdout waits for the drain to reach the end of stdout, then closes
// it. The child has exited.
func (c *child) closeStdout() {
	c.drain.Wait()
	if c.stdout != nil {
		_ = c.stdout.Close()
	}
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop asks the child to end (SIGTERM), kills it after grace, and waits.
// It returns the process state, for its resource usage.
func (c *child) stop(grace time.Duration) (*os.ProcessState, error) {
	if c.stdout != nil && !c.draining {
		_ = c.stdout.Close()
	}
	select {
	case <-c.exited:
	default:
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	var err error
	select {
	case <-c.exited:
	case <-timer.C:
		_ = c.cmd.Process.Kill()
		<-c.exited
		err = fmt.Errorf("%s did not stop within %s after SIGTERM; killed", c.name, grace)
	}
	c.closeStdout()
	return c.cmd.ProcessState, err
}

// wait waits for the child to exit by itself, at most limit.
func (c *child) wait(ctx context.Context, limit time.Duration) (*os.ProcessState, error) {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-c.exited:
		c.closeStdout()
		if c.err != nil {
			return c.cmd.ProcessState, fmt.Errorf("%s: %w", c.name, c.err)
		}
		return c.cmd.ProcessState, nil
	case <-timer.C:
		return nil, fmt.Errorf("%s still running after %s", c.name, limit)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// maxRSS is the peak resident set of an exited process, from wait4's
// resource usage (kilobytes on Linux).
func maxRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10
	}
	return 0
}

// pollEvery is how often readiness is asked while a process starts: short
// against start-up times of milliseconds.
const pollEvery = 2 * time.Millisecond

// waitReady asks url every pollEvery until it answers 200 and returns when
// it did. It gives up when the child exits, ctx ends or limit passes.
func waitReady(ctx context.Context, c *child, url string, limit time.Duration) (time.Time,
	error,
) {
	client := &http.Client{Timeout: time.Second,
		Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	ticker := time.NewTicker(pollEvery)
	defer ticker.Stop()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		if resp, err := client.Get(url); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), nil
			}
		}
		select {
		case <-ticker.C:
		case <-c.exited:
			return time.Time{}, fmt.Errorf("%s exited before %s answered 200: %v (see %s.log)",
				c.name, url, c.err, c.name)
		case <-deadline.C:
			return time.Time{}, fmt.Errorf("%s did not answer 200 within %s", url, limit)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
