package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencals-sync/opencals-sync/config"

	"github.com/opencals-sync/opencals-sync/sync"
)

// ErrPassFailed means a single pass finished but some looks failed.
var ErrPassFailed = errors.New("some customers could not be synced")

// Once runs one full pass over every customer of every store, sweeps
// completions, makes the first delivery attempt of every new event, and
// returns. It returns an error wrapping ErrPassFailed when
// any look failed, so cron can alert.
func Once(ctx context.Context, opts Options) error {
	d, err := open(ctx, opts)
	if err != nil {
		return err
	}
	return errors.Join(d.once(ctx), d.db.Close())
}

func (d *Daemon) once(ctx context.Context) error {
	cfg := d.cfg.Load()
	// Endpoints first: one seen for the first time starts at the newest
	// event, and this pass's events must be queued for it.
	if err := d.deliver.Register(ctx); err != nil {
		return err
	}
	failed := 0
	for _, sc := range cfg.Stores {
		d.mu.Lock()
		r, err := d.newRunner(sc)
		d.mu.Unlock()
		if err != nil {
			return err
		}
		id, err := r.resolveID(ctx)
		if err != nil {
			return err
		}
		sch := sync.New(sync.Options{StoreID: id, API: r.client, Store: d.db,
			Budget: r.client.Limiter(), Clock: d.opts.Clock, Logger: r.logger,
			Metrics: d.metrics}, settingsOf(cfg))
		res, err := sch.Once(ctx)
		if err != nil {
			return fmt.Errorf("store %s: %w", sc.Name, err)
		}
		failed += res.Failed
	}
	if err := d.deliverDue(ctx, cfg); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d looks failed: %w", failed, ErrPassFailed)
	}
	return nil
}

// onceDeliveryBound caps how long `once` waits for first attempts.
const onceDeliveryBound = 5 * time.Minute

// deliverDue runs the dispatcher until every event recorded so far was
// queued for its endpoints and nothing is due any more: each new delivery
// got its attempt, and retries wait, durably, for the next run.
func (d *Daemon) deliverDue(ctx context.Context, cfg *config.Config) error {
	if len(cfg.Endpoints) == 0 {
		return nil
	}
	names := make([]string, len(cfg.Endpoints))
	for i, ep := range cfg.Endpoints {
		names[i] = ep.Name
	}
	dctx, cancel := context.WithTimeout(ctx, onceDeliveryBound)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.deliver.Run(dctx) }()
	d.deliver.Notify()

	ticker := d.opts.Clock.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		settled, err := d.deliveriesSettled(dctx, names)
		if err != nil || settled || dctx.Err() != nil {
			cancel()
			return errors.Join(err, <-done)
		}
		select {
		case <-ticker.Chan():
		case err := <-done:
			return err
		}
	}
}

// deliveriesSettled reports whether every configured endpoint's cursor has
// reached the newest event and no delivery is due now.
func (d *Daemon) deliveriesSettled(ctx context.Context, names []string) (bool, error) {
	maxSeq, err := d.db.MaxEventSeq(ctx)
	if err != nil {
		return false, err
	}
	states, err := d.db.EndpointStates(ctx)
	if err != nil {
		return false, err
	}
	cursor := make(map[string]int64, len(states))
	for _, s := range states {
		cursor[s.Name] = s.LastSeq
	}
	for _, name := range names {
		if cursor[name] < maxSeq {
			return false, nil
		}
	}
	next, err := d.db.NextDeliveryDue(ctx, names, time.Time{})
	if err != nil {
		return false, err
	}
	return next.IsZero() || next.After(d.opts.Clock.Now()), nil
}
