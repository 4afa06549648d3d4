// Package daemon wires the long-running service: config and its reloads,
// the store, one scheduler per Opencals store, the admin listener, and the
// order in which they start and stop.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	gosync "sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/errgroup"

	"github.com/opencals-sync/opencals-sync/admin"
	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/customer"
	"github.com/opencals-sync/opencals-sync/deliver"
	"github.com/opencals-sync/opencals-sync/diff"
	"github.com/opencals-sync/opencals-sync/logging"
	"github.com/opencals-sync/opencals-sync/metrics"
	"github.com/opencals-sync/opencals-sync/opencals"
	"github.com/opencals-sync/opencals-sync/store"
	"github.com/opencals-sync/opencals-sync/sync"
)

// Options configure Run.
type Options struct {
	// ConfigPath is the YAML file; it is watched for edits.
	ConfigPath string
	// Environ overrides config keys (os.Environ() in production).
	Environ []string
	// Logs receives the log; default os.Stderr.
	Logs io.Writer
	// Version names the build in logs and the User-Agent.
	Version string
	// Notify is told about life-cycle changes ("ready", "reloading",
	// "stopping") for systemd; may be nil.
	Notify func(state string)
	// Clock drives scheduling; default the real clock.
	Clock clockwork.Clock
	// Tick and Sweep, if set, override the scheduler's periods (tests).
	Tick, Sweep time.Duration
	// Listening, if set, is told the address of each listener once it is
	// open ("admin", "webhook"), so tests can listen on port 0.
	Listening func(name string, addr net.Addr)
	// ReconcileGrace, if set, overrides how long hybrid mode's
	// reconciliation waits for an event's other side (tests).
	ReconcileGrace time.Duration
}

// Daemon is one running opencals-sync.
type Daemon struct {
	opts    Options
	cfg     atomic.Pointer[config.Config]
	level   slog.LevelVar
	logger  *slog.Logger
	db      *store.DB
	metrics *metrics.Metrics
	deliver *deliver.Dispatcher
	// transport is shared by every HTTP endpoint across reloads, so their
	// connections survive an edit of the config.
	transport http.RoundTripper

	mu       gosync.Mutex // guards the fields below and reloads
	runCtx   context.Context
	runners  map[string]*storeRunner
	limiters map[string]*opencals.Limiter // by API key and limits
	recv     receiver                     // the webhook receiver
}

// Run loads the config, opens the store and runs until ctx ends. A bad
// config or an unusable database is an error before anything starts.
func Run(ctx context.Context, opts Options) error {
	d, err := open(ctx, opts)
	if err != nil {
		return err
	}
	return errors.Join(d.run(ctx), d.db.Close())
}

