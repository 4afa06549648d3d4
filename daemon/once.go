package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencals-sync/opencals-sync/sync"
)

// ErrPassFailed means a single pass finished but some looks failed.
var ErrPassFailed = errors.New("some customers could not be synced")

// Once runs one full pass over every customer of every store, sweeps
// completions and returns. It returns an error wrapping ErrPassFailed when
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
	if failed > 0 {
		return fmt.Errorf("%d looks failed: %w", failed, ErrPassFailed)
	}
	return nil
}
