package deliver

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/internal/testutil"
	"github.com/opencals-sync/opencals-sync/store"
)

func TestRetriesOnScheduleUntilDelivered(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	n := 0
	rc := newReceiver(t, func(*http.Request, []byte) int {
		if n++; n <= 3 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	d := h.run(Options{}, httpEndpoint(t, "crm", rc.srv.URL))
	ids := h.add("order.paid/o1/paid:5535")
	d.Notify()

	// With the jitter at one half, each wait is half its step.
	wantWaits := []time.Duration{2500 * time.Millisecond, 150 * time.Second, 15 * time.Minute}
	for i, want := range wantWaits {
		o := h.metrics.next(t, 1)[0]
		if o.State != store.DeliveryPending || o.Status != 500 || o.Attempt != i+1 {
			t.Fatalf("attempt %d = %+v; want pending after a 500", i+1, o)
		}
		if got := h.advanceToNextDue("crm"); got != want {
			t.Errorf("wait after attempt %d = %s; want %s", i+1, got, want)
		}
	}
	if o := h.metrics.next(t, 1)[0]; o.State != store.DeliveryDelivered || o.Attempt != 4 {
		t.Fatalf("attempt 4 = %+v; want delivered", o)
	}

	start := t0
	want := []time.Time{start, start.Add(2500 * time.Millisecond),
		start.Add(2500*time.Millisecond + 150*time.Second),
		start.Add(2500*time.Millisecond + 150*time.Second + 15*time.Minute)}
	if diff := cmp.Diff(want, h.attemptsAt("crm", ids[0])); diff != "" {
		t.Errorf("attempt times mismatch (-want +got):\n%s", diff)
	}
	for i, r := range rc.requests() {
		if got := r.header.Get(event.HeaderAttempt); got != strconv.Itoa(i+1) {
			t.Errorf("request %d carries attempt %q; want %d", i+1, got, i+1)
		}
	}
}

func TestOutageLosesNothingAndKeepsResourceOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rc := newReceiver(t, always(http.StatusServiceUnavailable))
	d := h.run(Options{}, httpEndpoint(t, "crm", rc.srv.URL))
	ids := h.add(
		"appointment.created/a1/", "appointment.created/a2/", "order.paid/o1/paid:1",
		"appointment.rescheduled/a1/s2", "order.refunded/o1/r1",
		"appointment.rescheduled/a1/s3", "appointment.canceled/a2/",
		"appointment.canceled/a1/",
	)
	resourceOf := map[string]string{}
	order := map[string][]string{}
	for _, spec := range []struct{ id, res string }{
		{ids[0], "a1"}, {ids[1], "a2"}, {ids[2], "o1"}, {ids[3], "a1"}, {ids[4], "o1"},
		{ids[5], "a1"}, {ids[6], "a2"}, {ids[7], "a1"},
	} {
		resourceOf[spec.id] = spec.res
		order[spec.res] = append(order[spec.res], spec.id)
	}
	d.Notify()

	// Down for 30 hours: only the head of each resource is tried, on
	// schedule.
	heads, rounds := 3, 0
	for {
		for _, o := range h.metrics.next(t, heads) {
			if o.State != store.DeliveryPending {
				t.Fatalf("outcome during the outage = %+v; want pending", o)
			}
			if o.EventID != ids[0] && o.EventID != ids[1] && o.EventID != ids[2] {
				t.Fatalf("event %s tried before the earlier events of its resource",
					o.EventID)
			}
		}
		rounds++
		next, err := h.db.NextDeliveryDue(context.Background(), []string{"crm"}, h.clock.Now())
		if err != nil {
			t.Fatalf("NextDeliveryDue() = %v", err)
		}
		if next.Sub(t0) > 30*time.Hour {
			break
		}
		h.clock.Advance(next.Sub(h.clock.Now()))
	}
	if rounds < 8 {
		t.Errorf("heads were tried %d times in 30 hours; want at least 8", rounds)
	}

	// Back up: everything arrives, each resource in order.
	rc.answer(always(http.StatusNoContent))
	h.advanceToNextDue("crm")
	delivered := map[string]bool{}
	for len(delivered) < len(ids) {
		for _, o := range h.metrics.next(t, 1) {
			if o.State != store.DeliveryDelivered {
				t.Fatalf("outcome after recovery = %+v; want delivered", o)
			}
			delivered[o.EventID] = true
		}
	}
	got := map[string][]string{}
	for _, r := range rc.requests() {
		if r.status != http.StatusNoContent {
			continue
		}
		id := r.header.Get(event.HeaderEventID)
		got[resourceOf[id]] = append(got[resourceOf[id]], id)
	}
	if diff := cmp.Diff(order, got); diff != "" {
		t.Errorf("deliveries per resource (-want +got):\n%s", diff)
	}
}

func TestGoneDisablesUntilTargetChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	gone := newReceiver(t, always(http.StatusGone))
	d := h.run(Options{}, httpEndpoint(t, "crm", gone.srv.URL))
	h.add("order.paid/o1/paid:1", "order.paid/o2/paid:1")
	d.Notify()

	select {
	case ep := <-h.metrics.disabled:
		if ep != "crm" {
			t.Errorf("EndpointDisabled(%q); want crm", ep)
		}
	case <-time.After(waitFor):
		t.Fatalf("no EndpointDisabled after a 410")
	}
	states, err := h.db.EndpointStates(ctx)
	if err != nil || len(states) != 1 || !states[0].Disabled() {
		t.Fatalf("EndpointStates() = %+v, %v; want crm disabled", states, err)
	}
	// Both were in flight together; then nothing more.
	h.metrics.next(t, 2)
	h.add("order.paid/o3/paid:1")
	d.Notify()
	h.clock.Advance(time.Hour)
	h.metrics.none(t)

	moved := newReceiver(t, always(http.StatusOK))
	d.Update([]Endpoint{httpEndpoint(t, "crm", moved.srv.URL)})
	for _, o := range h.metrics.next(t, 3) {
		if o.State != store.DeliveryDelivered {
			t.Errorf("after the move: %+v; want delivered", o)
		}
	}
	if got := len(moved.requests()); got != 3 {
		t.Errorf("new target got %d requests; want 3 (two held, one new)", got)
	}
	if got := len(gone.requests()); got != 2 {
		t.Errorf("gone target got %d requests; want 2 (none after the 410s)", got)
	}
}

