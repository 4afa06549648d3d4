package deliver

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/store"
)

// run is the state of one Run (or DeliverNow), owned by its goroutine.
//
// A delivery moves through: queued (claimed from the store, waiting for a
// slot), running (Send in progress, one of Concurrency slots), waiting to
// be recorded, recorded. It is in inflight, so the store's claims skip it,
// from queued until its outcome is committed: until then the store still
// has it pending. Outcomes are committed by one background write at a
// time, in batches, so that a slot is free again as soon as Send returns.
type run struct {
	d *Dispatcher
	// writeCtx outlives Run's context so that attempts finished at
	// shutdown are still recorded.
	writeCtx context.Context

	endpoints map[string]*endpointRun
	names     []string // enabled endpoints, for the store's queries

	queue    []store.PendingDelivery
	running  int
	inflight map[store.DeliveryKey]bool
	results  chan attemptResult
	finished []attemptResult // back from Send, not yet being recorded
	// recording is true while a batch is being committed; recorded gets
	// its outcome.
	recording bool
	recorded  chan recordedBatch
	wg        sync.WaitGroup

	// attemptCtx ends when attempts must stop (after the grace period).
	attemptCtx     context.Context
	cancelAttempts context.CancelFunc

	fanOut  bool      // events may have been committed since the last fan-out
	dirty   bool      // deliveries may have become due
	nextDue time.Time // the earliest future due time known, zero if none
	// stalled stops claims after outcomes could not be recorded: the
	// deliveries are still due in the store, and claiming them again at
	// once would resend them in a loop. The next rescan resumes.
	stalled bool

	counts   summary
	outcomes []Outcome // kept for DeliverNow only
	keepAll  bool
}

// endpointRun is a configured endpoint and what the loop knows of it.
type endpointRun struct {
	Endpoint
	sender   Sender
	disabled bool
	// failing is true after a failed attempt until the next success, so
	// that a down endpoint is logged once, not per attempt.
	failing bool
}

// attemptResult is what a finished attempt sends back to the loop.
type attemptResult struct {
	ep          *endpointRun
	pd          store.PendingDelivery
	at, end     time.Time
	status      int
	err         error
	interrupted bool
}

// recordedBatch is a committed (or failed) batch of outcomes.
type recordedBatch struct {
	results  []attemptResult
	outcomes []Outcome
	err      error
}

// summary counts outcomes between two rescans, for one Info line.
type summary struct{ delivered, retried, failed int }

func (d *Dispatcher) newRun(ctx context.Context) *run {
	attemptCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &run{
		d: d, writeCtx: context.WithoutCancel(ctx),
		endpoints:  map[string]*endpointRun{},
		inflight:   map[store.DeliveryKey]bool{},
		results:    make(chan attemptResult, d.opts.Concurrency),
		recorded:   make(chan recordedBatch, 1),
		attemptCtx: attemptCtx, cancelAttempts: cancel,
		fanOut: true, dirty: true,
	}
}

func (r *run) clock() clockwork.Clock { return r.d.opts.Clock }

func keyOf(pd store.PendingDelivery) store.DeliveryKey {
	return store.DeliveryKey{Endpoint: pd.Endpoint, Seq: pd.Seq}
}

// setEndpoints replaces the endpoints and registers them in the store; a
// registration error is logged and returned.
func (r *run) setEndpoints(ctx context.Context, eps []Endpoint) error {
	next := make(map[string]*endpointRun, len(eps))
	for _, ep := range eps {
		if ep.RetryWindow <= 0 {
			ep.RetryWindow = DefaultRetryWindow
		}
		er := &endpointRun{Endpoint: ep, sender: senderOf(ep.Handler)}
		if old := r.endpoints[ep.Name]; old != nil {
			er.failing, er.disabled = old.failing, old.disabled
		}
		next[ep.Name] = er
	}
	r.endpoints = next
	err := r.register(ctx)
	r.fanOut, r.dirty = true, true
	return err
}

// register records the endpoints in the store and learns which are
// disabled, which may have changed in another process (events enable).
func (r *run) register(ctx context.Context) error {
	targets := r.targets(false)
	states, err := r.d.opts.Store.RegisterEndpoints(ctx, targets, r.clock().Now())
	if err != nil {
		r.logError(ctx, "registering endpoints", err)
	}
	for i, s := range states {
		ep := r.endpoints[targets[i].Name]
		if ep.disabled && !s.Disabled() {
			r.d.log.Info("endpoint enabled", "endpoint", ep.Name)
		}
		ep.disabled = s.Disabled()
	}
	r.enabledNames()
	return err
}

