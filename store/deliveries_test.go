package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencals-sync/opencals-sync/event"
)

var (
	appointmentTypes = []event.Type{
		event.AppointmentCreated, event.AppointmentCanceled,
		event.AppointmentRescheduled, event.AppointmentCompleted,
	}
	allTypes = event.Types
)

// addEvents records one event per spec "type resource discriminator" and
// returns their seqs in order.
func addEvents(t *testing.T, db *DB, specs ...[3]string) []int64 {
	t.Helper()
	ctx := context.Background()
	var seqs []int64
	for _, s := range specs {
		typ := event.Type(s[0])
		ev := event.Event{
			ID:   event.ID("s1", typ, s[1], s[2]),
			Type: typ, StoreID: "s1", CustomerID: "c1", Source: event.SourcePoll,
			CreatedAt: t0, OccurredAt: t0,
			Data: event.Data{Object: json.RawMessage(`{"id":"` + s[1] + `"}`)},
		}
		if _, err := db.InsertEvents(ctx, []event.Event{ev}); err != nil {
			t.Fatalf("InsertEvents(%v) = %v", s, err)
		}
		stored, err := db.Event(ctx, ev.ID)
		if err != nil {
			t.Fatalf("Event(%s) = %v", ev.ID, err)
		}
		seqs = append(seqs, stored.Seq)
	}
	return seqs
}

// register registers targets and fails the test on error.
func register(t *testing.T, db *DB, now time.Time, targets ...EndpointTarget) []EndpointState {
	t.Helper()
	states, err := db.RegisterEndpoints(context.Background(), targets, now)
	if err != nil {
		t.Fatalf("RegisterEndpoints() = %v", err)
	}
	return states
}

// fanOut fans out and returns how many deliveries were queued.
func fanOut(t *testing.T, db *DB, now time.Time, targets ...EndpointTarget) int {
	t.Helper()
	n, err := db.FanOut(context.Background(), targets, now)
	if err != nil {
		t.Fatalf("FanOut() = %v", err)
	}
	return n
}

// due lists "endpoint/seq" of the deliveries due at now.
func due(t *testing.T, db *DB, endpoints []string, now time.Time) []string {
	t.Helper()
	pds, err := db.DueDeliveries(context.Background(), endpoints, now, 100, nil)
	if err != nil {
		t.Fatalf("DueDeliveries() = %v", err)
	}
	got := []string{}
	for _, pd := range pds {
		got = append(got, pd.Endpoint+"/"+pd.EventID[:8]+"/"+pd.Resource)
	}
	return got
}

// dueSeqs lists the seqs due at now for one endpoint.
func dueSeqs(t *testing.T, db *DB, endpoint string, now time.Time) []int64 {
	t.Helper()
	pds, err := db.DueDeliveries(context.Background(), []string{endpoint}, now, 100, nil)
	if err != nil {
		t.Fatalf("DueDeliveries() = %v", err)
	}
	got := []int64{}
	for _, pd := range pds {
		got = append(got, pd.Seq)
	}
	return got
}

func record(t *testing.T, db *DB, recs ...AttemptRecord) {
	t.Helper()
	if err := db.RecordAttempts(context.Background(), recs); err != nil {
		t.Fatalf("RecordAttempts() = %v", err)
	}
}

func TestNewEndpointStartsAtNewestEvent(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	old := addEvents(t, db, [3]string{"appointment.created", "a1", ""})
	states := register(t, db, t0, EndpointTarget{Name: "crm", Fingerprint: "url1",
		Types: allTypes})
	if got, want := states[0].LastSeq, old[0]; got != want {
		t.Errorf("new endpoint cursor = %d; want %d (the newest event)", got, want)
	}
	if n := fanOut(t, db, t0, EndpointTarget{Name: "crm", Types: allTypes}); n != 0 {
		t.Errorf("FanOut() right after registering queued %d; want 0 (no history)", n)
	}

	newer := addEvents(t, db, [3]string{"appointment.canceled", "a1", ""},
		[3]string{"order.paid", "o1", "paid:100"})
	targets := []EndpointTarget{
		{Name: "crm", Types: allTypes},
		{Name: "appts", Types: appointmentTypes},
		{Name: "unregistered", Types: allTypes},
	}
	register(t, db, t0, targets[1])
	addEvents(t, db, [3]string{"appointment.completed", "a2", ""})
	if got, want := fanOut(t, db, t0, targets...), 3+1+0; got != want {
		t.Errorf("FanOut() queued %d; want %d", got, want)
	}
	if got := fanOut(t, db, t0, targets...); got != 0 {
		t.Errorf("second FanOut() queued %d; want 0", got)
	}
	want := []int64{newer[0], newer[1], newer[1] + 1}
	if got := dueSeqs(t, db, "crm", t0); !cmp.Equal(got, want) {
		t.Errorf("crm due = %v; want %v", got, want)
	}
	if got, want := dueSeqs(t, db, "appts", t0), []int64{newer[1] + 1}; !cmp.Equal(got, want) {
		t.Errorf("appts due = %v; want %v (registered after the first two)", got, want)
	}
}

func TestFanOutSkipsTestEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	crm := EndpointTarget{Name: "crm", Fingerprint: "u", Types: allTypes}
	register(t, db, t0, crm, EndpointTarget{Name: "other", Types: allTypes})
	sample, err := event.Sample(event.OrderPaid, t0)
	if err != nil {
		t.Fatalf("Sample() = %v", err)
	}
	hold := t0.Add(time.Minute)
	pds, err := db.InsertTestEvent(ctx, sample, []string{"crm"}, hold, t0)
	if err != nil {
		t.Fatalf("InsertTestEvent() = %v", err)
	}
	if len(pds) != 1 || pds[0].Endpoint != "crm" || pds[0].EventID != sample.ID ||
		!pds[0].Test {
		t.Fatalf("InsertTestEvent() = %+v; want one test delivery to crm", pds)
	}
	stored, err := db.Event(ctx, sample.ID)
	if err != nil {
		t.Fatalf("Event(sample) = %v", err)
	}
	if string(pds[0].Body) != string(stored.Body) {
		t.Errorf("test delivery body differs from the stored body")
	}
	if n := fanOut(t, db, t0, crm, EndpointTarget{Name: "other", Types: allTypes}); n != 0 {
		t.Errorf("FanOut() queued %d; want 0 (test events go where the trigger says)", n)
	}
	if got := dueSeqs(t, db, "crm", t0); len(got) != 0 {
		t.Errorf("test delivery due before its hold: %v", got)
	}
	if got := dueSeqs(t, db, "crm", hold); len(got) != 1 {
		t.Errorf("test delivery due at hold = %v; want it", got)
	}
	if _, err := db.InsertTestEvent(ctx, sample, []string{"crm"}, hold, t0); !errors.Is(err,
		ErrInvalidEvent) {
		t.Errorf("InsertTestEvent(same id) = %v; want ErrInvalidEvent", err)
	}
	real := sample
	real.ID, real.Test = "evt_real", false
	if _, err := db.InsertTestEvent(ctx, real, nil, hold, t0); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("InsertTestEvent(not a test) = %v; want ErrInvalidEvent", err)
	}
}

