package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencals-sync/opencals-sync/diff"
	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
)

// booked is a scheduled appointment of an hour ending at end.
func booked(id string, end time.Time) appt {
	return appt{id: id, status: opencals.AppointmentScheduled, from: end.Add(-time.Hour), to: end,
		updated: t0.Add(-time.Hour)}
}

// snapshot builds a complete listing of appointments and orders.
func snapshot(t testing.TB, storeID, customerID string, as []appt, os []ord) diff.Snapshot {
	t.Helper()
	snap := diff.Snapshot{Complete: true}
	for _, a := range as {
		snap.Appointments = append(snap.Appointments, appointmentItem(t, storeID, customerID, a))
	}
	for _, o := range os {
		snap.Orders = append(snap.Orders, orderItem(t, storeID, customerID, o))
	}
	return snap
}

// apply applies a snapshot and fails the test on error.
func apply(t testing.TB, db *DB, storeID, customerID string, snap diff.Snapshot,
	now time.Time,
) ApplyResult {
	t.Helper()
	res, err := db.Apply(context.Background(), storeID, customerID, snap, now)
	if err != nil {
		t.Fatalf("Apply(%s, %s, at %v) = %v", storeID, customerID, now, err)
	}
	return res
}

// kinds lists events as "type resource", sorted.
func kinds(evs []event.Event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, string(e.Type)+" "+e.ResourceID)
	}
	slices.Sort(out)
	return out
}

// assertOutbox checks that the outbox holds exactly want, in order, with
// the bodies json.Marshal gives.
func assertOutbox(t *testing.T, db *DB, storeID string, want []event.Event) {
	t.Helper()
	got, err := db.ListEvents(context.Background(), EventFilter{StoreID: storeID, Limit: 1000})
	if err != nil {
		t.Fatalf("ListEvents() = %v", err)
	}
	if diff := cmp.Diff(eventIDs(want), eventIDs(got)); diff != "" {
		t.Fatalf("outbox of %s mismatch (-want +got):\n%s", storeID, diff)
	}
	for i, ev := range want {
		body, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if string(got[i].Body) != string(body) {
			t.Errorf("outbox body of %s = %s; want %s", ev.ID, got[i].Body, body)
		}
		if strings.Contains(string(got[i].Body), "LEAKS") {
			t.Errorf("outbox body of %s carries a credential: %s", ev.ID, got[i].Body)
		}
	}
}

