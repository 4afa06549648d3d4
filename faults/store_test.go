//go:build faults

package faults

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// forceDiskEnv=rlimit makes the disk-full phase use the fallback even
// where a tmpfs can be mounted, to test the fallback itself.
const forceDiskEnv = "FAULTS_DISK"

// testStoreFaults runs the daemon while its database is first locked by
// another process (BEGIN IMMEDIATE), then on a full disk: readiness must
// say so, errors must be logged, the daemon must keep running, and once
// the lock is gone and the space is back nothing may be lost and the
// database must pass PRAGMA integrity_check.
func testStoreFaults(t *testing.T, s *suite) {
	hold := time.Duration(s.scaled(20, 10)) * time.Second
	disk := newSmallDisk(t)
	w := newWorld(t, s, "store_faults", worldOptions{customers: 6, tokenTTL: 15 * time.Minute,
		requests: 1200, per: time.Minute, dir: disk.dir})
	disk.w = w
	w.registerAll()
	w.startDaemon()
	w.waitBaselined(time.Minute)
	admin := w.adminURL()
	since := w.sb.startActivity(t, 300*time.Millisecond)
	start := w.startState()
	<-time.After(5 * time.Second) // some events before the first fault

	// The database locked by another process.
	locker := w.lockDatabase()
	locked := w.watchReadiness(admin, hold)
	locker.release()
	w.ready(admin, "after the lock")

	// The disk full.
	disk.fill()
	full := w.watchReadiness(admin, hold)
	disk.free()
	w.ready(admin, "once space returned")
	fullErrs := w.countLogLines(disk.errText)

	<-time.After(5 * time.Second) // events after both faults
	stopped := w.sb.stopActivity(t)
	opts := Options{CompletedBy: stopped.At}
	o := w.settle(start, since, opts, 2*time.Minute)
	running := w.daemon.running()
	w.finish(o, opts, since)

	r, name := s.report, w.name
	r.Info(name, "lock held (s)", int(hold.Seconds()))
	r.Check(name, "readiness 503 naming the database, while locked",
		fmt.Sprintf("%d of %d", locked.named("database"), locked.probes), ">= 1",
		locked.named("database") > 0)
	if len(locked.bodies) > 0 {
		r.Note(name, "/readyz while locked: %s", strings.TrimSpace(locked.bodies[0]))
	}
	r.Info(name, "log lines saying the database is locked",
		w.countLogLines("database is locked"))
	r.Info(name, "disk full by", disk.how)
	r.AtLeast(name, fmt.Sprintf("log lines saying %q", disk.errText), fullErrs, 1)
	r.Check(name, "readiness 503 while the disk was full",
		fmt.Sprintf("%d of %d", full.failed, full.probes), ">= 1", full.failed > 0)
	r.Equal(name, "daemon running through both faults", running, true)
	if locked.named("database") == 0 || fullErrs == 0 || full.failed == 0 || !running {
		t.Errorf("locked: %d not-ready answers naming the database; full: %d log lines, "+
			"%d not-ready answers; daemon running %v; want > 0, > 0, > 0, true",
			locked.named("database"), fullErrs, full.failed, running)
	}
}

// locker is the child process holding the write lock.
type locker struct {
	*proc
	t *testing.T
}

// lockDatabase starts the locker and waits until it holds the lock.
func (w *world) lockDatabase() *locker {
	w.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=locker", lockerDBEnv+"="+w.conf.Database)
	p, line := startProc(w.t, "locker", filepath.Join(w.logs, "locker.log"), cmd, true, true)
	if strings.TrimSpace(line) != "locked" {
		w.t.Fatalf("locker said %q; want locked", line)
	}
	return &locker{proc: p, t: w.t}
}

// release closes the locker's stdin, on which it rolls back and exits.
func (l *locker) release() {
	l.t.Helper()
	_ = l.stdin.Close()
	if code, err := l.exited(time.Minute); err != nil || code != 0 {
		l.t.Fatalf("locker exit = %d, %v", code, err)
	}
}

