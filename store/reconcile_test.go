package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencals-sync/opencals-sync/event"
)

// seen inserts an event as source saw it at the given time.
func seen(t *testing.T, db *DB, ev event.Event, source event.Source, at time.Time) {
	t.Helper()
	ev.Source, ev.CreatedAt = source, at
	if _, err := db.InsertEvents(context.Background(), []event.Event{ev}); err != nil {
		t.Fatalf("InsertEvents(%s from %s) = %v", ev.ID, source, err)
	}
}

func TestReconcileCounts(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	created := func(id string) event.Event {
		return webhookEvent("s1", event.AppointmentCreated, id)
	}
	paid := webhookEvent("s1", event.OrderPaid, "o1")
	from, to := t0.Add(-24*time.Hour), t0.Add(time.Hour)

	// Before the store's first webhook nothing counts, whatever the window.
	seen(t, db, created("before"), event.SourcePoll, t0.Add(-time.Hour))
	seen(t, db, created("first"), event.SourceWebhook, t0)
	seen(t, db, created("poll-only"), event.SourcePoll, t0.Add(time.Minute))
	seen(t, db, created("poll-first"), event.SourcePoll, t0.Add(2*time.Minute))
	seen(t, db, created("poll-first"), event.SourceWebhook, t0.Add(3*time.Minute))
	seen(t, db, paid, event.SourceWebhook, t0.Add(4*time.Minute))
	seen(t, db, paid, event.SourcePoll, t0.Add(5*time.Minute))
	// Past the end of the range: still within the grace period.
	seen(t, db, created("late"), event.SourcePoll, to)
	// Test events (trigger's samples) never count.
	sample := created("sample")
	sample.Test = true
	seen(t, db, sample, event.SourcePoll, t0.Add(6*time.Minute))
	// A store that never got a webhook has nothing to reconcile.
	seen(t, db, webhookEvent("s2", event.AppointmentCreated, "a9"), event.SourcePoll,
		t0.Add(time.Minute))

	got, err := db.ReconcileCounts(context.Background(), from, to)
	if err != nil {
		t.Fatalf("ReconcileCounts() = %v", err)
	}
	want := []ReconcileCount{
		{StoreID: "s1", Type: event.AppointmentCreated, PollOnly: 1, WebhookOnly: 1, Matched: 1},
		{StoreID: "s1", Type: event.OrderPaid, Matched: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReconcileCounts() mismatch (-want +got):\n%s", diff)
	}

	// A range that starts after the first webhook starts where it says.
	got, err = db.ReconcileCounts(context.Background(), t0.Add(90*time.Second), to)
	if err != nil {
		t.Fatalf("ReconcileCounts() = %v", err)
	}
	want = []ReconcileCount{
		{StoreID: "s1", Type: event.AppointmentCreated, Matched: 1},
		{StoreID: "s1", Type: event.OrderPaid, Matched: 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReconcileCounts(later start) mismatch (-want +got):\n%s", diff)
	}
}

func TestReconcileCountsUsesItsIndexes(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	rows, err := db.r.Query("EXPLAIN QUERY PLAN "+sqlReconcileCounts, 0, t0.UnixMilli())
	if err != nil {
		t.Fatalf("EXPLAIN QUERY PLAN = %v", err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"COVERING INDEX events_first_webhook",
		"COVERING INDEX events_by_created (store_id=? AND created_at>? AND created_at<?)",
	} {
		if !strings.Contains(plan.String(), want) {
			t.Errorf("plan of reconcile_counts.sql =\n%s; want it to contain %q", plan.String(), want)
		}
	}
}