// enabledNames lists the enabled endpoints for the store's queries and
// drops queued deliveries of the others.
func (r *run) enabledNames() {
	r.names = r.names[:0]
	for name, ep := range r.endpoints {
		if !ep.disabled {
			r.names = append(r.names, name)
		}
	}
	kept := r.queue[:0]
	for _, pd := range r.queue {
		if ep := r.endpoints[pd.Endpoint]; ep != nil && !ep.disabled {
			kept = append(kept, pd)
		} else {
			delete(r.inflight, keyOf(pd))
		}
	}
	r.queue = kept
}

// targets describes the endpoints to the store, only the enabled ones if
// asked.
func (r *run) targets(enabledOnly bool) []store.EndpointTarget {
	ts := make([]store.EndpointTarget, 0, len(r.endpoints))
	for _, ep := range r.endpoints {
		if enabledOnly && ep.disabled {
			continue
		}
		ts = append(ts, store.EndpointTarget{Name: ep.Name, Fingerprint: ep.Fingerprint,
			Types: ep.Filter.Types()})
	}
	return ts
}

// work does what the wake-up calls for: fan out new events, claim due
// deliveries, start what there are slots for, and find when the next
// delivery falls due.
func (r *run) work(ctx context.Context) {
	now := r.clock().Now()
	if r.fanOut && len(r.names) > 0 {
		r.fanOut = false
		if _, err := r.d.opts.Store.FanOut(ctx, r.targets(true), now); err != nil {
			r.logError(ctx, "queueing new events", err)
		}
	}
	if len(r.names) == 0 {
		r.nextDue = time.Time{}
		return
	}
	if r.dirty && !r.stalled && len(r.queue) < r.d.opts.Concurrency {
		r.dirty = false
		r.refill(ctx, now)
	}
	r.startQueued()
}

// TODO: cap each endpoint's share of the slots: a slow endpoint with a
// backlog can hold every slot for up to its timeout while others wait.

// refill claims due deliveries into the queue, up to twice the
// concurrency, so that slots freed by results start at once without a
// query each. When fewer are due, it also finds the next due time for the
// timer; otherwise results wake the loop before anything else could start.
func (r *run) refill(ctx context.Context, now time.Time) {
	want := 2*r.d.opts.Concurrency - len(r.queue)
	skip := make([]store.DeliveryKey, 0, len(r.inflight))
	for k := range r.inflight {
		skip = append(skip, k)
	}
	pds, err := r.d.opts.Store.DueDeliveries(ctx, r.names, now, want, skip)
	if err != nil {
		r.logError(ctx, "listing due deliveries", err)
		return
	}
	for _, pd := range pds {
		r.inflight[keyOf(pd)] = true
	}
	r.queue = append(r.queue, pds...)
	r.nextDue = time.Time{}
	if len(pds) == want {
		return
	}
	if r.nextDue, err = r.d.opts.Store.NextDeliveryDue(ctx, r.names, now); err != nil {
		r.logError(ctx, "finding the next due delivery", err)
	}
}

// logError logs a store error, at debug level once ctx has ended: a
// shutdown cancels queries in flight, and that is no failure.
func (r *run) logError(ctx context.Context, msg string, err error) {
	level := slog.LevelError
	if ctx.Err() != nil {
		level = slog.LevelDebug
	}
	r.d.log.Log(ctx, level, msg, "err", err)
}

// startQueued starts queued deliveries while slots are free.
func (r *run) startQueued() {
	for r.running < r.d.opts.Concurrency && len(r.queue) > 0 {
		pd := r.queue[0]
		r.queue = r.queue[1:]
		ep := r.endpoints[pd.Endpoint]
		if ep == nil || ep.disabled {
			delete(r.inflight, keyOf(pd))
			continue
		}
		r.start(ep, pd)
	}
}

// arm sets the timer for the next due delivery. A time already passed
// fires at once: refill asks only for times after its own now, so this
// cannot spin.
func (r *run) arm(timer clockwork.Timer) {
	timer.Stop()
	if r.nextDue.IsZero() {
		return
	}
	timer.Reset(max(r.nextDue.Sub(r.clock().Now()), 0))
}