func TestDueDeliveriesKeepResourceOrder(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	crm := EndpointTarget{Name: "crm", Types: allTypes}
	register(t, db, t0, crm)
	seqs := addEvents(t, db,
		[3]string{"appointment.created", "a1", ""},
		[3]string{"appointment.created", "a2", ""},
		[3]string{"appointment.rescheduled", "a1", "slot2"},
		[3]string{"order.paid", "a1", "paid:1"}, // another kind: another resource
		[3]string{"appointment.canceled", "a1", ""},
	)
	fanOut(t, db, t0, crm)
	a1, a2, a1b, o1, a1c := seqs[0], seqs[1], seqs[2], seqs[3], seqs[4]
	if got, want := dueSeqs(t, db, "crm", t0), []int64{a1, a2, o1}; !cmp.Equal(got, want) {
		t.Fatalf("due = %v; want %v (heads of each resource)", got, want)
	}

	// a1 fails and waits: a1's later events still wait behind it.
	record(t, db, AttemptRecord{Endpoint: "crm", Seq: a1, N: 1, At: t0, Status: 500,
		Error: "HTTP 500", State: DeliveryPending, NextAttemptAt: t0.Add(5 * time.Second),
		FirstAttemptAt: t0})
	if got, want := dueSeqs(t, db, "crm", t0), []int64{a2, o1}; !cmp.Equal(got, want) {
		t.Errorf("due while a1 waits = %v; want %v", got, want)
	}
	next, err := db.NextDeliveryDue(context.Background(), []string{"crm"}, t0)
	if err != nil || !next.Equal(t0.Add(5*time.Second)) {
		t.Errorf("NextDeliveryDue() = %v, %v; want %v", next, err, t0.Add(5*time.Second))
	}

	// Delivered: the next event of a1 comes up; a failed one unblocks too.
	record(t, db, AttemptRecord{Endpoint: "crm", Seq: a1, N: 2, At: t0.Add(5 * time.Second),
		Status: 204, State: DeliveryDelivered, FirstAttemptAt: t0})
	later := t0.Add(10 * time.Second)
	if got, want := dueSeqs(t, db, "crm", later), []int64{a2, a1b, o1}; !cmp.Equal(got, want) {
		t.Errorf("due after a1 delivered = %v; want %v", got, want)
	}
	record(t, db, AttemptRecord{Endpoint: "crm", Seq: a1b, N: 1, At: later,
		Error: "gave up", State: DeliveryFailed, FirstAttemptAt: later})
	if got, want := dueSeqs(t, db, "crm", later), []int64{a2, o1, a1c}; !cmp.Equal(got, want) {
		t.Errorf("due after a1b failed = %v; want %v", got, want)
	}
}

func TestRecordAttemptsKeepsHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	crm := EndpointTarget{Name: "crm", Types: allTypes}
	register(t, db, t0, crm)
	seqs := addEvents(t, db, [3]string{"order.paid", "o1", "paid:1"})
	fanOut(t, db, t0, crm)
	first := AttemptRecord{Endpoint: "crm", Seq: seqs[0], N: 1, At: t0, Status: 503,
		Latency: 120 * time.Millisecond, Error: "HTTP 503: busy", State: DeliveryPending,
		NextAttemptAt: t0.Add(time.Minute), FirstAttemptAt: t0}
	second := AttemptRecord{Endpoint: "crm", Seq: seqs[0], N: 2, At: t0.Add(time.Minute),
		Status: 200, Latency: 30 * time.Millisecond, State: DeliveryDelivered,
		FirstAttemptAt: t0.Add(time.Minute)}
	record(t, db, first)
	record(t, db, second, first) // an older attempt recorded again changes nothing

	ed, err := db.EventDeliveries(ctx, event.ID("s1", event.OrderPaid, "o1", "paid:1"))
	if err != nil {
		t.Fatalf("EventDeliveries() = %v", err)
	}
	want := []Delivery{{Endpoint: "crm", Seq: seqs[0], State: DeliveryDelivered,
		Attempts: 2, LastStatus: 200, DeliveredAt: t0.Add(time.Minute), QueuedAt: t0,
		FirstAttemptAt: t0}}
	if diff := cmp.Diff(want, ed.Deliveries); diff != "" {
		t.Errorf("EventDeliveries() mismatch (-want +got):\n%s", diff)
	}
	attempts, err := db.DeliveryAttempts(ctx, "crm", seqs[0])
	if err != nil {
		t.Fatalf("DeliveryAttempts() = %v", err)
	}
	wantAttempts := []Attempt{
		{N: 1, At: t0, Status: 503, Latency: 120 * time.Millisecond, Error: "HTTP 503: busy"},
		{N: 2, At: t0.Add(time.Minute), Status: 200, Latency: 30 * time.Millisecond},
	}
	if diff := cmp.Diff(wantAttempts, attempts); diff != "" {
		t.Errorf("DeliveryAttempts() mismatch (-want +got):\n%s", diff)
	}
}

