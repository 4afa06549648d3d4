//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// How the daemon is measured.
const (
	// syncConcurrency is sync.concurrency while the daemon syncs: the most
	// the config allows, so that memory is measured at its worst.
	syncConcurrency = 64
	// syncWindow is how long the first pass of `run` is watched.
	syncWindow = 30 * time.Second
	// settle is the wait after readiness before idle memory is sampled.
	settle      = 5 * time.Second
	sampleFor   = 5 * time.Second
	sampleEvery = 250 * time.Millisecond
	readyLimit  = time.Minute
	stopGrace   = 30 * time.Second
	passLimit   = 10 * time.Minute
)

// Goals of the daemon's rows, proposed with the table. The budgets fit a
// 256 MiB container (a small VPS or a Kubernetes pod with a tight limit)
// with room for SQLite's page cache in the kernel.
const (
	idleBudgetMiB  = 128
	syncBudgetMiB  = 256
	binaryGoalMiB  = 32
	startupGoalSec = 1
)

// daemonRows measures the shipped binary: its size, its start-up, and its
// memory with the customers registered, idle and while it syncs them.
func daemonRows(ctx context.Context, e *env) ([]Row, error) {
	bins, err := e.build(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := sizeRows(bins)
	if err != nil {
		return nil, err
	}
	sb, info, err := e.startSandbox(ctx, bins.daemon, e.opts.customers)
	if err != nil {
		return rows, err
	}
	r := &rig{e: e, bins: bins, sb: info}
	more, err := r.measure(ctx)
	if _, stopErr := sb.stop(stopGrace); stopErr != nil {
		e.logger.Warn("sandbox stop", "err", stopErr)
	}
	return append(rows, more...), err
}

func sizeRows(bins *binaries) ([]Row, error) {
	size, err := fileMiB(bins.daemon)
	if err != nil {
		return nil, fmt.Errorf("binary size: %w", err)
	}
	base, err := fileMiB(bins.minimal)
	if err != nil {
		return nil, fmt.Errorf("binary size: %w", err)
	}
	return []Row{{
		Measure: "Binary size", Size: "linux static, -trimpath -s -w (scripts/build)",
		Figure: Quantity{size, "MiB"}, Baseline: Quantity{base, "MiB"},
		BaselineName: "net/http answering /readyz, same flags",
		Goal:         atMostFigure(binaryGoalMiB).proposed(),
	}}, nil
}

// rig runs the daemon binary against one sandbox; each instance has its
// own directory, database, config and admin address.
type rig struct {
	e    *env
	bins *binaries
	sb   sandboxInfo
}

// instance is a prepared daemon.
type instance struct {
	name, dir, config, admin string
}

func (in instance) database() string       { return filepath.Join(in.dir, "state.db") }
func (in instance) url(path string) string { return "http://" + in.admin + path }

// prepare writes the config of an instance called name.
func (r *rig) prepare(name string) (instance, error) {
	in := instance{name: name, dir: filepath.Join(r.e.tmp, name)}
	var err error
	if in.admin, err = freeAddr(); err != nil {
		return instance{}, err
	}
	if err := os.MkdirAll(in.dir, 0o700); err != nil {
		return instance{}, fmt.Errorf("preparing %s: %w", name, err)
	}
	in.config = filepath.Join(in.dir, "config.yaml")
	if err := os.WriteFile(in.config, []byte(daemonConfig(in, r.sb)), 0o600); err != nil {
		return instance{}, fmt.Errorf("preparing %s: %w", name, err)
	}
	return in, nil
}

// daemonConfig points the daemon at the sandbox with a budget it never
// meets, logging warnings only.
func daemonConfig(in instance, sb sandboxInfo) string {
	return fmt.Sprintf(`# Written by go run ./bench.
database: %q
log: {level: warn, format: json}
admin: {listen: %q}
stores:
  - name: sandbox
    id: %q
    base_url: %q
    api_key: %q
    rate_limit: {requests: %d, per: %s, auth_requests: %d, auth_per: %s, headroom: 1}
sync:
  concurrency: %d
`, in.database(), in.admin, sb.storeID, sb.url, sb.apiKey, unlimited.Requests, unlimited.Per,
		unlimited.AuthRequests, unlimited.AuthPer, syncConcurrency)
}

// measure produces the memory and start-up rows.
func (r *rig) measure(ctx context.Context) ([]Row, error) {
	n := len(r.sb.customers)
	empty, err := r.prepare("empty")
	if err != nil {
		return nil, err
	}
	base, err := r.idle(ctx, empty)
	if err != nil {
		return nil, fmt.Errorf("idle with 0 customers: %w", err)
	}
	full, err := r.prepare("customers")
	if err != nil {
		return nil, err
	}
	began := time.Now()
	if err := registerCustomers(ctx, full.database(), r.sb); err != nil {
		return nil, fmt.Errorf("registering %d customers: %w", n, err)
	}
	r.e.logger.Info("customers registered", "customers", n,
		"took", time.Since(began).Round(time.Second))
	rows, err := r.memoryRows(ctx, full, base)
	if err != nil {
		return rows, err
	}
	start, err := r.startupRow(ctx, full)
	return append(rows, start...), err
}

// memoryRows watches the first pass of `run`, then a full pass of `once`,
// then `run` idle once every customer is synced.
func (r *rig) memoryRows(ctx context.Context, full instance, base idling) ([]Row, error) {
	n := formatNumber(float64(len(r.sb.customers)))
	baseQ := Quantity{mib(base.rss), "MiB"}
	const baseName = "same binary, idle, 0 customers"
	window, err := r.syncing(ctx, full)
	if err != nil {
		return nil, fmt.Errorf("during a sync: %w", err)
	}
	rows := []Row{{
		Measure: "Daemon RSS during a sync (`run`)",
		Size: fmt.Sprintf("%s customers, first pass, sync.concurrency %d, no API limit; "+
			"VmHWM after %s (%s looks)", n, syncConcurrency, syncWindow, formatNumber(window.looks)),
		Figure: Quantity{mib(window.peak), "MiB"}, Baseline: baseQ, BaselineName: baseName,
		Goal: atMostFigure(syncBudgetMiB).proposed(),
	}}
	peak, took, err := r.fullPass(ctx, full)
	if err != nil {
		return rows, fmt.Errorf("full pass: %w", err)
	}
	rows = append(rows, Row{
		Measure: "Peak RSS of a full pass (`once`)",
		Size: fmt.Sprintf("%s customers, concurrency %d, took %s", n, syncConcurrency,
			took.Round(time.Second)),
		Figure: Quantity{mib(peak), "MiB"}, Baseline: baseQ, BaselineName: baseName,
		Goal: atMostFigure(syncBudgetMiB).proposed(),
	})
	idle, err := r.idle(ctx, full)
	if err != nil {
		return rows, fmt.Errorf("idle: %w", err)
	}
	return append(rows, Row{
		Measure: "Daemon RSS, idle (`run`)",
		Size: fmt.Sprintf("%s customers registered and synced; median VmRSS over %s, %s "+
			"after ready (%s looks since start)", n, sampleFor, settle, formatNumber(idle.looks)),
		Figure: Quantity{mib(idle.rss), "MiB"}, Baseline: baseQ, BaselineName: baseName,
		Goal: atMostFigure(idleBudgetMiB).proposed(),
	}), nil
}

// run starts `opencals-sync run` on the instance and waits until ready.
func (r *rig) run(ctx context.Context, in instance, label string) (*child, error) {
	c, err := r.e.spawn(in.name+"-"+label, r.bins.daemon, "--config", in.config, "run")
	if err != nil {
		return nil, err
	}
	if _, err := waitReady(ctx, c, in.url("/readyz"), readyLimit); err != nil {
		_, stopErr := c.stop(stopGrace)
		return nil, errors.Join(err, stopErr)
	}
	return c, nil
}

// idling is what the daemon showed once ready and settled.
type idling struct {
	rss   int64   // median VmRSS
	looks float64 // looks done since start: few, or the daemon was not idle
}

// idle measures the daemon's memory once it is ready and settled.
func (r *rig) idle(ctx context.Context, in instance) (idling, error) {
	c, err := r.run(ctx, in, "idle")
	if err != nil {
		return idling{}, err
	}
	samples, _, err := sampleRSS(ctx, c, settle, sampleFor)
	var looks float64
	if err == nil {
		looks, err = scrapeCounter(ctx, in.url("/metrics"), "opencals_sync_polls_total")
	}
	_, stopErr := c.stop(stopGrace)
	if err = errors.Join(err, stopErr); err != nil {
		return idling{}, err
	}
	return idling{rss: median(samples), looks: looks}, nil
}

// syncing is what a window of the daemon's first pass showed.
type syncing struct {
	peak  int64   // VmHWM at the end of the window
	looks float64 // looks done in the window
}

// syncing watches `run` for syncWindow from readiness, with every
// customer due.
func (r *rig) syncing(ctx context.Context, in instance) (syncing, error) {
	c, err := r.run(ctx, in, "sync")
	if err != nil {
		return syncing{}, err
	}
	_, last, err := sampleRSS(ctx, c, 0, syncWindow)
	var looks float64
	if err == nil {
		looks, err = scrapeCounter(ctx, in.url("/metrics"), "opencals_sync_polls_total")
	}
	_, stopErr := c.stop(stopGrace)
	if err = errors.Join(err, stopErr); err != nil {
		return syncing{}, err
	}
	if looks == 0 {
		return syncing{}, errors.New("no look happened: nothing was syncing")
	}
	return syncing{peak: last.hwm, looks: looks}, nil
}

// fullPass runs `opencals-sync once` and returns its peak RSS and time.
func (r *rig) fullPass(ctx context.Context, in instance) (int64, time.Duration, error) {
	began := time.Now()
	c, err := r.e.spawn(in.name+"-once", r.bins.daemon, "--config", in.config, "once")
	if err != nil {
		return 0, 0, err
	}
	ps, err := c.wait(ctx, passLimit)
	if err != nil {
		_, stopErr := c.stop(stopGrace)
		return 0, 0, errors.Join(err, stopErr)
	}
	return maxRSS(ps), time.Since(began), nil
}

// sampleRSS waits delay, then reads the child's memory every sampleEvery
// for d. It returns the VmRSS samples and the last reading.
func sampleRSS(ctx context.Context, c *child, delay, d time.Duration) ([]int64, memory, error) {
	if err := sleep(ctx, c, delay); err != nil {
		return nil, memory{}, err
	}
	ticker := time.NewTicker(sampleEvery)
	defer ticker.Stop()
	end := time.NewTimer(d)
	defer end.Stop()
	var samples []int64
	var last memory
	for {
		m, err := readMemory(c.pid())
		if err != nil {
			return nil, memory{}, exitedOr(c, err)
		}
		samples, last = append(samples, m.rss), m
		select {
		case <-ticker.C:
		case <-end.C:
			return samples, last, nil
		case <-c.exited:
			return nil, memory{}, fmt.Errorf("%s: %w: %v", c.name, errExited, c.err)
		case <-ctx.Done():
			return nil, memory{}, ctx.Err()
		}
	}
}

// exitedOr explains a failed read of the child's memory: errExited when
// the child ended (its /proc entry goes once it is reaped), else err.
func exitedOr(c *child, err error) error {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case <-c.exited:
		return fmt.Errorf("%s: %w: %v", c.name, errExited, c.err)
	case <-t.C:
		return err
	}
}

