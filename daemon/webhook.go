package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/metrics"
	"github.com/opencals-sync/opencals-sync/store"
	"github.com/opencals-sync/opencals-sync/webhook"
)

// Timeouts of the receiver's listener. A delivery is small and its answer
// comes after one insert, so a request still reading after receiverReadTimeout
// is a stuck or hostile client.
const (
	receiverReadTimeout = 30 * time.Second
	receiverIdleTimeout = 2 * time.Minute
	// receiverShutdown bounds how long requests in flight may finish when
	// the listener closes; their inserts commit before their answers.
	receiverShutdown = 5 * time.Second
)

// receiver is the webhook receiver as the daemon runs it. The handler lives
// as long as the daemon, so a reload or a mode switch only swaps its
// settings; the listener is open in webhook and hybrid modes only. Guarded
// by Daemon.mu.
type receiver struct {
	metrics *metrics.Webhook
	handler *webhook.Receiver // nil until a mode first needs it
	addr    string            // the configured address of the open listener
	srv     *boundServer      // nil while closed
	served  chan struct{}     // closed when srv's Serve returns
	stopped bool              // the daemon is stopping: nothing opens again
}

// initReceiver registers the receiver's metrics and the reconciliation
// counts, which exist in every mode.
func (d *Daemon) initReceiver() error {
	d.recv.metrics = metrics.NewWebhook(d.reconcileCounts)
	if err := d.recv.metrics.Register(d.metrics.Registry); err != nil {
		return fmt.Errorf("registering webhook metrics: %w", err)
	}
	return nil
}

// startReceiver opens the receiver when the mode calls for it, so that a
// taken port fails start-up.
func (d *Daemon) startReceiver(cfg *config.Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reconcileReceiver(cfg)
}

// applyReceiver puts a reloaded config in force; on error the receiver
// keeps what it had. d.mu is held.
func (d *Daemon) applyReceiver(cfg *config.Config) {
	if err := d.reconcileReceiver(cfg); err != nil {
		d.logger.Error("webhook receiver not updated", "err", err)
	}
}

// reconcileReceiver opens, moves, updates or closes the listener to match
// cfg. Closing lets requests in flight finish, so a delivery that got in
// is recorded; one refused meanwhile is retried by Opencals or found by
// polling, and ids are the same either way. d.mu is held.
func (d *Daemon) reconcileReceiver(cfg *config.Config) error {
	if d.recv.stopped {
		return nil
	}
	if cfg.Mode == config.ModePoll {
		d.closeReceiver()
		return nil
	}
	s, err := webhook.SettingsFromConfig(cfg.Webhook)
	if err != nil {
		return err
	}
	s.TrackSnapshots = cfg.Mode == config.ModeWebhook
	if err := d.receiverSettings(s); err != nil {
		return err
	}
	if d.recv.srv != nil && d.recv.addr == cfg.Webhook.Listen {
		return nil
	}
	d.closeReceiver()
	return d.openReceiver(cfg.Webhook.Listen, cfg.Webhook.Path)
}

// receiverSettings gives the handler its settings, creating it the first
// time. d.mu is held.
func (d *Daemon) receiverSettings(s webhook.Settings) error {
	if d.recv.handler != nil {
		return d.recv.handler.Update(s)
	}
	h, err := webhook.New(webhook.Options{Store: d.db, Notify: d.deliver.Notify,
		Clock: d.opts.Clock, Logger: d.logger, Metrics: d.recv.metrics}, s)
	if err != nil {
		return err
	}
	d.recv.handler = h
	return nil
}

// openReceiver listens on addr and serves the handler. d.mu is held.
func (d *Daemon) openReceiver(addr, path string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("webhook listener: %w", err)
	}
	srv := &http.Server{Handler: d.recv.handler, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: receiverReadTimeout, IdleTimeout: receiverIdleTimeout}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			d.logger.Error("webhook listener stopped", "err", err)
		}
	}()
	d.recv.addr, d.recv.srv, d.recv.served = addr, &boundServer{ln: ln, srv: srv}, served
	d.logger.Info("webhook receiver listening", "addr", ln.Addr().String(), "path", path)
	d.opts.Listening("webhook", ln.Addr())
	return nil
}

// closeReceiver closes the listener, if open, once the requests in flight
// are answered (cut after receiverShutdown). d.mu is held.
func (d *Daemon) closeReceiver() {
	if d.recv.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), receiverShutdown)
	defer cancel()
	if err := d.recv.srv.srv.Shutdown(ctx); err != nil {
		d.logger.Warn("webhook listener shutdown", "err", err)
		_ = d.recv.srv.srv.Close()
	}
	<-d.recv.served
	d.logger.Info("webhook receiver stopped", "addr", d.recv.srv.ln.Addr().String())
	d.recv.srv, d.recv.served, d.recv.addr = nil, nil, ""
}

// stopReceiver closes the listener for good, at shutdown. d.mu is held.
func (d *Daemon) stopReceiver() {
	d.recv.stopped = true
	d.closeReceiver()
}

// checkReceiver fails when the mode wants webhooks and nothing listens.
func (d *Daemon) checkReceiver(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cfg.Load().Mode != config.ModePoll && d.recv.srv == nil {
		return errors.New("webhook receiver not listening")
	}
	return nil
}

// reconcileCounts is hybrid mode's reconciliation, for metrics: nothing in
// poll mode.
func (d *Daemon) reconcileCounts(ctx context.Context) ([]store.ReconcileCount, error) {
	cfg := d.cfg.Load()
	if cfg.Mode == config.ModePoll {
		return nil, nil
	}
	grace := d.opts.ReconcileGrace
	if grace <= 0 {
		grace = webhook.ReconcileGrace(cfg.Sync.MaxAge)
	}
	from, to := webhook.ReconcileRange(d.opts.Clock.Now(), grace)
	return d.db.ReconcileCounts(ctx, from, to)
}

// closeUnserved closes the listener of a server that never served, when
// start-up fails after it was opened; nil is fine.
func (b *boundServer) closeUnserved() error {
	if b == nil {
		return nil
	}
	return b.ln.Close()
}