func TestFiltersRouteEvents(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	appts := newReceiver(t, always(http.StatusOK))
	paid := newReceiver(t, always(http.StatusOK))
	d := h.run(Options{},
		httpEndpoint(t, "appts", appts.srv.URL, "appointment.*"),
		httpEndpoint(t, "paid", paid.srv.URL, "order.paid"),
	)
	h.add("appointment.created/a1/", "order.paid/o1/paid:1", "order.refunded/o1/r1",
		"appointment.completed/a2/")
	d.Notify()
	h.metrics.next(t, 3)

	// Different resources go in parallel: compare sets.
	types := func(rc *receiver) []string {
		var ts []string
		for _, r := range rc.requests() {
			ts = append(ts, r.header.Get(event.HeaderEventType))
		}
		slices.Sort(ts)
		return ts
	}
	if diff := cmp.Diff([]string{"appointment.completed", "appointment.created"},
		types(appts)); diff != "" {
		t.Errorf("appts received (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"order.paid"}, types(paid)); diff != "" {
		t.Errorf("paid received (-want +got):\n%s", diff)
	}
}

func TestRestartResumesWithRecordedAttempts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	rc := newReceiver(t, always(http.StatusInternalServerError))
	ep := httpEndpoint(t, "crm", rc.srv.URL)
	d := h.run(Options{}, ep)
	ids := h.add("order.paid/o1/paid:1", "order.paid/o2/paid:1", "appointment.created/a1/")
	d.Notify()
	h.metrics.next(t, 3)
	h.advanceToNextDue("crm")
	h.metrics.next(t, 3)

	// Crash-like stop in the middle of the backlog: close everything.
	h.stop()
	if err := h.db.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	h.db = openStore(t, h.path, h.clock)
	rc.answer(always(http.StatusOK))
	h.run(Options{}, ep)
	h.advanceToNextDue("crm")
	for _, o := range h.metrics.next(t, 3) {
		if o.Attempt != 3 || o.State != store.DeliveryDelivered {
			t.Errorf("after restart: %+v; want attempt 3, delivered", o)
		}
	}
	for _, id := range ids {
		se, err := h.db.Event(ctx, id)
		if err != nil {
			t.Fatalf("Event(%s) = %v", id, err)
		}
		as, err := h.db.DeliveryAttempts(ctx, "crm", se.Seq)
		if err != nil || len(as) != 3 {
			t.Errorf("DeliveryAttempts(%s) = %d attempts, %v; want 3", id, len(as), err)
		}
	}
	last := rc.requests()[len(rc.requests())-1]
	if got := last.header.Get(event.HeaderAttempt); got != "3" {
		t.Errorf("last request carries attempt %q; want 3", got)
	}
}