// readiness is what /readyz answered while a fault lasted.
type readiness struct {
	probes, failed int
	bodies         []string // of the answers that were not 200
}

// named counts the failed answers that mention text.
func (r readiness) named(text string) int {
	n := 0
	for _, b := range r.bodies {
		if strings.Contains(b, text) {
			n++
		}
	}
	return n
}

// watchReadiness asks /readyz for d.
func (w *world) watchReadiness(admin string, d time.Duration) readiness {
	w.t.Helper()
	var r readiness
	for end := time.Now().Add(d); time.Now().Before(end); {
		r.probes++
		if code, body := readyz(admin); code != 200 {
			r.failed++
			r.bodies = append(r.bodies, body)
		}
		<-time.After(500 * time.Millisecond)
	}
	return r
}

// ready waits for the daemon to be ready again.
func (w *world) ready(admin, when string) {
	w.t.Helper()
	eventually(w.t, time.Minute, "readiness "+when, func() bool {
		code, _ := readyz(admin)
		return code == 200
	})
}

// smallDisk is where the database lives and how to fill it: a small tmpfs
// filled with a file, or, where mounting is not allowed, a file size limit
// (RLIMIT_FSIZE) set on the daemon so that its writes fail.
type smallDisk struct {
	t       *testing.T
	w       *world
	dir     string
	how     string
	errText string // what the daemon's log says when a write fails
	tmpfs   bool
	filler  string
	limit   unix.Rlimit
}

func newSmallDisk(t *testing.T) *smallDisk {
	t.Helper()
	d := &smallDisk{t: t, dir: t.TempDir()}
	if os.Getenv(forceDiskEnv) != "rlimit" {
		err := syscall.Mount("tmpfs", d.dir, "tmpfs", 0, "size=64m,mode=0700")
		if err == nil {
			t.Cleanup(func() {
				if err := syscall.Unmount(d.dir, 0); err != nil {
					t.Errorf("unmounting %s: %v", d.dir, err)
				}
			})
			d.tmpfs, d.how = true, "a 64 MiB tmpfs filled to the last byte"
			d.errText, d.filler = "database or disk is full", filepath.Join(d.dir, "filler")
			return d
		}
		t.Logf("mounting a tmpfs: %v; falling back to a file size limit", err)
	}
	d.how = "fallback, RLIMIT_FSIZE on the daemon: injected write errors"
	d.errText = "disk I/O error"
	return d
}

// fill takes the space away.
func (d *smallDisk) fill() {
	d.t.Helper()
	if !d.tmpfs {
		d.limitWrites()
		return
	}
	f, err := os.Create(d.filler)
	if err != nil {
		d.t.Fatal(err)
	}
	defer f.Close()
	for _, chunk := range []int{1 << 20, 4096, 1} {
		buf := make([]byte, chunk)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					d.t.Fatalf("filling the disk: %v", err)
				}
				break
			}
		}
	}
}

// limitWrites caps the daemon's file size at the smaller of its database
// files, so that the next write past it fails.
func (d *smallDisk) limitWrites() {
	d.t.Helper()
	limit := uint64(1 << 62)
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(d.w.conf.Database + suffix); err == nil {
			limit = min(limit, uint64(fi.Size()))
		}
	}
	pid := d.w.daemon.cmd.Process.Pid
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, nil, &d.limit); err != nil {
		d.t.Fatalf("reading the daemon's file size limit: %v", err)
	}
	capped := unix.Rlimit{Cur: limit, Max: d.limit.Max}
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &capped, nil); err != nil {
		d.t.Fatalf("limiting the daemon's file size: %v", err)
	}
}

// free gives the space back.
func (d *smallDisk) free() {
	d.t.Helper()
	if !d.tmpfs {
		pid := d.w.daemon.cmd.Process.Pid
		if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &d.limit, nil); err != nil {
			d.t.Fatalf("restoring the daemon's file size limit: %v", err)
		}
		return
	}
	if err := os.Remove(d.filler); err != nil {
		d.t.Fatal(err)
	}
}
