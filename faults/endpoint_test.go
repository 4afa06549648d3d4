//go:build faults

package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/deliver"
	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/store"
)

// The endpoint scenario runs the daemon's dispatcher in this process,
// against the store and a loopback receiver. The config has no retry
// schedule, and the default one waits up to five minutes, then hours,
// between attempts, so the binary cannot show "down for two days" or
// "fails at random until it recovers" within a test. Instead:
//   - the outage runs on a fake clock with the default schedule and window
//     (72 h): 48 hours down, then up;
//   - the flaky receiver runs in real time with a schedule of milliseconds.

// testEndpointFaults checks that after each kind of endpoint failure every
// event is delivered, each resource's events in outbox order.
func testEndpointFaults(t *testing.T, s *suite) {
	logs := filepath.Join(s.logs, "endpoint_faults")
	if err := os.MkdirAll(logs, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Run("outage", func(t *testing.T) { testLongOutage(t, s, logs) })
	t.Run("flaky", func(t *testing.T) { testFlakyReceiver(t, s, logs) })
}

// dispatch is a running dispatcher with one endpoint, the receiver.
type dispatch struct {
	t       *testing.T
	s       *suite
	db      *store.DB
	read    *storeReader
	recv    *Receiver
	d       *deliver.Dispatcher
	tally   *tally
	storeID string
	events  []event.Event
}

// dispatchOptions shape a dispatch.
type dispatchOptions struct {
	name    string
	clock   clockwork.Clock
	retry   deliver.RetryPolicy
	timeout time.Duration
	answer  func() Answer
	slowFor time.Duration
	logs    string
}

func startDispatch(t *testing.T, s *suite, o dispatchOptions) *dispatch {
	t.Helper()
	ctx := context.Background()
	logFile, err := os.Create(filepath.Join(o.logs, o.name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = logFile.Close() })
	logger := slog.New(slog.NewJSONHandler(logFile, &slog.HandlerOptions{Level: slog.LevelDebug}))
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := store.Open(ctx, path, store.Options{Logger: logger, Clock: o.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })

	secret := "whk_" + randomHex(16)
	s.remember("endpoint secret", secret)
	recv, err := StartReceiver(ReceiverOptions{Secret: secret, Answer: o.answer,
		SlowFor: o.slowFor})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = recv.Close() })
	signer, err := event.NewSigner(event.SchemeOpencals, "", []string{secret})
	if err != nil {
		t.Fatal(err)
	}
	h, err := deliver.NewHTTPHandler(deliver.HTTPOptions{URL: recv.URL(), Signer: signer,
		Timeout: o.timeout, Clock: o.clock})
	if err != nil {
		t.Fatal(err)
	}
	all, _ := deliver.NewFilter(nil)
	jitter := lockedRand{r: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))}
	dp := &dispatch{t: t, s: s, db: db, read: &storeReader{t: t, path: path}, recv: recv,
		tally: &tally{}, storeID: "store-" + randomHex(4)}
	dp.d = deliver.NewDispatcher(deliver.Options{Store: db, Clock: o.clock, Logger: logger,
		Metrics: dp.tally, Retry: o.retry, Jitter: jitter.float64})
	dp.d.Update([]deliver.Endpoint{{Name: "receiver", Handler: h, Filter: all}})

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- dp.d.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
	// A new endpoint starts at the newest event: register it first.
	eventually(t, time.Minute, "the endpoint's registration", func() bool {
		states, err := db.EndpointStates(ctx)
		return err == nil && len(states) == 1
	})
	return dp
}

// lockedRand makes one random source safe for the dispatcher's goroutines.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

// tally is the dispatcher's Metrics: it counts outcomes.
type tally struct {
	mu                         sync.Mutex
	attempts, failed, disabled int
}

func (c *tally) AttemptDone(deliver.Outcome) { c.add(&c.attempts) }
func (c *tally) DeadLetter(string)           { c.add(&c.failed) }
func (c *tally) EndpointDisabled(string)     { c.add(&c.disabled) }
func (c *tally) Backlog(int, time.Duration)  {}

func (c *tally) add(n *int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*n++
}

func (c *tally) counts() (attempts, failed, disabled int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.attempts, c.failed, c.disabled
}

// eventPlan is the events of a run, in waves: each resource's events go
// in order, one per wave, so that later events queue behind earlier ones.
func eventPlan(storeID string, resources int, at time.Time) [][]event.Event {
	var waves [][]event.Event
	for i := range resources {
		for k, ev := range resourceLife(storeID, i, at) {
			if k == len(waves) {
				waves = append(waves, nil)
			}
			waves[k] = append(waves[k], ev)
		}
	}
	return waves
}

