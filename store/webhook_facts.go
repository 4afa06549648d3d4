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
	//go:embed sql/webhook_complete_appointment.sql
	sqlWebhookCompleteAppointment string
	//go:embed sql/webhook_move_appointment.sql
	sqlWebhookMoveAppointment string
)

// ApplyWebhookFacts brings a stored appointment in line with what a webhook
// reported: canceled, completed, or moved to a new slot. In webhook mode no
// poll keeps the snapshots current, and without this the completion sweep
// would complete an appointment canceled since the last poll, or at its old
// end time. It derives no event (the webhook's own is in the outbox) and
// touches nothing else; an appointment never polled, or any other type, is
// left alone.
func (db *DB) ApplyWebhookFacts(ctx context.Context, ev event.Event) error {
	query, args, err := webhookFact(ev)
	if err != nil || query == "" {
		return err
	}
	if _, err := db.w.ExecContext(ctx, oneStatement(query), args...); err != nil {
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
	case event.AppointmentCompleted:
		return sqlWebhookCompleteAppointment, key, nil
	case event.AppointmentRescheduled:
		var slot struct {
			From      time.Time `json:"from"`
			To        time.Time `json:"to"`
			UpdatedAt time.Time `json:"updatedAt"`
		}
		if err := json.Unmarshal(ev.Data.Object, &slot); err != nil || slot.To.IsZero() {
			return "", nil, fmt.Errorf("reading the new slot of appointment %s: %w", ev.ResourceID,
				ErrInvalidEvent)
		}
		updated := slot.UpdatedAt
		if updated.IsZero() {
			updated = ev.OccurredAt
		}
		return sqlWebhookMoveAppointment, append(key, slot.From.UnixMilli(), slot.To.UnixMilli(),
			updated.UnixMilli()), nil
	}
	return "", nil, nil
}