func TestRetryWindowEndsInDeadLetter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	rc := newReceiver(t, always(http.StatusBadGateway))
	ep := httpEndpoint(t, "crm", rc.srv.URL)
	ep.RetryWindow = time.Hour
	d := h.run(Options{}, ep)
	ids := h.add("order.paid/o1/paid:1")
	d.Notify()

	var last Outcome
	for last.State != store.DeliveryFailed {
		last = h.metrics.next(t, 1)[0]
		if last.State == store.DeliveryPending {
			h.advanceToNextDue("crm")
		}
	}
	if got, want := h.clock.Since(t0), time.Hour; got != want {
		t.Errorf("failed %s after the first attempt; want %s (the window)", got, want)
	}
	if ep := <-h.metrics.dead; ep != "crm" {
		t.Errorf("DeadLetter(%q); want crm", ep)
	}
	failed, err := h.db.RecentEvents(ctx, store.RecentFilter{State: store.DeliveryFailed})
	if err != nil || len(failed) != 1 || failed[0].Event.ID != ids[0] {
		t.Errorf("RecentEvents(failed) = %+v, %v; want the event", failed, err)
	}
	if got := failed[0].Deliveries[0].LastStatus; got != http.StatusBadGateway {
		t.Errorf("last status = %d; want 502", got)
	}
}

func TestRetryAfterIsAFloor(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rc := newReceiver(t, always(http.StatusTooManyRequests))
	rc.setHeader("Retry-After", "120")
	d := h.run(Options{}, httpEndpoint(t, "crm", rc.srv.URL))
	h.add("order.paid/o1/paid:1")
	d.Notify()
	o := h.metrics.next(t, 1)[0]
	if got, want := o.NextAttemptAt.Sub(t0), 120*time.Second; got != want {
		t.Errorf("next attempt after a 429 with Retry-After 120 in %s; want %s", got, want)
	}
	if o.Status != http.StatusTooManyRequests {
		t.Errorf("status = %d; want 429", o.Status)
	}
}

func TestGoHandlerGetsDecodedEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	got := make(chan event.Event, 1)
	ep := Endpoint{Name: "lib", Handler: HandlerFunc(func(_ context.Context,
		ev event.Event) error {
		got <- ev
		return nil
	})}
	d := h.run(Options{}, ep)
	ids := h.add("appointment.created/a1/")
	d.Notify()
	if o := h.metrics.next(t, 1)[0]; o.State != store.DeliveryDelivered {
		t.Fatalf("outcome = %+v; want delivered", o)
	}
	ev := <-got
	if ev.ID != ids[0] || ev.ResourceID != "a1" || ev.Type != event.AppointmentCreated {
		t.Errorf("handler got %s %s %s; want %s a1 appointment.created", ev.ID,
			ev.ResourceID, ev.Type, ids[0])
	}
}

func TestDeliverNowSendsTestEvent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	rc := newReceiver(t, always(http.StatusAccepted))
	ep := httpEndpoint(t, "crm", rc.srv.URL)
	h.register(ep)
	sample, err := event.Sample(event.AppointmentRescheduled, t0)
	if err != nil {
		t.Fatalf("Sample() = %v", err)
	}
	pds, err := h.db.InsertTestEvent(ctx, sample, []string{"crm"}, t0.Add(time.Minute), t0)
	if err != nil {
		t.Fatalf("InsertTestEvent() = %v", err)
	}
	d := NewDispatcher(Options{Store: h.db, Clock: h.clock})
	d.Update([]Endpoint{ep})
	outs, err := d.DeliverNow(ctx, pds)
	if err != nil || len(outs) != 1 || outs[0].State != store.DeliveryDelivered ||
		outs[0].Status != http.StatusAccepted {
		t.Fatalf("DeliverNow() = %+v, %v; want one delivery with 202", outs, err)
	}
	stored, err := h.db.Event(ctx, sample.ID)
	if err != nil {
		t.Fatalf("Event() = %v", err)
	}
	if got := string(rc.requests()[0].body); got != string(stored.Body) {
		t.Errorf("sent body differs from the stored one:\n got %s\nwant %s", got, stored.Body)
	}

	_, err = d.DeliverNow(ctx, []store.PendingDelivery{{Endpoint: "nobody", EventID: "x"}})
	if !errors.Is(err, ErrUnknownEndpoint) {
		t.Errorf("DeliverNow(unknown endpoint) = %v; want ErrUnknownEndpoint", err)
	}
}