func open(ctx context.Context, opts Options) (*Daemon, error) {
	if opts.Logs == nil {
		opts.Logs = os.Stderr
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Notify == nil {
		opts.Notify = func(string) {}
	}
	if opts.Listening == nil {
		opts.Listening = func(string, net.Addr) {}
	}
	cfg, err := config.Load(opts.ConfigPath, opts.Environ)
	if err != nil {
		return nil, err
	}
	d := &Daemon{opts: opts, metrics: metrics.New(), transport: deliver.NewTransport(),
		runners: make(map[string]*storeRunner), limiters: make(map[string]*opencals.Limiter)}
	d.level.Set(cfg.Log.SlogLevel())
	if d.logger, err = logging.New(opts.Logs, cfg.Log.Format, &d.level); err != nil {
		return nil, err
	}
	d.cfg.Store(cfg)
	policy := policyOf(cfg)
	d.db, err = store.Open(ctx, cfg.Database, store.Options{Logger: d.logger, Policy: &policy})
	if err != nil {
		return nil, err
	}
	d.metrics.WatchCustomers(d.db)
	d.deliver = deliver.NewDispatcher(deliver.Options{Store: d.db, Clock: opts.Clock,
		Logger: d.logger, Metrics: d.metrics, Concurrency: cfg.Delivery.Concurrency})
	if err := d.updateEndpoints(cfg); err != nil {
		return nil, errors.Join(err, d.db.Close())
	}
	if err := d.initReceiver(); err != nil {
		return nil, errors.Join(err, d.db.Close())
	}
	return d, nil
}

// run starts everything, waits for ctx, and stops in reverse order.
func (d *Daemon) run(ctx context.Context) error {
	cfg := d.cfg.Load()
	d.logger.Info("opencals-sync starting", "version", d.opts.Version, "config", d.opts.ConfigPath,
		"database", cfg.Database, "mode", string(cfg.Mode), "stores", len(cfg.Stores))

	raw, err := os.ReadFile(d.opts.ConfigPath)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	watcher, err := config.NewWatcher(d.opts.ConfigPath, raw,
		func(p string) (*config.Config, error) { return config.Load(p, d.opts.Environ) },
		d.apply, d.logger)
	if err != nil {
		return err
	}

	var adminSrv *boundServer
	if cfg.Admin.Listen != "" {
		if adminSrv, err = d.adminServer(cfg.Admin.Listen); err != nil {
			return errors.Join(err, watcher.Close())
		}
	}
	if err := d.startReceiver(cfg); err != nil {
		return errors.Join(err, watcher.Close(), adminSrv.closeUnserved())
	}

	g, gctx := errgroup.WithContext(ctx)
	// The dispatcher outlives the schedulers at shutdown, so events they
	// record last are still attempted: it stops when stopDelivery is called.
	deliverCtx, stopDelivery := context.WithCancel(context.WithoutCancel(gctx))
	defer stopDelivery()
	deliverDone := make(chan error, 1)
	go func() { deliverDone <- d.deliver.Run(deliverCtx) }()
	g.Go(func() error { return watcher.Run(gctx) })
	g.Go(func() error { return d.reloadOnHangup(gctx, watcher) })
	if adminSrv != nil {
		g.Go(func() error { return serve(gctx, adminSrv, d.logger) })
	}
	d.mu.Lock()
	d.runCtx = gctx
	d.startRunners(gctx, cfg)
	d.mu.Unlock()

	d.opts.Notify("ready")
	d.logger.Info("opencals-sync ready")
	<-gctx.Done()
	d.opts.Notify("stopping")
	d.logger.Info("opencals-sync stopping")
	d.mu.Lock()
	d.stopReceiver()
	d.stopRunners()
	d.mu.Unlock()
	stopDelivery()
	err = errors.Join(g.Wait(), <-deliverDone)
	d.logger.Info("opencals-sync stopped")
	return err
}

// updateEndpoints builds the configured endpoints and hands them to the
// dispatcher; on error the dispatcher keeps the endpoints it has.
func (d *Daemon) updateEndpoints(cfg *config.Config) error {
	eps, err := deliver.EndpointsFromConfig(cfg.Endpoints, deliver.BuildOptions{
		UserAgent: "opencals-sync/" + d.opts.Version, Clock: d.opts.Clock, Logger: d.logger,
		Transport: d.transport})
	if err != nil {
		return err
	}
	d.deliver.Update(eps)
	return nil
}

// reloadOnHangup turns SIGHUP into a forced reload.
func (d *Daemon) reloadOnHangup(ctx context.Context, w *config.Watcher) error {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			d.logger.Info("SIGHUP: reloading config")
			w.Reload()
		}
	}
}

