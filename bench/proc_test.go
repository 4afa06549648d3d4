//go:build linux

package main

import (
	"bufio"
	"errors"
	"log/slog"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func newTestEnv(t *testing.T) *env {
	t.Helper()
	return &env{opts: options{starts: 2}, tmp: t.TempDir(),
		logger: slog.New(slog.DiscardHandler)}
}

// The baseline server is built, started, probed, measured and stopped the
// way the daemon is.
func TestMinimalServerLifeCycle(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	bin := filepath.Join(e.tmp, "minimal-http")
	if err := buildMinimal(t.Context(), filepath.Join(e.tmp, "minimal"), bin); err != nil {
		t.Fatal(err)
	}
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.spawn("minimal", bin, addr)
	if err != nil {
		t.Fatal(err)
	}
	_, readyErr := waitReady(t.Context(), c, "http://"+addr+"/readyz", 30*time.Second)
	m, memErr := readMemory(c.pid())
	ps, stopErr := c.stop(10 * time.Second)
	if readyErr != nil || memErr != nil || stopErr != nil {
		t.Fatalf("waitReady() = %v; readMemory() = %v; stop() = %v", readyErr, memErr, stopErr)
	}
	if m.rss <= 0 || m.hwm < m.rss {
		t.Errorf("readMemory() = %+v; want 0 < rss <= hwm", m)
	}
	if ws := ps.Sys().(syscall.WaitStatus); ws.Signal() != syscall.SIGTERM || maxRSS(ps) <= 0 {
		t.Errorf("stop(): ended by %v with max RSS %d; want SIGTERM and a positive peak",
			ws.Signal(), maxRSS(ps))
	}
}

func TestSpawnReadingThenDraining(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c, stdout, err := e.spawnReading("sh", "/bin/sh", "-c",
		"echo ready; yes | head -c 200000; exec sleep 60")
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Errorf("first line = %q, %v; want \"ready\\n\"", line, err)
	}
	// Draining lets the child write past the pipe's buffer and reach sleep.
	c.keepDraining()
	if _, err := c.stop(10 * time.Second); err != nil {
		t.Errorf("stop() = %v", err)
	}
}

func TestWaitReadyGivesUpWhenTheChildExits(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	addr, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.spawn("exits", "/bin/sh", "-c", "exit 3")
	if err != nil {
		t.Fatal(err)
	}
	_, err = waitReady(t.Context(), c, "http://"+addr+"/readyz", time.Minute)
	if err == nil {
		t.Error("waitReady(exited child) = nil; want an error")
	}
	if _, err := c.wait(t.Context(), 10*time.Second); err == nil {
		t.Error("wait(child exiting 3) = nil; want an error")
	}
}

func TestSampleRSSStopsWhenTheChildExits(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t)
	c, err := e.spawn("short", "/bin/sh", "-c", "exec sleep 0.3")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = sampleRSS(t.Context(), c, 0, time.Minute)
	if !errors.Is(err, errExited) {
		t.Errorf("sampleRSS(exiting child) = %v; want errExited", err)
	}
	if _, err := c.wait(t.Context(), 10*time.Second); err != nil {
		t.Errorf("wait() = %v", err)
	}
}
