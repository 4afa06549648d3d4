package store

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
)

func factEvent(t *testing.T, typ event.Type, id string, object map[string]any) event.Event {
	t.Helper()
	raw, err := json.Marshal(object)
	if err != nil {
		t.Fatal(err)
	}
	return event.Event{ID: event.ID("s1", typ, id, ""), Type: typ, StoreID: "s1", CustomerID: "c1",
		ResourceID: id, Source: event.SourceWebhook, Data: event.Data{Object: raw}}
}

func TestWebhookFactsKeepTheSweepHonest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	addCustomer(t, db, "s1", "c1")
	end := t0.Add(time.Hour)
	apply(t, db, "s1", "c1", snapshot(t, "s1", "c1", []appt{
		booked("canceled", end), booked("moved", end), booked("kept", end),
	}, nil), t0)

	// What webhook mode learns without polling.
	if err := db.ApplyWebhookFacts(ctx, factEvent(t, event.AppointmentCanceled, "canceled",
		map[string]any{"id": "canceled"})); err != nil {
		t.Fatal(err)
	}
	newEnd := end.Add(24 * time.Hour)
	moved := map[string]any{"id": "moved", "from": newEnd.Add(-time.Hour), "to": newEnd,
		"updatedAt": t0.Add(10 * time.Minute)}
	if err := db.ApplyWebhookFacts(ctx, factEvent(t, event.AppointmentRescheduled, "moved", moved)); err != nil {
		t.Fatal(err)
	}

	res, err := db.SweepCompletions(ctx, "s1", end.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(res.Events); len(got) != 1 || got[0] != "appointment.completed kept" {
		t.Errorf("sweep at the old end = %v; want only the appointment no webhook changed", got)
	}
	res, err = db.SweepCompletions(ctx, "s1", newEnd.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got := kinds(res.Events); len(got) != 1 || got[0] != "appointment.completed moved" {
		t.Errorf("sweep at the new end = %v; want the moved appointment", got)
	}
	if !res.Events[0].OccurredAt.Equal(newEnd) {
		t.Errorf("completion occurred at %v; want the new end %v", res.Events[0].OccurredAt, newEnd)
	}
}

// TestPollClearsWebhookFacts: the polled columns keep the last poll's view,
// so polling still derives the canceled event (a confirmation in the
// outbox), and its write replaces the webhook's note.
func TestPollClearsWebhookFacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	addCustomer(t, db, "s1", "c1")
	end := t0.Add(time.Hour)
	a := booked("a1", end)
	apply(t, db, "s1", "c1", snapshot(t, "s1", "c1", []appt{a}, nil), t0)
	if err := db.ApplyWebhookFacts(ctx, factEvent(t, event.AppointmentCanceled, "a1",
		map[string]any{"id": "a1"})); err != nil {
		t.Fatal(err)
	}

	a.status, a.updated = "canceled", t0.Add(time.Minute)
	res := apply(t, db, "s1", "c1", snapshot(t, "s1", "c1", []appt{a}, nil), t0.Add(2*time.Minute))
	if got := kinds(res.Events); len(got) != 1 || got[0] != "appointment.canceled a1" {
		t.Errorf("poll after the webhook = %v; want the canceled event derived again", got)
	}
	if n := count(t, db, `SELECT count(*) FROM appointments WHERE webhook_canceled = 1`); n != 0 {
		t.Errorf("webhook notes left after the poll = %d; want 0", n)
	}
}

func TestWebhookFactsRejectAMoveWithoutSlot(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	err := db.ApplyWebhookFacts(context.Background(),
		factEvent(t, event.AppointmentRescheduled, "a1", map[string]any{"id": "a1"}))
	if !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("ApplyWebhookFacts(no slot) = %v; want ErrInvalidEvent", err)
	}
}
