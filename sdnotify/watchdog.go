package sdnotify

import (
	"context"
	"time"
)

// WatchdogPeriod is how often RunWatchdog pings; 0 means systemd set no
// watchdog for this process.
func (n *Notifier) WatchdogPeriod() time.Duration {
	if !n.Enabled() {
		return 0
	}
	return n.watchdog
}

// RunWatchdog pings the watchdog at once and then every WatchdogPeriod
// until ctx ends, and returns nil then. Without a watchdog it just waits
// for ctx, so callers can start it unconditionally. A failed ping is logged
// once, and its recovery once, rather than at every tick.
//
// TODO: the ping proves the process still schedules goroutines, not that
// polling progresses; /readyz covers that, and a check hook could gate the
// ping if a stalled poller should get the service restarted.
func (n *Notifier) RunWatchdog(ctx context.Context) error {
	period := n.WatchdogPeriod()
	if period <= 0 {
		<-ctx.Done()
		return nil
	}
	ticker := n.clock.NewTicker(period)
	defer ticker.Stop()
	failing := false
	for {
		failing = n.ping(ctx, failing)
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.Chan():
		}
	}
}

// ping sends WATCHDOG=1 and returns whether it failed, logging changes of
// that state.
func (n *Notifier) ping(ctx context.Context, wasFailing bool) bool {
	err := n.Send(ctx, "WATCHDOG=1")
	switch {
	case err != nil && !wasFailing:
		n.logger.Warn("systemd watchdog ping failed", "err", err)
	case err == nil && wasFailing:
		n.logger.Info("systemd watchdog ping recovered")
	}
	return err != nil
}