// start runs one attempt in its own goroutine.
func (r *run) start(ep *endpointRun, pd store.PendingDelivery) {
	r.inflight[keyOf(pd)] = true
	r.running++
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.results <- r.attempt(ep, pd)
	}()
}

func (r *run) attempt(ep *endpointRun, pd store.PendingDelivery) attemptResult {
	res := attemptResult{ep: ep, pd: pd, at: r.clock().Now()}
	res.status, res.err = ep.sender.Send(r.attemptCtx, Delivery{
		EventID: pd.EventID, Type: pd.Type, ResourceID: pd.ResourceID, Body: pd.Body,
		Attempt: pd.Attempts + 1,
	})
	res.end = r.clock().Now()
	res.interrupted = res.err != nil && r.attemptCtx.Err() != nil
	return res
}

// collect takes a finished attempt, and every other one already back, and
// has them recorded.
func (r *run) collect(first attemptResult) {
	r.running--
	r.finished = append(r.finished, first)
drain:
	for {
		select {
		case res := <-r.results:
			r.running--
			r.finished = append(r.finished, res)
		default:
			break drain
		}
	}
	r.flush()
}

// flush starts recording the finished attempts unless a batch is being
// recorded already; they then wait for the next batch.
func (r *run) flush() {
	if r.recording || len(r.finished) == 0 {
		return
	}
	batch := r.finished[:min(len(r.finished), maxRecordBatch)]
	r.finished = r.finished[len(batch):]
	recs := make([]store.AttemptRecord, len(batch))
	outs := make([]Outcome, len(batch))
	for i, res := range batch {
		recs[i], outs[i] = r.decide(res)
	}
	r.recording = true
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := r.d.opts.Store.RecordAttempts(r.writeCtx, recs)
		r.recorded <- recordedBatch{results: batch, outcomes: outs, err: err}
	}()
}

// finish acts on a recorded batch and starts the next one. On error the
// deliveries stay as they were in the store, due, so they are tried again.
func (r *run) finish(b recordedBatch) error {
	r.recording = false
	for _, res := range b.results {
		delete(r.inflight, keyOf(res.pd))
	}
	r.dirty = true
	if b.err != nil {
		r.stalled = true
		r.d.log.Error("recording delivery attempts; pausing until the next rescan",
			"attempts", len(b.results), "err", b.err)
	} else {
		for i := range b.outcomes {
			r.after(b.results[i], b.outcomes[i])
		}
	}
	r.flush()
	return b.err
}

// idle reports whether nothing is running or waiting to be recorded.
func (r *run) idle() bool {
	return r.running == 0 && !r.recording && len(r.finished) == 0
}

// decide turns a finished attempt into its record and outcome: delivered,
// pending until the next attempt, or failed when the retry window is over.
func (r *run) decide(res attemptResult) (store.AttemptRecord, Outcome) {
	first := res.pd.FirstAttemptAt
	if first.IsZero() {
		first = res.at
	}
	rec := store.AttemptRecord{
		Endpoint: res.pd.Endpoint, Seq: res.pd.Seq, N: res.pd.Attempts + 1, At: res.at,
		Status: res.status, Latency: res.end.Sub(res.at), FirstAttemptAt: first,
		State: store.DeliveryPending,
	}
	switch {
	case res.err == nil:
		rec.State = store.DeliveryDelivered
	case res.interrupted || errors.Is(res.err, ErrGone):
		// Cut short by shutdown, or held by the disabled endpoint: due
		// again as soon as it can be.
		rec.NextAttemptAt = res.end
	default:
		next, ok := r.d.opts.Retry.Next(rec.N, r.d.opts.Jitter(), retryAfter(res.err),
			first, res.end, res.ep.RetryWindow)
		rec.NextAttemptAt = next
		if !ok {
			rec.State = store.DeliveryFailed
		}
	}
	if res.err != nil {
		rec.Error = excerpt([]byte(res.err.Error()))
	}
	return rec, Outcome{
		Endpoint: rec.Endpoint, EventID: res.pd.EventID, Type: res.pd.Type, Seq: rec.Seq,
		Attempt: rec.N, Status: rec.Status, Latency: rec.Latency, Err: res.err,
		State: rec.State, NextAttemptAt: rec.NextAttemptAt,
	}
}