func TestApplyBaselineThenChanges(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	addCustomer(t, db, "s1", "c1")
	a1 := booked("a1", t0.Add(96*time.Hour))
	o1 := ord{id: "o1", payment: opencals.PaymentUnpaid, updated: t0.Add(-time.Hour)}

	// First sight: stored, nothing emitted.
	res := apply(t, db, "s1", "c1", snapshot(t, "s1", "c1", []appt{a1}, []ord{o1}), t0)
	if !res.Baseline || len(res.Events) != 0 {
		t.Errorf("Apply(first sight) = baseline %v, %d events; want baseline, none",
			res.Baseline, len(res.Events))
	}
	if n := count(t, db, `SELECT count(*) FROM appointments`) +
		count(t, db, `SELECT count(*) FROM orders`); n != 2 {
		t.Errorf("stored records after baseline = %d; want 2", n)
	}
	if n := count(t, db, `SELECT count(*) FROM appointments WHERE body LIKE '%LEAKS%'
		UNION ALL SELECT count(*) FROM orders WHERE body LIKE '%LEAKS%'`); n != 0 {
		t.Errorf("stored bodies carrying a credential = %d; want 0", n)
	}
	c, err := db.GetCustomer(context.Background(), "s1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !c.BaselinedAt.Equal(t0) || !c.NextBoundaryAt.Equal(a1.from) || !c.LastChangeAt.IsZero() {
		t.Errorf("customer after baseline: baselined %v, next boundary %v, last change %v;"+
			" want %v, %v, never", c.BaselinedAt, c.NextBoundaryAt, c.LastChangeAt, t0, a1.from)
	}

	// A reschedule, a new booking and a payment.
	now := t0.Add(time.Hour)
	a1.from, a1.to, a1.updated = a1.from.Add(time.Hour), a1.to.Add(time.Hour), now
	a2 := booked("a2", t0.Add(48*time.Hour))
	o1.payment, o1.paid, o1.updated = opencals.PaymentPaid, 4500, now
	snap := snapshot(t, "s1", "c1", []appt{a1, a2}, []ord{o1})
	res = apply(t, db, "s1", "c1", snap, now)
	want := []string{"appointment.created a2", "appointment.rescheduled a1", "order.paid o1"}
	if diff := cmp.Diff(want, kinds(res.Events)); diff != "" {
		t.Errorf("Apply(changes) events mismatch (-want +got):\n%s", diff)
	}
	assertOutbox(t, db, "s1", res.Events)
	if n := count(t, db, `SELECT count(*) FROM appointments WHERE id = 'a1' AND from_ms = ?`,
		a1.from.UnixMilli()); n != 1 {
		t.Errorf("stored a1 with the new slot = %d rows; want 1", n)
	}
	c, err = db.GetCustomer(context.Background(), "s1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !c.LastChangeAt.Equal(now) || !c.NextBoundaryAt.Equal(a2.from) {
		t.Errorf("customer after changes: last change %v, next boundary %v; want %v, %v",
			c.LastChangeAt, c.NextBoundaryAt, now, a2.from)
	}

	// The same snapshot again: no event, nothing new in the outbox.
	again := apply(t, db, "s1", "c1", snap, now.Add(time.Hour))
	if len(again.Events) != 0 {
		t.Errorf("Apply(same snapshot again) = %v; want no events", kinds(again.Events))
	}
	assertOutbox(t, db, "s1", res.Events)
	c, err = db.GetCustomer(context.Background(), "s1", "c1")
	if err != nil || !c.LastChangeAt.Equal(now) || !c.UpdatedAt.Equal(now) {
		t.Errorf("customer last change, update after a no-op = %v, %v, %v; want %v, %v",
			c.LastChangeAt, c.UpdatedAt, err, now, now)
	}
}

func TestApplyOutboxIsFinalWordOnDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	addCustomer(t, db, "s1", "c1")
	apply(t, db, "s1", "c1", snapshot(t, "s1", "c1", nil, nil), t0)

	// A real webhook told us about a2 first.
	hook := webhookEvent("s1", event.AppointmentCreated, "a2")
	if _, err := db.InsertEvents(ctx, []event.Event{hook}); err != nil {
		t.Fatal(err)
	}
	a2 := booked("a2", t0.Add(48*time.Hour))
	res := apply(t, db, "s1", "c1", snapshot(t, "s1", "c1", []appt{a2}, nil), t0.Add(time.Minute))
	if len(res.Events) != 0 {
		t.Errorf("Apply(booking the webhook reported) = %v; want no new event", kinds(res.Events))
	}
	stored, err := db.Event(ctx, hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Source != event.SourceWebhook || stored.ConfirmedBy != event.SourcePoll {
		t.Errorf("Event() source, confirmed by = %s, %s; want webhook, poll",
			stored.Source, stored.ConfirmedBy)
	}
	n := count(t, db, `SELECT count(*) FROM appointments WHERE id = 'a2' AND created = 1`)
	if n != 1 {
		t.Errorf("a2 recorded as created = %d rows; want 1", n)
	}
}