func TestDisableHoldsAndTargetChangeReleases(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	crm := EndpointTarget{Name: "crm", Fingerprint: "https://old", Types: allTypes}
	register(t, db, t0, crm)
	seqs := addEvents(t, db, [3]string{"order.paid", "o1", "paid:1"},
		[3]string{"order.paid", "o2", "paid:1"})
	fanOut(t, db, t0, crm)

	held, err := db.DisableEndpoint(ctx, "crm", "410 Gone", t0)
	if err != nil || held != 2 {
		t.Fatalf("DisableEndpoint() = %d, %v; want 2 held", held, err)
	}
	// An attempt in flight when the endpoint was disabled stays held.
	record(t, db, AttemptRecord{Endpoint: "crm", Seq: seqs[0], N: 1, At: t0, Status: 410,
		State: DeliveryPending, NextAttemptAt: t0, FirstAttemptAt: t0})
	if got := dueSeqs(t, db, "crm", t0); len(got) != 0 {
		t.Errorf("due while disabled = %v; want none", got)
	}
	states := register(t, db, t0, crm)
	if !states[0].Disabled() || states[0].DisabledReason != "410 Gone" {
		t.Errorf("same target registered again: state %+v; want still disabled", states[0])
	}

	later := t0.Add(time.Hour)
	moved := crm
	moved.Fingerprint = "https://new"
	states = register(t, db, later, moved)
	if states[0].Disabled() {
		t.Errorf("changed target: state %+v; want enabled", states[0])
	}
	if got, want := dueSeqs(t, db, "crm", later), seqs; !cmp.Equal(got, want) {
		t.Errorf("due after target change = %v; want %v", got, want)
	}
	if _, err := db.DisableEndpoint(ctx, "nobody", "x", t0); !errors.Is(err, ErrNotFound) {
		t.Errorf("DisableEndpoint(unknown) = %v; want ErrNotFound", err)
	}
}

func TestEnableEndpointReleasesWithFreshWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	crm := EndpointTarget{Name: "crm", Types: allTypes}
	register(t, db, t0, crm)
	seqs := addEvents(t, db, [3]string{"order.paid", "o1", "paid:1"})
	fanOut(t, db, t0, crm)
	record(t, db, AttemptRecord{Endpoint: "crm", Seq: seqs[0], N: 1, At: t0, Status: 500,
		State: DeliveryPending, NextAttemptAt: t0.Add(time.Hour), FirstAttemptAt: t0})
	if _, err := db.DisableEndpoint(ctx, "crm", "410 Gone", t0); err != nil {
		t.Fatalf("DisableEndpoint() = %v", err)
	}
	later := t0.Add(24 * time.Hour)
	released, err := db.EnableEndpoint(ctx, "crm", later)
	if err != nil || released != 1 {
		t.Fatalf("EnableEndpoint() = %d, %v; want 1", released, err)
	}
	pds, err := db.DueDeliveries(ctx, []string{"crm"}, later, 10, nil)
	if err != nil || len(pds) != 1 {
		t.Fatalf("DueDeliveries() = %v, %v; want one", pds, err)
	}
	if pds[0].Attempts != 1 || !pds[0].FirstAttemptAt.IsZero() {
		t.Errorf("released delivery: attempts %d, first attempt %v; want 1 and a fresh window",
			pds[0].Attempts, pds[0].FirstAttemptAt)
	}
	if _, err := db.EnableEndpoint(ctx, "nobody", later); !errors.Is(err, ErrNotFound) {
		t.Errorf("EnableEndpoint(unknown) = %v; want ErrNotFound", err)
	}
}

func TestResend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	crm := EndpointTarget{Name: "crm", Types: allTypes}
	appts := EndpointTarget{Name: "appts", Types: appointmentTypes}
	register(t, db, t0, crm)
	seqs := addEvents(t, db, [3]string{"order.paid", "o1", "paid:1"},
		[3]string{"appointment.created", "a1", ""})
	fanOut(t, db, t0, crm)
	register(t, db, t0, appts) // came later: has none of the two
	record(t, db,
		AttemptRecord{Endpoint: "crm", Seq: seqs[0], N: 1, At: t0, Status: 204,
			State: DeliveryDelivered, FirstAttemptAt: t0},
		AttemptRecord{Endpoint: "crm", Seq: seqs[1], N: 9, At: t0, Status: 500,
			State: DeliveryFailed, FirstAttemptAt: t0.Add(-72 * time.Hour)})

	later := t0.Add(time.Hour)
	ids := []string{event.ID("s1", event.OrderPaid, "o1", "paid:1"),
		event.ID("s1", event.AppointmentCreated, "a1", "")}
	n, err := db.Resend(ctx, ids, []EndpointTarget{crm, appts}, later)
	if err != nil || n != 3 {
		t.Fatalf("Resend() = %d, %v; want 3 (two for crm, the appointment for appts)", n, err)
	}
	if got, want := due(t, db, []string{"crm", "appts"}, later), []string{
		"crm/" + ids[0][:8] + "/s1/order/o1",
		"appts/" + ids[1][:8] + "/s1/appointment/a1",
		"crm/" + ids[1][:8] + "/s1/appointment/a1",
	}; !cmp.Equal(got, want) {
		t.Errorf("due after Resend() = %v; want %v", got, want)
	}

	_, err = db.Resend(ctx, []string{ids[0], "evt_nope"}, []EndpointTarget{crm}, later)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Resend(unknown id) = %v; want ErrNotFound", err)
	}
}