// sleep waits d unless the child exits or ctx ends first.
func sleep(ctx context.Context, c *child, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-c.exited:
		return fmt.Errorf("%s: %w: %v", c.name, errExited, c.err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// scrapeCounter sums every series of a counter on a Prometheus page.
func scrapeCounter(ctx context.Context, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("scraping %s: status %d", url, resp.StatusCode)
	}
	return sumCounter(resp.Body, name)
}

// sumCounter reads Prometheus text: the sum of name's samples.
func sumCounter(r io.Reader, name string) (float64, error) {
	var sum float64
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("reading %s: %q", name, line)
		}
		sum += v
	}
	return sum, sc.Err()
}

// startupRow times starts of the daemon (on the instance's database) and
// of the baseline, exec to the first 200 on /readyz, and keeps medians.
func (r *rig) startupRow(ctx context.Context, full instance) ([]Row, error) {
	daemon, err := r.startups(ctx, full.url("/readyz"), func() (*child, error) {
		return r.e.spawn(full.name+"-start", r.bins.daemon, "--config", full.config, "run")
	})
	if err != nil {
		return nil, fmt.Errorf("daemon start-up: %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	base, err := r.startups(ctx, "http://"+addr+"/readyz", func() (*child, error) {
		return r.e.spawn("minimal-start", r.bins.minimal, addr)
	})
	if err != nil {
		return nil, fmt.Errorf("baseline start-up: %w", err)
	}
	return []Row{{
		Measure: "Start-up: exec → /readyz 200",
		Size: fmt.Sprintf("median of %d starts, %s customers registered", r.e.opts.starts,
			formatNumber(float64(len(r.sb.customers)))),
		Figure: Quantity{daemon.Seconds() * 1000, "ms"}, Baseline: Quantity{base.Seconds() * 1000, "ms"},
		BaselineName: "net/http answering /readyz",
		Goal:         atMostFigure(startupGoalSec * 1000).proposed(),
	}}, nil
}

// startups launches a program opts.starts times and returns the median
// time from exec to a 200 on url.
func (r *rig) startups(ctx context.Context, url string, launch func() (*child, error)) (
	time.Duration, error,
) {
	var took []time.Duration
	for range r.e.opts.starts {
		began := time.Now()
		c, err := launch()
		if err != nil {
			return 0, err
		}
		ready, err := waitReady(ctx, c, url, readyLimit)
		_, stopErr := c.stop(stopGrace)
		if err != nil {
			return 0, errors.Join(err, stopErr)
		}
		took = append(took, ready.Sub(began))
	}
	return median(took), nil
}