// apply puts a new, valid config in force. What can change live does; the
// rest is logged as needing a restart. In-flight work is never cancelled
// except for a store whose connection settings changed.
func (d *Daemon) apply(cfg *config.Config) {
	d.opts.Notify("reloading")
	defer d.opts.Notify("ready")
	old := d.cfg.Swap(cfg)
	d.level.Set(cfg.Log.SlogLevel())
	d.db.SetPolicy(policyOf(cfg))
	for _, key := range restartOnly(old, cfg) {
		d.logger.Warn("config change takes effect after a restart", "key", key)
	}
	if err := d.updateEndpoints(cfg); err != nil {
		d.logger.Error("endpoints not updated; keeping the running ones", "err", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reconcileRunners(cfg)
	d.applyReceiver(cfg)
}

// restartOnly lists the changed keys that cannot apply while running.
func restartOnly(old, cfg *config.Config) []string {
	var keys []string
	if old.Database != cfg.Database {
		keys = append(keys, "database")
	}
	if old.Admin.Listen != cfg.Admin.Listen {
		keys = append(keys, "admin.listen")
	}
	if old.Log.Format != cfg.Log.Format {
		keys = append(keys, "log.format")
	}
	if old.Delivery.Concurrency != cfg.Delivery.Concurrency {
		keys = append(keys, "delivery.concurrency")
	}
	return keys
}

// policyOf is the store's part of the config. A completion waits for its
// verifying look at most max_age past the end.
func policyOf(cfg *config.Config) store.Policy {
	p := store.Policy{Baseline: diff.Baseline(cfg.Sync.Baseline), CatchUp: cfg.Sync.Completion.CatchUp}
	if cfg.Sync.Completion.Verify && cfg.Mode != config.ModeWebhook {
		p.VerifyLead, p.VerifyGrace = cfg.Sync.Completion.Lead, cfg.Sync.MaxAge
	}
	return p
}

// settingsOf is the scheduler's part of the config.
func settingsOf(cfg *config.Config) sync.Settings {
	tiers := make([]sync.Tier, len(cfg.Sync.Tiers))
	for i, t := range cfg.Sync.Tiers {
		tiers[i] = sync.Tier{Name: t.Name, BoundaryWithin: t.BoundaryWithin,
			ChangedWithin: t.ChangedWithin, Interval: t.Interval}
	}
	return sync.Settings{
		Plan: sync.Plan{Interval: cfg.Sync.Interval, MaxAge: cfg.Sync.MaxAge, Tiers: tiers,
			Verify: cfg.Sync.Completion.Verify, Lead: cfg.Sync.Completion.Lead},
		Concurrency: cfg.Sync.Concurrency,
		Polling:     cfg.Mode != config.ModeWebhook,
		FullEvery:   cfg.Sync.MaxAge,
	}
}

// adminServer builds the admin listener's server, listening already so
// that a taken port fails start-up.
func (d *Daemon) adminServer(addr string) (*boundServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin listener: %w", err)
	}
	s := &admin.Server{
		Checks:   d.readinessChecks(),
		Metrics:  promhttp.HandlerFor(d.metrics.Registry, promhttp.HandlerOpts{}),
		Register: d.register,
		Token:    func() string { return d.cfg.Load().Admin.Token.Value() },
		Logger:   d.logger.With("component", "admin"),
	}
	d.logger.Info("admin listener started", "addr", ln.Addr().String())
	d.opts.Listening("admin", ln.Addr())
	return &boundServer{ln: ln, srv: &http.Server{Handler: s.Handler(),
		ReadHeaderTimeout: 10 * time.Second}}, nil
}

// register is POST /v1/customers: it signs the customer in through the
// store's client and stores it.
func (d *Daemon) register(ctx context.Context, name string, r customer.Registration) (string, error) {
	d.mu.Lock()
	var run *storeRunner
	if name == "" && len(d.runners) == 1 {
		for _, only := range d.runners {
			run = only
		}
	} else {
		run = d.runners[name]
	}
	d.mu.Unlock()
	if run == nil {
		return "", fmt.Errorf("store %q: %w", name, admin.ErrUnknownStore)
	}
	storeID, err := run.resolvedID(ctx)
	if err != nil {
		return "", err
	}
	return customer.Register(ctx, run.client, d.db, storeID, r)
}

// readinessChecks: the database takes writes, every store polled
// recently enough, and the webhook receiver listens when the mode wants it.
func (d *Daemon) readinessChecks() map[string]admin.Check {
	return map[string]admin.Check{
		"database": d.db.CheckWritable,
		"polling":  d.checkPolling,
		"webhook":  d.checkReceiver,
	}
}

// checkPolling fails when any store's polling has stalled.
func (d *Daemon) checkPolling(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for name, r := range d.runners {
		if err := r.healthy(ctx, d.db, d.opts.Clock.Now()); err != nil {
			return fmt.Errorf("store %s: %w", name, err)
		}
	}
	return nil
}

// boundServer is an http.Server with its listener already open.
type boundServer struct {
	ln  net.Listener
	srv *http.Server
}

// serve runs srv until ctx ends, then shuts it down gracefully.
func serve(ctx context.Context, b *boundServer, logger *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- b.srv.Serve(b.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("admin listener: %w", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := b.srv.Shutdown(shutdown); err != nil {
		logger.Warn("admin listener shutdown", "err", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
