package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/opencals"
	"github.com/opencals-sync/opencals-sync/store"
	"github.com/opencals-sync/opencals-sync/sync"
)

// storeRunner runs the scheduler of one configured store. Its connection
// settings (base URL, key, limits) are fixed for its life: changing them
// replaces the runner.
type storeRunner struct {
	cfg       config.Store
	client    *opencals.Client
	scheduler atomic.Pointer[sync.Scheduler] // nil until the store id is known
	logger    *slog.Logger
	clock     clockwork.Clock
	started   time.Time
	maxAge    func() time.Duration

	idReady chan struct{} // closed once storeID is known
	storeID string
	cancel  context.CancelFunc
	done    chan struct{}
}

// startRunners starts one runner per configured store. d.mu is held.
func (d *Daemon) startRunners(ctx context.Context, cfg *config.Config) {
	for _, sc := range cfg.Stores {
		d.startRunner(ctx, sc)
	}
}

// startRunner builds and starts the runner of one store. d.mu is held.
func (d *Daemon) startRunner(ctx context.Context, sc config.Store) {
	rctx, cancel := context.WithCancel(ctx)
	r, err := d.newRunner(sc)
	if err != nil {
		cancel()
		d.logger.Error("store not started", "store", sc.Name, "err", err)
		return
	}
	r.cancel = cancel
	d.runners[sc.Name] = r
	go func() {
		defer close(r.done)
		if err := r.run(rctx, d); err != nil && rctx.Err() == nil {
			r.logger.Error("store stopped", "err", err)
		}
	}()
}

// newRunner builds a store's client and runner without starting it. d.mu is
// held.
func (d *Daemon) newRunner(sc config.Store) (*storeRunner, error) {
	logger := d.logger.With("store", sc.Name)
	client, err := opencals.New(opencals.Config{
		BaseURL:    sc.BaseURL,
		APIKey:     sc.APIKey.Value(),
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: d.metrics.Transport(nil)},
		Limiter:    d.limiter(sc),
		Clock:      d.opts.Clock,
		Logger:     logger,
		UserAgent:  "opencals-sync/" + d.opts.Version,
	})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", sc.Name, err)
	}
	return &storeRunner{cfg: sc, client: client, logger: logger, clock: d.opts.Clock,
		started: d.opts.Clock.Now(), idReady: make(chan struct{}), cancel: func() {},
		done:   make(chan struct{}),
		maxAge: func() time.Duration { return d.cfg.Load().Sync.MaxAge }}, nil
}

// limiter returns the key's limiter, shared by every client of the key and
// kept across reloads while the key and its limits stay the same.
func (d *Daemon) limiter(sc config.Store) *opencals.Limiter {
	limits := opencals.Limits{
		Requests: sc.RateLimit.Requests, Per: sc.RateLimit.Per,
		AuthRequests: sc.RateLimit.AuthRequests, AuthPer: sc.RateLimit.AuthPer,
		Headroom: sc.RateLimit.Headroom,
	}
	key := fmt.Sprintf("%s|%+v", sc.APIKey.Value(), limits)
	if l, ok := d.limiters[key]; ok {
		return l
	}
	l := opencals.NewLimiter(limits, d.opts.Clock)
	d.limiters[key] = l
	return l
}

// run learns the store id, then schedules until ctx ends.
func (r *storeRunner) run(ctx context.Context, d *Daemon) error {
	id, err := r.resolveID(ctx)
	if err != nil {
		return err
	}
	r.storeID = id
	sch := sync.New(sync.Options{
		StoreID: id, API: r.client, Store: d.db, Budget: r.client.Limiter(),
		Clock: d.opts.Clock, Logger: d.logger.With("store", r.cfg.Name),
		Metrics: d.metrics, Tick: d.opts.Tick, Sweep: d.opts.Sweep, Notify: d.deliver.Notify,
	}, settingsOf(d.cfg.Load()))
	r.scheduler.Store(sch)
	d.metrics.WatchBudget(id, r.client.Limiter())
	// A reload between reading the settings and publishing the scheduler
	// would otherwise be missed.
	sch.Update(settingsOf(d.cfg.Load()))
	close(r.idReady)
	return sch.Run(ctx)
}