func TestApplyWritesNothingOnError(t *testing.T) {
	t.Parallel()
	a1 := booked("a1", t0.Add(96*time.Hour))
	a2 := booked("a2", t0.Add(48*time.Hour))
	for _, tc := range []struct {
		name     string
		customer string
		setup    func(t *testing.T, db *DB)
		snap     func(t *testing.T) diff.Snapshot
		wantErr  error
	}{
		{
			name:     "diff rejects the snapshot",
			customer: "c1",
			snap: func(t *testing.T) diff.Snapshot {
				snap := snapshot(t, "s1", "c1", []appt{a1, a2}, nil)
				snap.Appointments[1].ID = ""
				return snap
			},
			wantErr: diff.ErrInvalidSnapshot,
		},
		{
			name:     "outbox insert fails after the records were written",
			customer: "c1",
			setup: func(t *testing.T, db *DB) {
				_, err := db.w.Exec(`CREATE TRIGGER refuse_events BEFORE INSERT ON events
					BEGIN SELECT RAISE(ABORT, 'outbox refused'); END`)
				if err != nil {
					t.Fatal(err)
				}
			},
			snap: func(t *testing.T) diff.Snapshot {
				return snapshot(t, "s1", "c1", []appt{a1, a2}, nil)
			},
		},
		{
			name:     "unknown customer",
			customer: "nobody",
			snap: func(t *testing.T) diff.Snapshot {
				return snapshot(t, "s1", "nobody", []appt{a1, a2}, nil)
			},
			wantErr: ErrNotFound,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openTest(t, Options{})
			addCustomer(t, db, "s1", "c1")
			apply(t, db, "s1", "c1", snapshot(t, "s1", "c1", []appt{a1}, nil), t0)
			if tc.setup != nil {
				tc.setup(t, db)
			}
			before, err := readCrashState(ctx, db)
			if err != nil {
				t.Fatal(err)
			}

			_, err = db.Apply(ctx, "s1", tc.customer, tc.snap(t), t0.Add(time.Hour))
			if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Errorf("Apply() = %v; want an error wrapping %v", err, tc.wantErr)
			}
			after, err := readCrashState(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if !sameCrashState(before, after) {
				t.Errorf("Apply() failed but changed the database")
			}
		})
	}
}

