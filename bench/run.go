//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// options are the command's flags.
type options struct {
	// only names the suites to run; empty runs them all.
	only []string
	// customers is how many customers the daemon has registered.
	customers int
	// starts is how many times start-up is timed, for its median.
	starts int
	// count is go test's -count for the quick benchmarks.
	count int
	// keep leaves the temporary directory (binaries, logs, databases).
	keep bool
}

func parseFlags(args []string, errOut io.Writer) (options, error) {
	var o options
	var only string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.StringVar(&only, "only", "", "comma-separated suites to run: "+
		strings.Join(suiteNames(), ", ")+" (default all)")
	fs.IntVar(&o.customers, "customers", 10000, "customers registered with the measured daemon")
	fs.IntVar(&o.starts, "starts", 10, "start-ups timed for the median")
	fs.IntVar(&o.count, "count", 3, "go test -count of the quick benchmarks (medians are kept)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory with binaries and logs")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if only != "" {
		o.only = strings.Split(only, ",")
		for _, name := range o.only {
			if !slices.Contains(suiteNames(), name) {
				return options{}, fmt.Errorf("-only: unknown suite %q", name)
			}
		}
	}
	if o.customers < 1 || o.starts < 1 || o.count < 1 {
		return options{}, errors.New("-customers, -starts and -count must be at least 1")
	}
	return o, nil
}

// env is what every suite works with.
type env struct {
	opts   options
	root   string // the module's directory
	tmp    string // binaries, databases and logs of this run
	logger *slog.Logger

	binaries *binaries // built on first use
	runs     int       // go test runs so far, to name their logs
}

// suite is a group of measurements that run together.
type suite struct {
	name string
	run  func(ctx context.Context, e *env) ([]Row, error)
}

// suites lists every suite in the order the table shows them.
func suites() []suite {
	return []suite{
		{"store", storeRows},
		{"deliver", deliverRows},
		{"receiver", receiverRows},
		{"sync", syncRows},
		{"event", redactRows},
		{"diff", diffRows},
		{"daemon", daemonRows},
	}
}

func suiteNames() []string {
	var names []string
	for _, s := range suites() {
		names = append(names, s.name)
	}
	return names
}

func run(ctx context.Context, args []string, out, errOut io.Writer) error {
	opts, err := parseFlags(args, errOut)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(errOut, nil)).With("component", "bench")
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "opencals-sync-bench-")
	if err != nil {
		return fmt.Errorf("creating the work directory: %w", err)
	}
	if opts.keep {
		logger.Info("keeping the work directory", "dir", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	e := &env{opts: opts, root: root, tmp: tmp, logger: logger}
	return e.report(ctx, out)
}

// report runs the selected suites and writes the table; a failed suite
// gets a row saying why, and the run fails after the table.
func (e *env) report(ctx context.Context, out io.Writer) error {
	m, err := describeMachine(ctx, e.root)
	if err != nil {
		return err
	}
	began := time.Now()
	var rows []Row
	var failed []string
	for _, s := range suites() {
		if len(e.opts.only) > 0 && !slices.Contains(e.opts.only, s.name) {
			continue
		}
		e.logger.Info("suite started", "suite", s.name)
		got, err := s.run(ctx, e)
		rows = append(rows, got...)
		if err != nil {
			e.logger.Error("suite failed", "suite", s.name, "err", err)
			rows = append(rows, Row{Measure: s.name + " suite", Err: err})
			failed = append(failed, s.name)
		}
		if ctx.Err() != nil {
			break
		}
	}
	m.took, m.load[1] = time.Since(began), loadAverage()
	if err := writeReport(out, m, rows); err != nil {
		return fmt.Errorf("writing the table: %w", err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(failed) > 0 {
		return fmt.Errorf("suites failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// moduleRoot is the directory of the main module, where go test runs.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("locating the module: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run bench inside the opencals-sync module")
	}
	return filepath.Dir(gomod), nil
}
