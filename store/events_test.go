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

// webhookEvent builds an event as the receiver would.
func webhookEvent(storeID string, typ event.Type, resourceID string) event.Event {
	return event.Event{
		ID:   event.ID(storeID, typ, resourceID, ""),
		Type: typ, StoreID: storeID, CustomerID: "c1", Source: event.SourceWebhook,
		CreatedAt: t0, OccurredAt: t0.Add(-time.Minute),
		Data: event.Data{Object: json.RawMessage(`{"id":"` + resourceID + `","status":"scheduled"}`)},
	}
}

// eventIDs lists the ids of events.
func eventIDs[E event.Event | StoredEvent](evs []E) []string {
	ids := []string{}
	for _, e := range evs {
		switch e := any(e).(type) {
		case event.Event:
			ids = append(ids, e.ID)
		case StoredEvent:
			ids = append(ids, e.ID)
		}
	}
	return ids
}

func TestInsertEventsDeduplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	a := webhookEvent("s1", event.AppointmentCreated, "a1")
	b := webhookEvent("s1", event.AppointmentCanceled, "a1")

	got, err := db.InsertEvents(ctx, []event.Event{a})
	if err != nil {
		t.Fatalf("InsertEvents(a) = %v", err)
	}
	if diff := cmp.Diff([]string{a.ID}, eventIDs(got)); diff != "" {
		t.Errorf("InsertEvents(a) inserted (-want +got):\n%s", diff)
	}
	got, err = db.InsertEvents(ctx, []event.Event{a, b, b})
	if err != nil {
		t.Fatalf("InsertEvents(a, b, b) = %v", err)
	}
	if diff := cmp.Diff([]string{b.ID}, eventIDs(got)); diff != "" {
		t.Errorf("InsertEvents(a, b, b) inserted (-want +got):\n%s", diff)
	}

	stored, err := db.Event(ctx, a.ID)
	if err != nil {
		t.Fatalf("Event(%s) = %v", a.ID, err)
	}
	wantBody, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	want := StoredEvent{
		Seq: 1, ID: a.ID, Type: a.Type, StoreID: "s1", CustomerID: "c1", ResourceID: "a1",
		Source: event.SourceWebhook, CreatedAt: t0, OccurredAt: t0.Add(-time.Minute),
		Body: wantBody,
	}
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("Event(%s) mismatch (-want +got):\n%s", a.ID, diff)
	}
	last, err := db.Event(ctx, b.ID)
	if err != nil {
		t.Fatalf("Event(%s) = %v", b.ID, err)
	}
	if seq, err := db.MaxEventSeq(ctx); err != nil || seq != last.Seq || seq <= stored.Seq {
		t.Errorf("MaxEventSeq() = %d, %v; want %d (the seq of the last insert), nil", seq, err, last.Seq)
	}
}

func TestInsertEventsRecordsConfirmation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	polled := webhookEvent("s1", event.OrderPaid, "o1")
	polled.Source = event.SourcePoll
	if _, err := db.InsertEvents(ctx, []event.Event{polled}); err != nil {
		t.Fatal(err)
	}
	for _, src := range []event.Source{event.SourcePoll, event.SourceWebhook, event.SourceWebhook} {
		seen := polled
		seen.Source = src
		got, err := db.InsertEvents(ctx, []event.Event{seen})
		if err != nil || len(got) != 0 {
			t.Fatalf("InsertEvents(seen again by %s) = %v, %v; want nothing inserted", src, got, err)
		}
	}
	stored, err := db.Event(ctx, polled.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Source != event.SourcePoll || stored.ConfirmedBy != event.SourceWebhook {
		t.Errorf("Event() source, confirmed by = %s, %s; want poll, webhook",
			stored.Source, stored.ConfirmedBy)
	}
}

func TestInsertEventsRejectsInvalid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	good := webhookEvent("s1", event.AppointmentCreated, "a1")
	for _, tc := range []struct {
		name   string
		modify func(*event.Event)
	}{
		{name: "no id", modify: func(e *event.Event) { e.ID = "" }},
		{name: "no store", modify: func(e *event.Event) { e.StoreID = "" }},
		{name: "unknown type", modify: func(e *event.Event) { e.Type = "appointment.moved" }},
		{name: "object not JSON", modify: func(e *event.Event) { e.Data.Object = json.RawMessage("{") }},
	} {
		bad := good
		bad.ID = "evt_bad"
		tc.modify(&bad)
		_, err := db.InsertEvents(ctx, []event.Event{good, bad})
		if !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("InsertEvents(%s) = %v; want ErrInvalidEvent", tc.name, err)
		}
	}
	if n := count(t, db, `SELECT count(*) FROM events`); n != 0 {
		t.Errorf("events after rejected calls = %d; want 0", n)
	}
}

func TestListEvents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	evs := []event.Event{
		webhookEvent("s1", event.AppointmentCreated, "a1"),
		webhookEvent("s2", event.AppointmentCreated, "a1"),
		webhookEvent("s1", event.OrderPaid, "o1"),
		webhookEvent("s1", event.AppointmentCreated, "a2"),
	}
	for i := range evs {
		evs[i].ResourceID = "" // filled from data.object.id
	}
	if _, err := db.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		filter EventFilter
		want   []string
	}{
		{name: "all", want: eventIDs(evs)},
		{name: "store", filter: EventFilter{StoreID: "s1"},
			want: []string{evs[0].ID, evs[2].ID, evs[3].ID}},
		{name: "type", filter: EventFilter{Type: event.AppointmentCreated},
			want: []string{evs[0].ID, evs[1].ID, evs[3].ID}},
		{name: "after seq", filter: EventFilter{AfterSeq: 2}, want: []string{evs[2].ID, evs[3].ID}},
		{name: "limit", filter: EventFilter{StoreID: "s1", Limit: 1}, want: []string{evs[0].ID}},
		{name: "nothing", filter: EventFilter{AfterSeq: 4}, want: []string{}},
	} {
		got, err := db.ListEvents(ctx, tc.filter)
		if err != nil {
			t.Fatalf("ListEvents(%s) = %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, eventIDs(got)); diff != "" {
			t.Errorf("ListEvents(%s) mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
	got, err := db.Event(ctx, evs[2].ID)
	if err != nil || got.ResourceID != "o1" {
		t.Errorf("Event(order.paid).ResourceID = %q, %v; want o1", got.ResourceID, err)
	}
	if _, err := db.Event(ctx, "evt_nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Event(unknown) = %v; want ErrNotFound", err)
	}
}
