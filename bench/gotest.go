//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// errNoFigure means a benchmark did not report a figure the table needs:
// the benchmark was renamed or changed its units.
var errNoFigure = errors.New("figure not reported")

// benchCmd is one `go test -bench` run.
type benchCmd struct {
	pkg       string // as go test takes it: ./store/
	pattern   string // -bench
	benchtime string // -benchtime: 3x, 500ms
	count     int    // -count
	// timeout bounds the whole run, compilation included.
	timeout time.Duration
}

// result is one benchmark line: the name without the GOMAXPROCS suffix,
// and every reported value by unit (ns/op, rows/s, p99_ms …).
type result struct {
	name    string
	n       int64
	figures map[string]float64
}

// figures are a run's medians by benchmark name, then unit.
type figures map[string]map[string]float64

// get returns one median, or errNoFigure naming what was there.
func (f figures) get(name, unit string) (float64, error) {
	units, ok := f[name]
	if !ok {
		return 0, fmt.Errorf("benchmark %s: %w (benchmarks seen: %s)", name, errNoFigure,
			strings.Join(sortedKeys(f), ", "))
	}
	v, ok := units[unit]
	if !ok {
		return 0, fmt.Errorf("benchmark %s, unit %s: %w (units seen: %s)", name, unit,
			errNoFigure, strings.Join(sortedKeys(units), ", "))
	}
	return v, nil
}

// goBench runs b in the module root and returns the medians of what it
// reported. Its output is kept in the work directory.
func (e *env) goBench(ctx context.Context, b benchCmd) (figures, error) {
	ctx, cancel := context.WithTimeout(ctx, b.timeout)
	defer cancel()
	args := []string{"test", "-run", "^$", "-bench", b.pattern, "-benchtime", b.benchtime,
		"-count", strconv.Itoa(b.count), "-timeout", b.timeout.String(), b.pkg}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = e.root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	killGroupOnCancel(cmd)
	e.logger.Info("running", "command", "go "+strings.Join(args, " "))
	err := cmd.Run()
	e.runs++
	logName := fmt.Sprintf("go-test-%d-%s.log", e.runs, strings.Trim(b.pkg, "./"))
	_ = os.WriteFile(filepath.Join(e.tmp, logName), out.Bytes(), 0o600)
	if err != nil {
		return nil, fmt.Errorf("go test -bench %s %s: %w: %s", b.pattern, b.pkg, err,
			tail(out.String(), 3))
	}
	results, err := parseBench(&out, runtime.GOMAXPROCS(0))
	if err != nil {
		return nil, fmt.Errorf("reading go test -bench %s %s: %w", b.pattern, b.pkg, err)
	}
	return medians(results), nil
}

// killGroupOnCancel runs cmd in its own process group and kills the whole
// group when its context ends: go test's child, the test binary, goes too.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
}

// parseBench reads go test -bench output. procs is GOMAXPROCS, which go
// test appends to every name ("-2") unless it is 1. Lines that are not
// results are skipped.
func parseBench(r io.Reader, procs int) ([]result, error) {
	suffix := ""
	if procs > 1 {
		suffix = "-" + strconv.Itoa(procs)
	}
	var results []result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if res, ok := parseResult(sc.Text(), suffix); ok {
			results = append(results, res)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(results) == 0 {
		return nil, errors.New("no benchmark results in the output")
	}
	return results, nil
}

// parseResult reads "BenchmarkX-2  1000  52.1 ns/op  3.2 p99_ms …".
func parseResult(line, suffix string) (result, bool) {
	fields := strings.Fields(line)
	if len(fields) < 4 || len(fields)%2 != 0 || !strings.HasPrefix(fields[0], "Benchmark") {
		return result{}, false
	}
	n, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		return result{}, false
	}
	res := result{name: strings.TrimSuffix(fields[0], suffix), n: n,
		figures: make(map[string]float64, len(fields)/2-1)}
	for i := 2; i < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return result{}, false
		}
		res.figures[fields[i+1]] = v
	}
	return res, true
}

// medians reduces repeated results (-count) to the median of each figure.
func medians(results []result) figures {
	all := make(map[string]map[string][]float64)
	for _, r := range results {
		if all[r.name] == nil {
			all[r.name] = make(map[string][]float64)
		}
		for unit, v := range r.figures {
			all[r.name][unit] = append(all[r.name][unit], v)
		}
	}
	out := make(figures, len(all))
	for name, units := range all {
		out[name] = make(map[string]float64, len(units))
		for unit, vs := range units {
			out[name][unit] = median(vs)
		}
	}
	return out
}

// median of vs, the mean of the middle two for an even count, zero for
// none; vs is sorted in place.
func median[T ~float64 | ~int64](vs []T) T {
	if len(vs) == 0 {
		var zero T
		return zero
	}
	slices.Sort(vs)
	mid := len(vs) / 2
	if len(vs)%2 == 1 {
		return vs[mid]
	}
	return (vs[mid-1] + vs[mid]) / 2
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// tail returns the last n lines of s, joined by " / ", for errors.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