// resourceLife is the events of resource i: an appointment (created,
// moved twice, canceled or completed) or an order (paid, refunded twice,
// paid again).
func resourceLife(storeID string, i int, at time.Time) []event.Event {
	id := fmt.Sprintf("res-%04d", i)
	mk := func(t event.Type, disc string) event.Event {
		obj, _ := json.Marshal(map[string]any{"id": id, "n": i, "disc": disc})
		return event.Event{ID: event.ID(storeID, t, id, disc), Type: t, CreatedAt: at,
			OccurredAt: at, StoreID: storeID, CustomerID: fmt.Sprintf("cust-%d", i%5),
			Source: event.SourcePoll, Data: event.Data{Object: obj}, ResourceID: id}
	}
	if i%2 == 0 {
		last := event.AppointmentCanceled
		if i%4 == 0 {
			last = event.AppointmentCompleted
		}
		return []event.Event{mk(event.AppointmentCreated, ""),
			mk(event.AppointmentRescheduled, "slot-1"), mk(event.AppointmentRescheduled, "slot-2"),
			mk(last, "")}
	}
	return []event.Event{mk(event.OrderPaid, "paid:100"), mk(event.OrderRefunded, "refund:a"),
		mk(event.OrderRefunded, "refund:b"), mk(event.OrderPaid, "paid:150")}
}

// insert records a wave in the outbox and wakes the dispatcher.
func (dp *dispatch) insert(wave []event.Event) {
	dp.t.Helper()
	if _, err := dp.db.InsertEvents(context.Background(), wave); err != nil {
		dp.t.Fatal(err)
	}
	dp.events = append(dp.events, wave...)
	dp.d.Notify()
}

// idle waits until every inserted event has a delivery and none is due at
// now: every attempt due has been made and recorded.
func (dp *dispatch) idle(now time.Time) {
	dp.t.Helper()
	eventually(dp.t, time.Minute, "the dispatcher to go idle", func() bool {
		if dp.read.deliveries() < len(dp.events) {
			return false
		}
		due, err := dp.db.DueDeliveries(context.Background(), []string{"receiver"}, now, 1, nil)
		return err == nil && len(due) == 0
	})
}

// nextDue is when the next pending delivery falls due; zero if none.
func (dp *dispatch) nextDue(now time.Time) time.Time {
	dp.t.Helper()
	next, err := dp.db.NextDeliveryDue(context.Background(), []string{"receiver"}, now)
	if err != nil {
		dp.t.Fatal(err)
	}
	return next
}

// judge compares the receiver's log with the events inserted.
func (dp *dispatch) judge() (missing []string, v Verdict) {
	dp.t.Helper()
	outbox := map[string]Outboxed{}
	stored, err := dp.db.ListEvents(context.Background(), store.EventFilter{Limit: 100000})
	if err != nil {
		dp.t.Fatal(err)
	}
	for _, e := range stored {
		outbox[e.ID] = Outboxed{Seq: e.Seq, Resource: e.Type.Resource() + "/" + e.ResourceID}
	}
	ds := dp.recv.Deliveries()
	got := map[string]bool{}
	for _, d := range ds {
		got[d.ID] = got[d.ID] || d.Accepted
	}
	for _, e := range dp.events {
		if !got[e.ID] {
			missing = append(missing, e.ID)
		}
	}
	v = Judge(NewOracle(Start{}, nil), Options{}, ds, outbox)
	return missing, v
}

// report records what every endpoint run must show; part prefixes the
// checks.
func (dp *dispatch) report(scenario, part string) {
	dp.t.Helper()
	missing, v := dp.judge()
	_, failed, disabled := dp.tally.counts()
	r := dp.s.report
	r.Info(scenario, part+"events", len(dp.events))
	r.Zero(scenario, part+"events never delivered", len(missing))
	r.Zero(scenario, part+"deliveries out of per-resource order", len(v.OutOfOrder))
	r.Zero(scenario, part+"conflicting payloads for one id", len(v.Conflicting))
	r.Info(scenario, part+"duplicate deliveries (allowed)", v.Duplicates)
	r.Zero(scenario, part+"dead letters", failed)
	r.Zero(scenario, part+"endpoint disabled", disabled)
	if len(missing) > 0 || len(v.OutOfOrder) > 0 || len(v.Conflicting) > 0 || failed > 0 ||
		disabled > 0 {
		dp.t.Errorf("missing %v, out of order %v, conflicting %v, dead letters %d, "+
			"disabled %d", missing, v.OutOfOrder, v.Conflicting, failed, disabled)
	}
}

