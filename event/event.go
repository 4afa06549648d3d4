// Package event defines the envelope every handler receives, whether the
// event was synthesized from polling or received from a real Opencals
// webhook, and the deterministic ids that let both sides agree.
package event

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"
)

// Type names one of the six events Opencals has announced.
type Type string

// The six event types.
const (
	AppointmentCreated     Type = "appointment.created"
	AppointmentCanceled    Type = "appointment.canceled"
	AppointmentRescheduled Type = "appointment.rescheduled"
	AppointmentCompleted   Type = "appointment.completed"
	OrderPaid              Type = "order.paid"
	OrderRefunded          Type = "order.refunded"
)

// Types lists every event type, in the order the README documents them.
var Types = []Type{
	AppointmentCreated, OrderPaid, AppointmentCanceled,
	AppointmentRescheduled, AppointmentCompleted, OrderRefunded,
}

// Valid reports whether t is one of the six known types.
func (t Type) Valid() bool {
	for _, known := range Types {
		if t == known {
			return true
		}
	}
	return false
}

// Resource is the kind of object an event is about: "appointment" or
// "order".
func (t Type) Resource() string {
	for i := 0; i < len(t); i++ {
		if t[i] == '.' {
			return string(t[:i])
		}
	}
	return string(t)
}

// Source says how an event was learnt.
type Source string

// The sources of events.
const (
	SourcePoll    Source = "poll"
	SourceWebhook Source = "webhook"
)

// Event is the envelope delivered to handlers. Its JSON form is the wire
// format; field names follow the API's camelCase.
type Event struct {
	ID   string `json:"id"`
	Type Type   `json:"type"`
	// CreatedAt is when opencals-sync first recorded the event.
	CreatedAt time.Time `json:"createdAt"`
	// OccurredAt is the best estimate of when the change happened: the
	// item's updatedAt, the end time for completions, else detection time.
	OccurredAt time.Time `json:"occurredAt"`
	StoreID    string    `json:"storeId"`
	CustomerID string    `json:"customerId"`
	Source     Source    `json:"source"`
	// Test marks sample events sent by `opencals-sync trigger`.
	Test bool `json:"test,omitempty"`
	Data Data `json:"data"`

	// ResourceID is the id of the appointment or order the event is about.
	// It is not part of the wire format (data.object.id carries it); the
	// dispatcher orders deliveries by it.
	ResourceID string `json:"-"`
}

// Data carries the object an event is about.
type Data struct {
	// Object is the item as the API returned it, credentials removed.
	Object json.RawMessage `json:"object"`
	// Previous holds the old values of the fields that changed, keyed by
	// their API names. Absent when nothing was known before.
	Previous map[string]any `json:"previous,omitempty"`
}

// ID derives an event id from what happened, never from when it was seen:
// the same change seen twice, or seen by polling and then by a real webhook,
// gets the same id. The discriminator tells apart events of one type on one
// resource (see SlotDiscriminator, PaidDiscriminator, RefundDiscriminator);
// it is empty for events that happen at most once per resource.
func ID(storeID string, t Type, resourceID, discriminator string) string {
	h := sha256.New()
	for _, part := range []string{storeID, string(t), resourceID, discriminator} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "evt_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// SlotDiscriminator identifies a reschedule by the slot it moved to.
func SlotDiscriminator(from, to time.Time) string {
	return from.UTC().Format(time.RFC3339) + "/" + to.UTC().Format(time.RFC3339)
}

// PaidDiscriminator identifies a payment by the total paid.
func PaidDiscriminator(paidTotal int64) string {
	return "paid:" + strconv.FormatInt(paidTotal, 10)
}

// RefundDiscriminator identifies a refund by its refund id, or, when the
// API gave none, by the refunded total it led to.
func RefundDiscriminator(refundID string, refundedTotal int64) string {
	if refundID != "" {
		return "refund:" + refundID
	}
	return "total:" + strconv.FormatInt(refundedTotal, 10)
}