func TestApplyIsolatesStores(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	a1 := booked("a1", t0.Add(96*time.Hour))
	a2 := booked("a2", t0.Add(48*time.Hour))
	for _, s := range []string{"s1", "s2"} {
		addCustomer(t, db, s, "c1")
		apply(t, db, s, "c1", snapshot(t, s, "c1", []appt{a1}, nil), t0)
	}

	// The same ids appear in both stores; only s1 books a2 for now.
	r1 := apply(t, db, "s1", "c1", snapshot(t, "s1", "c1", []appt{a1, a2}, nil), t0.Add(time.Hour))
	r2 := apply(t, db, "s2", "c1", snapshot(t, "s2", "c1", []appt{a1}, nil), t0.Add(time.Hour))
	if len(r2.Events) != 0 {
		t.Errorf("Apply(s2 unchanged) = %v; want no events", kinds(r2.Events))
	}
	if n := count(t, db, `SELECT count(*) FROM appointments WHERE store_id = 's2'`); n != 1 {
		t.Errorf("s2 appointments = %d; want 1", n)
	}
	r2 = apply(t, db, "s2", "c1", snapshot(t, "s2", "c1", []appt{a1, a2}, nil), t0.Add(2*time.Hour))

	for _, tc := range []struct {
		store string
		want  []event.Event
	}{
		{store: "s1", want: r1.Events},
		{store: "s2", want: r2.Events},
	} {
		if diff := cmp.Diff([]string{"appointment.created a2"}, kinds(tc.want)); diff != "" {
			t.Errorf("events of %s mismatch (-want +got):\n%s", tc.store, diff)
		}
		assertOutbox(t, db, tc.store, tc.want)
	}
	if r1.Events[0].ID == r2.Events[0].ID {
		t.Errorf("the same booking in two stores got one event id %s; want two", r1.Events[0].ID)
	}
	if err := db.RemoveCustomer(ctx, "s1", "c1"); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM appointments`); n != 2 {
		t.Errorf("appointments after removing s1/c1 = %d; want s2's 2", n)
	}
}

func TestApplyCatchesUpOnCompletions(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	addCustomer(t, db, "s1", "c1")
	long := booked("long-ago", t0.Add(time.Hour))
	recent := booked("recent", t0.Add(20*time.Hour))
	ahead := booked("ahead", t0.Add(30*time.Hour))
	snap := snapshot(t, "s1", "c1", []appt{long, recent, ahead}, nil)
	apply(t, db, "s1", "c1", snap, t0)

	// Down for 26 hours: one end is past the 24-hour window, one inside.
	res := apply(t, db, "s1", "c1", snap, t0.Add(26*time.Hour))
	if diff := cmp.Diff([]string{"appointment.completed recent"}, kinds(res.Events)); diff != "" {
		t.Errorf("Apply(after downtime) events mismatch (-want +got):\n%s", diff)
	}
	if res.LateCompletions != 1 {
		t.Errorf("Apply(after downtime).LateCompletions = %d; want 1", res.LateCompletions)
	}
	if n := count(t, db, `SELECT count(*) FROM appointments WHERE completed = 1`); n != 2 {
		t.Errorf("appointments marked completed = %d; want 2", n)
	}
	assertOutbox(t, db, "s1", res.Events)
}

func TestSweepCompletions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	for _, c := range []string{"c1", "c2", "many"} {
		addCustomer(t, db, "s1", c)
	}
	addCustomer(t, db, "s2", "c1")
	canceled := booked("canceled", t0.Add(2*time.Hour))
	canceled.status = opencals.AppointmentCanceled
	apply(t, db, "s1", "c1", snapshot(t, "s1", "c1", []appt{
		booked("long-ago", t0.Add(time.Hour)), booked("recent", t0.Add(20*time.Hour)),
		booked("ahead", t0.Add(30*time.Hour)), canceled,
	}, nil), t0)
	off := []appt{booked("off", t0.Add(3*time.Hour))}
	apply(t, db, "s1", "c2", snapshot(t, "s1", "c2", off, nil), t0)
	if err := db.SetCustomerState(ctx, "s1", "c2", CustomerDisabled, ""); err != nil {
		t.Fatal(err)
	}
	other := []appt{booked("other", t0.Add(3*time.Hour))}
	apply(t, db, "s2", "c1", snapshot(t, "s2", "c1", other, nil), t0)
	// More than one batch of due appointments for one customer.
	many := make([]appt, sweepBatchSize+20)
	for i := range many {
		many[i] = booked(fmt.Sprintf("m%04d", i), t0.Add(10*time.Hour+time.Duration(i)*time.Second))
	}
	apply(t, db, "s1", "many", snapshot(t, "s1", "many", many, nil), t0)

	now := t0.Add(26 * time.Hour)
	res, err := db.SweepCompletions(ctx, "s1", now)
	if err != nil {
		t.Fatalf("SweepCompletions() = %v", err)
	}
	wantEvents := len(many) + 1 // and "recent"; "long-ago" is past the window
	if len(res.Events) != wantEvents || res.LateCompletions != 1 || res.Completed != wantEvents+1 {
		t.Errorf("SweepCompletions() = %d events, %d late, %d completed; want %d, 1, %d",
			len(res.Events), res.LateCompletions, res.Completed, wantEvents, wantEvents+1)
	}
	for _, ev := range res.Events {
		if ev.Type != event.AppointmentCompleted || ev.StoreID != "s1" {
			t.Errorf("SweepCompletions() emitted %s in %s; want only completions in s1",
				ev.Type, ev.StoreID)
		}
	}
	assertOutbox(t, db, "s1", res.Events)
	assertOutbox(t, db, "s2", nil)
	if n := count(t, db, `SELECT count(*) FROM appointments WHERE completed = 1 AND id IN
		('ahead', 'canceled', 'off', 'other')`); n != 0 {
		t.Errorf("appointments completed that should not be = %d; want 0", n)
	}
	c, err := db.GetCustomer(ctx, "s1", "many")
	if err != nil || !c.LastChangeAt.Equal(now) {
		t.Errorf("customer last change after the sweep = %v, %v; want %v", c.LastChangeAt, err, now)
	}

	again, err := db.SweepCompletions(ctx, "s1", now)
	if err != nil || len(again.Events) != 0 || again.Completed != 0 {
		t.Errorf("SweepCompletions(again) = %d events, %d completed, %v; want none",
			len(again.Events), again.Completed, err)
	}
}

func TestSetPolicy(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	addCustomer(t, db, "s1", "c1")
	db.SetPolicy(Policy{Baseline: diff.BaselineEmit, CatchUp: time.Hour})
	res := apply(t, db, "s1", "c1", snapshot(t, "s1", "c1",
		[]appt{booked("a1", t0.Add(48*time.Hour))}, nil), t0)
	if diff := cmp.Diff([]string{"appointment.created a1"}, kinds(res.Events)); diff != "" {
		t.Errorf("Apply(baseline in emit mode) events mismatch (-want +got):\n%s", diff)
	}
}
