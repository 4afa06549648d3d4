package sync

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/opencals-sync/opencals-sync/store"
)

// OnceResult is what a single pass did.
type OnceResult struct {
	Customers int
	Failed    int
	Events    int
}

// Once looks at every active customer of the store once, full looks within
// the budget and the configured concurrency, then sweeps completions: the
// `once` command, for cron users. Failures are counted, not returned; the
// error is for a pass that could not run at all.
func (s *Scheduler) Once(ctx context.Context) (OnceResult, error) {
	customers, err := s.opts.Store.ListCustomers(ctx, s.opts.StoreID)
	if err != nil {
		return OnceResult{}, fmt.Errorf("listing customers: %w", err)
	}
	set := s.settings.Load()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(set.Concurrency)
	for _, c := range customers {
		if c.State != store.CustomerActive {
			continue
		}
		g.Go(func() error {
			s.lookAt(gctx, c, lookFull, set)
			return nil
		})
	}
	_ = g.Wait() // lookAt records its own failures
	s.sweep(ctx)
	counts := s.cycle.take()
	s.opts.Logger.Info("single pass done", "looks", counts.looks, "failures", counts.failures,
		"requests", counts.requests)
	events := 0
	for _, n := range counts.events {
		events += n
	}
	return OnceResult{Customers: counts.looks, Failed: counts.failures, Events: events}, nil
}