// testLongOutage: the receiver is down for 48 hours of fake time while
// events keep coming, then comes back.
func testLongOutage(t *testing.T, s *suite, logs string) {
	const scenario = "endpoint_faults"
	const part = "48 h outage, fake clock: "
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(t0)
	dp := startDispatch(t, s, dispatchOptions{name: "outage", clock: clock, logs: logs,
		timeout: 5 * time.Second})
	if err := dp.recv.Down(); err != nil {
		t.Fatal(err)
	}
	waves := eventPlan(dp.storeID, s.scaled(40, 12), t0)
	waveAt := []time.Duration{0, time.Hour, 6 * time.Hour, 20 * time.Hour, 40 * time.Hour}

	// Down: waves arrive on their hours; retries follow the schedule.
	end := t0.Add(48 * time.Hour)
	next := 0
	for clock.Now().Before(end) {
		for next < len(waves) && !clock.Now().Before(t0.Add(waveAt[next])) {
			dp.insert(waves[next])
			next++
		}
		dp.idle(clock.Now())
		stop := end
		if due := dp.nextDue(clock.Now()); !due.IsZero() && due.Before(stop) {
			stop = due
		}
		if next < len(waves) && t0.Add(waveAt[next]).Before(stop) {
			stop = t0.Add(waveAt[next])
		}
		clock.Advance(stop.Sub(clock.Now()))
	}
	attemptsDown, _, _ := dp.tally.counts()

	// Up again: everything goes out at the next due times.
	if err := dp.recv.Up(); err != nil {
		t.Fatal(err)
	}
	for rounds := 0; !dp.done() && rounds < 1000; rounds++ {
		dp.idle(clock.Now())
		if next := dp.nextDue(clock.Now()); !next.IsZero() {
			clock.Advance(next.Sub(clock.Now()))
		}
	}
	s.report.Info(scenario, part+"attempts while down", attemptsDown)
	s.report.Info(scenario, part+"hours from recovery to the last delivery",
		fmt.Sprintf("%.1f", clock.Now().Sub(end).Hours()))
	dp.report(scenario, part)
}

// done says whether every inserted event was accepted at least once and
// the store has nothing left to deliver.
func (dp *dispatch) done() bool {
	return dp.allAccepted() && dp.read.pending() == 0
}

// allAccepted says whether every inserted event was accepted once.
func (dp *dispatch) allAccepted() bool {
	got := map[string]bool{}
	for _, d := range dp.recv.Deliveries() {
		if d.Accepted {
			got[d.ID] = true
		}
	}
	for _, e := range dp.events {
		if !got[e.ID] {
			return false
		}
	}
	return true
}

// testFlakyReceiver: in real time, the receiver fails at random, answers
// after the sender's timeout, or drops connections mid-request, while
// events keep coming; then it recovers.
func testFlakyReceiver(t *testing.T, s *suite, logs string) {
	const scenario = "endpoint_faults"
	const part = "flaky receiver, real time: "
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	flaky := func() Answer {
		switch r := rng.Float64(); {
		case r < 0.25:
			return Fail
		case r < 0.40:
			return Slow
		case r < 0.55:
			return Drop
		}
		return Accept
	}
	dp := startDispatch(t, s, dispatchOptions{name: "flaky", clock: clockwork.NewRealClock(),
		logs: logs, timeout: 300 * time.Millisecond, answer: flaky, slowFor: 600 * time.Millisecond,
		retry: deliver.RetryPolicy{Schedule: []time.Duration{
			20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
			200 * time.Millisecond}}})
	for _, wave := range eventPlan(dp.storeID, s.scaled(60, 20), time.Now()) {
		dp.insert(wave)
		<-time.After(300 * time.Millisecond) // the next wave while retries run
	}
	<-time.After(time.Duration(s.scaled(10, 4)) * time.Second) // flaky a while longer

	dp.recv.SetAnswer(func() Answer { return Accept })
	eventually(t, time.Minute, "every event delivered after recovery", dp.done)
	counts := map[Answer]int{}
	for _, d := range dp.recv.Deliveries() {
		counts[d.Answer]++
	}
	for _, a := range []Answer{Fail, Slow, Drop} {
		s.report.Check(scenario, part+"requests answered "+a.String(), counts[a], "> 0",
			counts[a] > 0)
	}
	dp.report(scenario, part)
}

// storeReader reads the dispatcher's database beside it.
type storeReader struct {
	t    *testing.T
	path string
}

// pending counts deliveries not made yet.
func (r *storeReader) pending() int {
	db := openDB(r.t, r.path)
	defer db.Close()
	var n int
	err := db.QueryRow(`SELECT count(*) FROM deliveries WHERE state = 'pending'`).Scan(&n)
	if err != nil {
		r.t.Fatalf("counting pending deliveries: %v", err)
	}
	return n
}

// deliveries counts deliveries queued, in any state.
func (r *storeReader) deliveries() int {
	db := openDB(r.t, r.path)
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM deliveries`).Scan(&n); err != nil {
		r.t.Fatalf("counting deliveries: %v", err)
	}
	return n
}