func TestBodyIsStoredBytesAndSignatureVerifies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t)
	rc := newReceiver(t, always(http.StatusNoContent))
	d := h.run(Options{}, httpEndpoint(t, "crm", rc.srv.URL))
	ids := h.add("appointment.created/a1/")
	d.Notify()
	h.metrics.next(t, 1)
	stored, err := h.db.Event(ctx, ids[0])
	if err != nil {
		t.Fatalf("Event() = %v", err)
	}
	r := rc.requests()[0]
	if string(r.body) != string(stored.Body) {
		t.Errorf("body differs from the stored bytes:\n got %s\nwant %s", r.body, stored.Body)
	}
	if !testutil.VerifyOpencals(r.header, "Opencals-Signature", "endpoint-secret", r.body) {
		t.Errorf("signature %q does not verify", r.header.Get("Opencals-Signature"))
	}
}

// flakyStore fails RecordAttempts as many times as told.
type flakyStore struct {
	Store
	failures atomic.Int32
	failed   chan struct{}
}

func (s *flakyStore) RecordAttempts(ctx context.Context, recs []store.AttemptRecord) error {
	if s.failures.Add(-1) >= 0 {
		s.failed <- struct{}{}
		return errors.New("disk full")
	}
	return s.Store.RecordAttempts(ctx, recs)
}

func TestRecordFailurePausesUntilRescan(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	rc := newReceiver(t, always(http.StatusOK))
	ep := httpEndpoint(t, "crm", rc.srv.URL)
	h.register(ep)
	flaky := &flakyStore{Store: h.db, failed: make(chan struct{}, 1)}
	flaky.failures.Store(1)
	d := NewDispatcher(Options{Store: flaky, Clock: h.clock, Metrics: h.metrics,
		Jitter: halfJitter})
	d.Update([]Endpoint{ep})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	ids := h.add("order.paid/o1/paid:1")
	d.Notify()
	<-flaky.failed
	// Not recorded, so still due: the rescan brings it back (that nothing
	// is claimed before it is TestUnrecordedOutcomeStallsClaims's job).
	h.clock.Advance(DefaultRescan)
	if o := h.metrics.next(t, 1)[0]; o.EventID != ids[0] || o.State != store.DeliveryDelivered {
		t.Fatalf("after the rescan: %+v; want the event delivered", o)
	}
	if got := len(rc.requests()); got != 2 {
		t.Errorf("endpoint got %d requests; want 2 (the unrecorded one, then one retry)", got)
	}
}

// countingStore answers every query with nothing and counts the claims.
type countingStore struct {
	Store
	claims int
}

func (s *countingStore) RegisterEndpoints(_ context.Context, ts []store.EndpointTarget,
	_ time.Time,
) ([]store.EndpointState, error) {
	return make([]store.EndpointState, len(ts)), nil
}

func (s *countingStore) FanOut(context.Context, []store.EndpointTarget, time.Time) (int, error) {
	return 0, nil
}

func (s *countingStore) DueDeliveries(context.Context, []string, time.Time, int,
	[]store.DeliveryKey,
) ([]store.PendingDelivery, error) {
	s.claims++
	return nil, nil
}

func (s *countingStore) NextDeliveryDue(context.Context, []string, time.Time) (time.Time,
	error,
) {
	return time.Time{}, nil
}

func (s *countingStore) DeliveryBacklog(context.Context, []string) (store.Backlog, error) {
	return store.Backlog{}, nil
}

// TestUnrecordedOutcomeStallsClaims pins the rule the integration test
// above cannot see: after outcomes fail to be recorded, nothing is claimed
// (and so resent) until the next rescan.
func TestUnrecordedOutcomeStallsClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := &countingStore{}
	d := NewDispatcher(Options{Store: st, Clock: clockwork.NewFakeClockAt(t0)})
	r := d.newRun(ctx)
	defer r.cancelAttempts()
	r.setEndpoints(ctx, []Endpoint{{Name: "crm", Handler: HandlerFunc(
		func(context.Context, event.Event) error { return nil })}})
	r.work(ctx)
	if st.claims != 1 {
		t.Fatalf("claims at start = %d; want 1", st.claims)
	}

	r.recording = true
	_ = r.finish(recordedBatch{err: errors.New("disk full")})
	r.work(ctx)
	if st.claims != 1 {
		t.Errorf("claims after an unrecorded batch = %d; want still 1", st.claims)
	}
	r.rescan(ctx)
	r.work(ctx)
	if st.claims != 2 {
		t.Errorf("claims after the rescan = %d; want 2", st.claims)
	}
}