// after logs, counts and acts on one recorded outcome.
func (r *run) after(res attemptResult, o Outcome) {
	// The guard spares building the arguments for every attempt.
	if r.d.log.Enabled(r.writeCtx, slog.LevelDebug) {
		r.d.log.Debug("delivery attempt", "endpoint", o.Endpoint, "event_id", o.EventID,
			"type", o.Type, "attempt", o.Attempt, "status", o.Status, "latency", o.Latency,
			"state", o.State, "err", o.Err)
	}
	r.d.opts.Metrics.AttemptDone(o)
	if r.keepAll {
		r.outcomes = append(r.outcomes, o)
	}
	ep := r.endpoints[o.Endpoint]
	switch {
	case o.Err == nil:
		r.counts.delivered++
		if ep != nil && ep.failing {
			ep.failing = false
			r.d.log.Info("endpoint recovered", "endpoint", o.Endpoint, "event_id", o.EventID)
		}
	case errors.Is(o.Err, ErrGone):
		r.disable(ep, o)
	case o.State == store.DeliveryFailed:
		r.counts.failed++
		r.d.log.Warn("delivery failed for good", "endpoint", o.Endpoint,
			"event_id", o.EventID, "type", o.Type, "attempts", o.Attempt,
			"retry_window", res.ep.RetryWindow, "err", o.Err)
		r.d.opts.Metrics.DeadLetter(o.Endpoint)
	default:
		r.counts.retried++
		if ep != nil && !ep.failing && !res.interrupted {
			ep.failing = true
			r.d.log.Warn("endpoint failing; retrying on schedule", "endpoint", o.Endpoint,
				"event_id", o.EventID, "status", o.Status, "err", o.Err,
				"next_attempt_at", o.NextAttemptAt)
		}
	}
}

// disable disables an endpoint that answered 410 Gone, durably.
func (r *run) disable(ep *endpointRun, o Outcome) {
	if ep != nil && ep.disabled {
		return
	}
	held, err := r.d.opts.Store.DisableEndpoint(r.writeCtx, o.Endpoint, "410 Gone",
		r.clock().Now())
	if err != nil {
		r.d.log.Error("disabling endpoint", "endpoint", o.Endpoint, "err", err)
		return
	}
	if ep != nil {
		ep.disabled = true
		r.enabledNames()
	}
	r.d.log.Warn("endpoint disabled: it answered 410 Gone; change its url or run "+
		"`opencals-sync events enable` to resume", "endpoint", o.Endpoint,
		"event_id", o.EventID, "held_deliveries", held)
	r.d.opts.Metrics.EndpointDisabled(o.Endpoint)
}

// rescan picks up other processes' writes and reports the backlog and a
// summary of the work since the last rescan.
func (r *run) rescan(ctx context.Context) {
	r.register(ctx)
	r.fanOut, r.dirty, r.stalled = true, true, false
	if c := r.counts; c != (summary{}) {
		r.d.log.Info("deliveries", "delivered", c.delivered, "retried", c.retried,
			"failed", c.failed)
		r.counts = summary{}
	}
	if len(r.names) == 0 {
		return
	}
	b, err := r.d.opts.Store.DeliveryBacklog(ctx, r.names)
	if err != nil {
		r.logError(ctx, "measuring delivery backlog", err)
		return
	}
	var age time.Duration
	if !b.Oldest.IsZero() {
		age = max(r.clock().Since(b.Oldest), 0)
	}
	r.d.opts.Metrics.Backlog(b.Pending, age)
}

// shutdown starts nothing more and waits for the attempts running,
// recording them; after the grace period it cancels the rest.
func (r *run) shutdown() {
	for _, pd := range r.queue {
		delete(r.inflight, keyOf(pd))
	}
	r.queue = nil
	grace := r.clock().After(r.d.opts.Grace)
	for !r.idle() {
		select {
		case res := <-r.results:
			r.collect(res)
		case b := <-r.recorded:
			_ = r.finish(b) // logged; the deliveries stay due
		case <-grace:
			if r.running > 0 {
				r.d.log.Warn("cancelling deliveries still in flight", "attempts", r.running)
			}
			r.cancelAttempts()
			grace = nil
		}
	}
	r.wg.Wait()
}
