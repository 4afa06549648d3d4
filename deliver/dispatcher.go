package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/store"
)

// Defaults of Options and Endpoint.
const (
	DefaultConcurrency = 16
	DefaultRetryWindow = 72 * time.Hour
	DefaultRescan      = 10 * time.Second
	DefaultGrace       = 10 * time.Second
)

// maxRecordBatch bounds the attempts recorded in one transaction.
const maxRecordBatch = 256

// Store is the part of the outbox the dispatcher works with; *store.DB has
// it.
type Store interface {
	RegisterEndpoints(ctx context.Context, targets []store.EndpointTarget,
		now time.Time) ([]store.EndpointState, error)
	FanOut(ctx context.Context, targets []store.EndpointTarget, now time.Time) (int, error)
	DueDeliveries(ctx context.Context, endpoints []string, now time.Time, limit int,
		skip []store.DeliveryKey) ([]store.PendingDelivery, error)
	NextDeliveryDue(ctx context.Context, endpoints []string, after time.Time) (time.Time, error)
	RecordAttempts(ctx context.Context, recs []store.AttemptRecord) error
	DisableEndpoint(ctx context.Context, name, reason string, now time.Time) (int, error)
	DeliveryBacklog(ctx context.Context, endpoints []string) (store.Backlog, error)
}

var _ Store = (*store.DB)(nil)

// Endpoint is one destination as the dispatcher runs it.
type Endpoint struct {
	// Name identifies the endpoint in the store, logs and metrics.
	Name    string
	Handler Handler
	Filter  Filter
	// RetryWindow is how long, from the first attempt, a delivery is
	// retried before it is failed; zero means DefaultRetryWindow.
	RetryWindow time.Duration
	// Fingerprint identifies the target (URL or command); when it changes,
	// an endpoint a 410 Gone disabled is enabled again. "" is fine for a Go
	// handler.
	Fingerprint string
}

// Outcome is the result of one attempt, as recorded.
type Outcome struct {
	Endpoint string
	EventID  string
	Type     event.Type
	Seq      int64
	Attempt  int
	// Status is the HTTP status, 0 when there was none.
	Status  int
	Latency time.Duration
	// Err is nil for a delivery.
	Err error
	// State is the delivery's state after the attempt; NextAttemptAt is
	// set while it is pending.
	State         store.DeliveryState
	NextAttemptAt time.Time
}

// Metrics receives what the dispatcher measures. Methods must be safe for
// concurrent use and fast; they are called from the dispatcher's loop.
type Metrics interface {
	// AttemptDone is called for every recorded attempt.
	AttemptDone(o Outcome)
	// DeadLetter is called when a delivery is failed for good.
	DeadLetter(endpoint string)
	// EndpointDisabled is called when a 410 Gone disables an endpoint.
	EndpointDisabled(endpoint string)
	// Backlog reports the pending deliveries of the configured endpoints
	// and the age of the oldest, at every rescan.
	Backlog(pending int, oldest time.Duration)
}

type nopMetrics struct{}

func (nopMetrics) AttemptDone(Outcome)        {}
func (nopMetrics) DeadLetter(string)          {}
func (nopMetrics) EndpointDisabled(string)    {}
func (nopMetrics) Backlog(int, time.Duration) {}

// Options configure a Dispatcher. Only Store is required.
type Options struct {
	Store  Store
	Clock  clockwork.Clock
	Logger *slog.Logger
	// Metrics defaults to none.
	Metrics Metrics
	// Concurrency bounds the attempts in flight, all endpoints together.
	// Zero means DefaultConcurrency.
	Concurrency int
	Retry       RetryPolicy
	// Jitter returns numbers in [0, 1) for RetryPolicy; nil means
	// math/rand/v2's Float64.
	Jitter func() float64
	// Rescan is how often the dispatcher looks at the store without being
	// told to: it picks up what other processes wrote (the CLI's resend and
	// enable, events recorded by `opencals-sync once`), reports the backlog
	// and logs a summary. Zero means DefaultRescan.
	Rescan time.Duration
	// Grace is how long attempts in flight may finish after Run's context
	// ends before they are cancelled. Zero means DefaultGrace.
	Grace time.Duration
}

// Dispatcher delivers the outbox's events to endpoints. Create it with
// NewDispatcher, give it endpoints with Update, wake it with Notify after
// events are committed, and Run it.
//
// Fan-out: every endpoint has a durable cursor in the store. When woken,
// the dispatcher queues, in one transaction, the events past each cursor
// that the endpoint's filter accepts, and moves the cursors. An endpoint
// seen for the first time starts at the newest event (no history flood;
// `events resend` sends older ones).
//
// Ordering: for one endpoint, an event is not attempted while an earlier
// event of the same appointment or order is pending. Different resources
// are attempted in parallel, up to Options.Concurrency.
//
// Wake-ups: Notify, the timer of the next due retry, results of attempts,
// and a slow rescan (Options.Rescan) for other processes' writes. The
// table is never polled in a loop.
type Dispatcher struct {
	opts    Options
	log     *slog.Logger
	notify  chan struct{}
	updated chan struct{}
	running atomic.Bool

	mu      sync.Mutex
	pending []Endpoint // the last Update, until the loop takes it
	fresh   bool       // pending has not been taken yet
}

