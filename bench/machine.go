//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// describeMachine says when, with which Go and on what the run happens.
// The Go version is the toolchain's that runs the benchmarks.
func describeMachine(ctx context.Context, root string) (machine, error) {
	cmd := exec.CommandContext(ctx, "go", "env", "GOVERSION", "GOOS", "GOARCH")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return machine{}, fmt.Errorf("reading the Go version: %w", err)
	}
	goEnv := strings.Fields(string(out))
	if len(goEnv) != 3 {
		return machine{}, fmt.Errorf("reading the Go version: go env said %q", out)
	}
	m := machine{date: time.Now(), cores: runtime.NumCPU(), cpu: "unknown CPU",
		goVersion: goEnv[0] + " " + goEnv[1] + "/" + goEnv[2]}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		m.cpu = cpuModel(f)
		_ = f.Close()
	}
	m.load[0] = loadAverage()
	return m, nil
}

// loadAverage is the 1-minute load average, or "?" if unknown.
func loadAverage() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if fields := strings.Fields(string(raw)); err == nil && len(fields) > 0 {
		return fields[0]
	}
	return "?"
}

// cpuModel is the first "model name" of a /proc/cpuinfo.
func cpuModel(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			if v := strings.Join(strings.Fields(value), " "); v != "" {
				return v
			}
		}
	}
	return "unknown CPU"
}
