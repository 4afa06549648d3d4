package store

import (
	"context"
	_ "embed" // the queries live in sql/
	"encoding/json"
	"fmt"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
)

var (
	//go:embed sql/webhook_cancel_appointment.sql
	sqlWebhookCancelAppointment string
	//go:embed sql/webhook_move_appointment.sql
	sqlWebhookMoveAppointment string
)

// ApplyWebhookFacts notes on a stored appointment what a webhook reported:
// canceled, or moved to a new end. In webhook mode no poll keeps the
// snapshots current, and without this the completion sweep would complete
// an appointment canceled since the last poll, or at its old end time. The
// note sits beside the polled columns, which keep the last poll's view, so
// that polling, if it resumes, still derives (and confirms) the same events;
// its next write of the appointment clears the note. No event is derived;
// an appointment never polled, or any other type, is left alone.
func (db *DB) ApplyWebhookFacts(ctx context.Context, ev event.Event) error {
	query, args, err := webhookFact(ev)
	if err != nil || query == "" {
		return err
	}
	if _, err := db.execWrite(ctx, oneStatement(query), args...); err != nil {
		return fmt.Errorf("applying webhook %s to appointment %s: %w", ev.Type, ev.ResourceID, err)
	}
	return nil
}

// webhookFact is the statement for one event, or "" when it says nothing
// the sweep needs.
func webhookFact(ev event.Event) (string, []any, error) {
	key := []any{ev.StoreID, ev.CustomerID, ev.ResourceID}
	switch ev.Type {
	case event.AppointmentCanceled:
		return sqlWebhookCancelAppointment, key, nil
	case event.AppointmentRescheduled:
		var slot struct {
			To time.Time `json:"to"`
		}
		if err := json.Unmarshal(ev.Data.Object, &slot); err != nil || slot.To.IsZero() {
			return "", nil, fmt.Errorf("reading the new end of appointment %s: %w", ev.ResourceID,
				ErrInvalidEvent)
		}
		return sqlWebhookMoveAppointment, append(key, slot.To.UnixMilli()), nil
	}
	return "", nil, nil
}