// NewDispatcher returns a dispatcher with no endpoints.
func NewDispatcher(opts Options) *Dispatcher {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = nopMetrics{}
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	if opts.Rescan <= 0 {
		opts.Rescan = DefaultRescan
	}
	if opts.Grace <= 0 {
		opts.Grace = DefaultGrace
	}
	return &Dispatcher{
		opts:    opts,
		log:     opts.Logger.With("component", "deliver"),
		notify:  make(chan struct{}, 1),
		updated: make(chan struct{}, 1),
	}
}

// Notify tells the dispatcher that events were committed. It never blocks;
// call it after every commit that recorded events.
func (d *Dispatcher) Notify() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// Update replaces the endpoints (a config reload). An endpoint left out
// stops getting attempts; its deliveries stay in the store, and it resumes
// where it stopped if it comes back under the same name. Attempts in
// flight finish.
func (d *Dispatcher) Update(endpoints []Endpoint) {
	d.mu.Lock()
	d.pending, d.fresh = append([]Endpoint(nil), endpoints...), true
	d.mu.Unlock()
	select {
	case d.updated <- struct{}{}:
	default:
	}
}

// takeUpdate returns the endpoints of the last Update if the loop has not
// taken them yet.
func (d *Dispatcher) takeUpdate() ([]Endpoint, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	eps, fresh := d.pending, d.fresh
	d.fresh = false
	return eps, fresh
}

// update applies the last Update, if the loop has not yet.
func (d *Dispatcher) update(ctx context.Context, r *run) {
	eps, ok := d.takeUpdate()
	if !ok {
		return
	}
	r.setEndpoints(ctx, eps)
	d.log.Info("endpoints configured", "endpoints", len(eps), "enabled", len(r.names))
}

// Run delivers until ctx ends, then stops claiming, lets the attempts in
// flight finish for up to Options.Grace (then cancels them), records them,
// and returns nil. An attempt cut short is recorded and retried at once on
// the next start: delivery is at least once. Store errors are logged and
// retried at the next rescan; they do not stop Run.
func (d *Dispatcher) Run(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer d.running.Store(false)
	r := d.newRun(ctx)
	defer r.cancelAttempts()
	rescan := d.opts.Clock.NewTicker(d.opts.Rescan)
	defer rescan.Stop()
	timer := d.opts.Clock.NewTimer(d.opts.Rescan)
	defer timer.Stop()

	d.update(ctx, r)
	for {
		r.work(ctx)
		r.arm(timer)
		select {
		case <-ctx.Done():
			r.shutdown()
			d.log.Debug("dispatcher stopped")
			return nil
		case <-d.notify:
			r.fanOut, r.dirty = true, true
		case <-d.updated:
			d.update(ctx, r)
		case <-rescan.Chan():
			r.rescan(ctx)
		case <-timer.Chan():
			r.dirty = true
		case res := <-r.results:
			r.collect(res)
		case b := <-r.recorded:
			_ = r.finish(b) // logged; the deliveries stay due
		}
	}
}

// Register records the endpoints of the last Update in the store without
// running, so that every event recorded from then on is queued for them: an
// endpoint seen for the first time starts at the newest event, and `once`
// must not record its events before that. It fails with ErrRunning while
// Run or DeliverNow runs.
func (d *Dispatcher) Register(ctx context.Context) error {
	if !d.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer d.running.Store(false)
	r := d.newRun(ctx)
	defer r.cancelAttempts()
	d.mu.Lock()
	eps := d.pending
	d.mu.Unlock()
	if err := r.setEndpoints(ctx, eps); err != nil {
		return fmt.Errorf("registering endpoints: %w", err)
	}
	return nil
}

// DeliverNow attempts the given deliveries once each, at once, outside the
// queue's order, and records the outcomes as Run would (a 410 Gone
// disables the endpoint). The endpoints are those of the last Update; a
// delivery to an unknown or disabled one is not attempted, and the error
// wraps ErrUnknownEndpoint or ErrDisabled. It serves `opencals-sync
// trigger`, whose test deliveries the store holds back from Run for this
// caller.
func (d *Dispatcher) DeliverNow(ctx context.Context,
	pds []store.PendingDelivery,
) ([]Outcome, error) {
	if !d.running.CompareAndSwap(false, true) {
		return nil, ErrRunning
	}
	defer d.running.Store(false)
	r := d.newRun(ctx)
	defer r.cancelAttempts()
	r.keepAll = true
	d.mu.Lock()
	eps := d.pending
	d.mu.Unlock()
	r.setEndpoints(ctx, eps)
	var errs []error
	for _, pd := range pds {
		ep := r.endpoints[pd.Endpoint]
		switch {
		case ep == nil:
			errs = append(errs, fmt.Errorf("delivering event %s: endpoint %s: %w",
				pd.EventID, pd.Endpoint, ErrUnknownEndpoint))
			continue
		case ep.disabled:
			errs = append(errs, fmt.Errorf("delivering event %s: endpoint %s: %w",
				pd.EventID, pd.Endpoint, ErrDisabled))
			continue
		}
		r.inflight[keyOf(pd)] = true
		r.queue = append(r.queue, pd)
	}
	for len(r.queue) > 0 || !r.idle() {
		r.startQueued()
		select {
		case res := <-r.results:
			r.collect(res)
		case b := <-r.recorded:
			errs = append(errs, r.finish(b))
		}
	}
	r.wg.Wait()
	return r.outcomes, errors.Join(errs...)
}