func TestResendFailedSince(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	crm := EndpointTarget{Name: "crm", Types: allTypes}
	register(t, db, t0, crm)
	seqs := addEvents(t, db, [3]string{"order.paid", "o1", "paid:1"},
		[3]string{"order.paid", "o2", "paid:1"})
	fanOut(t, db, t0, crm)
	for _, seq := range seqs {
		record(t, db, AttemptRecord{Endpoint: "crm", Seq: seq, N: 9, At: t0, Status: 500,
			State: DeliveryFailed, FirstAttemptAt: t0})
	}
	failed, err := db.RecentEvents(ctx, RecentFilter{State: DeliveryFailed})
	if err != nil || len(failed) != 2 || failed[0].Event.Seq != seqs[1] {
		t.Fatalf("RecentEvents(failed) = %+v, %v; want both, newest first", failed, err)
	}

	if n, err := db.ResendFailed(ctx, t0.Add(time.Second), "", t0); err != nil || n != 0 {
		t.Errorf("ResendFailed(since after them) = %d, %v; want 0", n, err)
	}
	if n, err := db.ResendFailed(ctx, t0, "other", t0); err != nil || n != 0 {
		t.Errorf("ResendFailed(other endpoint) = %d, %v; want 0", n, err)
	}
	if n, err := db.ResendFailed(ctx, t0, "crm", t0); err != nil || n != 2 {
		t.Errorf("ResendFailed(crm) = %d, %v; want 2", n, err)
	}
	if got := dueSeqs(t, db, "crm", t0); !cmp.Equal(got, seqs) {
		t.Errorf("due after ResendFailed = %v; want %v", got, seqs)
	}
	failed, err = db.RecentEvents(ctx, RecentFilter{State: DeliveryFailed})
	if err != nil || len(failed) != 0 {
		t.Errorf("RecentEvents(failed) after resend = %v, %v; want none", failed, err)
	}
}

func TestDeliveryBacklog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	crm := EndpointTarget{Name: "crm", Types: allTypes}
	gone := EndpointTarget{Name: "gone", Types: allTypes}
	register(t, db, t0, crm, gone)
	addEvents(t, db, [3]string{"order.paid", "o1", "paid:1"})
	fanOut(t, db, t0, crm, gone)
	addEvents(t, db, [3]string{"order.paid", "o2", "paid:1"})
	fanOut(t, db, t0.Add(time.Minute), crm)

	tests := []struct {
		name      string
		endpoints []string
		want      Backlog
	}{
		{name: "all", want: Backlog{Pending: 3, Oldest: t0}},
		{name: "crm", endpoints: []string{"crm"}, want: Backlog{Pending: 2, Oldest: t0}},
		{name: "none known", endpoints: []string{"new"}, want: Backlog{}},
	}
	for _, tt := range tests {
		got, err := db.DeliveryBacklog(ctx, tt.endpoints)
		if err != nil {
			t.Fatalf("DeliveryBacklog(%v) = %v", tt.endpoints, err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("DeliveryBacklog(%s) mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
	states, err := db.EndpointStates(ctx)
	if err != nil || len(states) != 2 || states[0].Name != "crm" {
		t.Errorf("EndpointStates() = %+v, %v; want crm and gone", states, err)
	}
}