// resolveID returns the configured store id, or asks the API, retrying
// with backoff while the API is unreachable.
func (r *storeRunner) resolveID(ctx context.Context) (string, error) {
	if r.cfg.ID != "" {
		return r.cfg.ID, nil
	}
	wait := time.Second
	for {
		id, err := r.client.StoreID(ctx)
		if err == nil {
			r.logger.Info("store id read from the API", "store_id", id)
			return id, nil
		}
		if errors.Is(err, opencals.ErrInvalidAPIKey) || errors.Is(err, opencals.ErrStoreUnknown) {
			return "", fmt.Errorf("store %s: %w (set stores[].id or fix the key)", r.cfg.Name, err)
		}
		r.logger.Warn("could not read the store id; retrying", "err", err, "in", wait.String())
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-r.clock.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

// resolvedID waits until the runner knows its store id.
func (r *storeRunner) resolvedID(ctx context.Context) (string, error) {
	select {
	case <-r.idReady:
		return r.storeID, nil
	case <-r.done:
		return "", fmt.Errorf("store %s is not running", r.cfg.Name)
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// healthy gathers what tells whether the store's polling works and judges
// it with healthFacts.check.
func (r *storeRunner) healthy(ctx context.Context, db *store.DB, now time.Time) error {
	select {
	case <-r.done:
		return errors.New("not running")
	default:
	}
	f := healthFacts{now: now, started: r.started}
	sch := r.scheduler.Load()
	if sch == nil {
		return f.check()
	}
	f.resolved, f.polling = true, sch.Polling()
	f.lastTick, f.lastSuccess = sch.LastTick(), sch.LastSuccess()
	f.limit = 2 * time.Duration(float64(r.maxAge())*sch.Stretch())
	due, err := db.DueCustomers(ctx, r.storeID, now, 1)
	if err != nil {
		return err
	}
	if len(due) > 0 {
		f.oldestDue = due[0].NextPollAt
	}
	counts, err := db.CountCustomers(ctx)
	if err != nil {
		return err
	}
	for _, c := range counts {
		f.active = f.active || (c.StoreID == r.storeID && c.State == store.CustomerActive && c.Count > 0)
	}
	return f.check()
}

// healthFacts is what readiness knows about one store's polling.
type healthFacts struct {
	now, started      time.Time
	resolved, polling bool // the store id is known; the mode polls
	lastTick          time.Time
	lastSuccess       time.Time // zero if no look succeeded since start
	oldestDue         time.Time // the most overdue customer's due time; zero if none
	active            bool      // the store has active customers
	limit             time.Duration
}

// check fails when the scheduler stopped, when a customer waits longer than
// the limit (twice the effective maximum age), or when no look succeeded for
// that long although there are customers: polling has stalled (API down,
// budget exhausted, every token refused…).
func (f healthFacts) check() error {
	switch {
	case !f.resolved:
		if f.now.Sub(f.started) > time.Minute {
			return errors.New("store id still unknown")
		}
		return nil
	case f.now.Sub(f.lastTick) > time.Minute:
		return errors.New("scheduler not ticking")
	case !f.polling:
		return nil
	case !f.oldestDue.IsZero() && f.now.Sub(f.oldestDue) > f.limit:
		return fmt.Errorf("polling stalled: a customer is overdue by %s",
			f.now.Sub(f.oldestDue).Round(time.Second))
	}
	since := f.lastSuccess
	if since.IsZero() {
		since = f.started
	}
	if f.active && f.now.Sub(since) > f.limit {
		return fmt.Errorf("polling stalled: no successful look for %s", f.now.Sub(since).Round(time.Second))
	}
	return nil
}

// reconcileRunners brings the runners in line with a new config: settings
// update live; stores added, removed or reconnected start or stop. d.mu is
// held.
func (d *Daemon) reconcileRunners(cfg *config.Config) {
	want := make(map[string]config.Store, len(cfg.Stores))
	for _, sc := range cfg.Stores {
		want[sc.Name] = sc
	}
	for name, r := range d.runners {
		sc, ok := want[name]
		if !ok || !sameConnection(r.cfg, sc) {
			d.logger.Info("stopping store for a config change", "store", name)
			r.stop()
			d.metrics.WatchBudget(r.storeID, nil)
			delete(d.runners, name)
		}
	}
	set := settingsOf(cfg)
	for _, sc := range cfg.Stores {
		if r, ok := d.runners[sc.Name]; ok {
			if sch := r.scheduler.Load(); sch != nil {
				sch.Update(set)
			}
			continue
		}
		d.startRunner(d.runCtx, sc)
	}
}

func sameConnection(a, b config.Store) bool {
	return a.ID == b.ID && a.BaseURL == b.BaseURL && a.APIKey == b.APIKey && a.RateLimit == b.RateLimit
}

// stop cancels the runner and waits for its looks to finish.
func (r *storeRunner) stop() {
	r.cancel()
	<-r.done
}

// stopRunners stops every runner. d.mu is held.
func (d *Daemon) stopRunners() {
	for name, r := range d.runners {
		r.stop()
		delete(d.runners, name)
	}
}
