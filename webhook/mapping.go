package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
)

// This file is the one place that knows the shape of an Opencals webhook
// payload. Opencals says names and shapes may still change before the
// release: when they do, Map (and the small types below) change, nothing
// else.
//
// Map accepts, most specific first:
//
//  1. the envelope: {"id", "type", "createdAt", "storeId",
//     "data": {"object": {...}, "previous": {...}, "refundId": "..."}};
//  2. the same with the object as "data" itself: {"type", "data": {...}};
//  3. the object beside the type: {"type", "object": {...},
//     "previous": {...}};
//  4. the object at the top level, with "type" among its fields: the whole
//     payload is then the object (its "type" property included).
//
// Only "type" and the object are required. The object keeps every property
// it came with, known or not, byte for byte, credentials removed
// (event.Redact). Other envelope properties are ignored.

// Errors of Map. They name what is wrong and never quote the payload.
var (
	// ErrNotJSON is a payload that is not a JSON object.
	ErrNotJSON = errors.New("payload is not a JSON object")
	// ErrUnknownType is a type that is none of the six events.
	ErrUnknownType = errors.New("unknown event type")
	// ErrIncomplete is a payload without something the event needs: the
	// object, its id, the store id, or the field its id derives from.
	ErrIncomplete = errors.New("payload lacks what the event needs")
)

// typeAliases maps spellings Opencals might use to the six types.
var typeAliases = map[string]event.Type{
	"appointment.cancelled": event.AppointmentCanceled,
}

// envelope is what Map reads of the payload's top level.
type envelope struct {
	Type      json.RawMessage `json:"type"`
	CreatedAt json.RawMessage `json:"createdAt"`
	StoreID   json.RawMessage `json:"storeId"`
	Data      json.RawMessage `json:"data"`
	Object    json.RawMessage `json:"object"`
	Previous  json.RawMessage `json:"previous"`
}

// envelopeData is what Map reads of "data" in the first form.
type envelopeData struct {
	Object   json.RawMessage `json:"object"`
	Previous json.RawMessage `json:"previous"`
	RefundID json.RawMessage `json:"refundId"`
}

// object is what Map reads of the appointment or order: the fields the
// event's ids and times derive from, with the types the API gives them.
type object struct {
	ID            string                 `json:"id"`
	StoreID       string                 `json:"storeId"`
	CustomerID    string                 `json:"customerId"`
	From          time.Time              `json:"from"`
	To            time.Time              `json:"to"`
	UpdatedAt     time.Time              `json:"updatedAt"`
	PaidTotal     *int64                 `json:"paidTotal"`
	RefundedTotal int64                  `json:"refundedTotal"`
	Transactions  []opencals.Transaction `json:"transactions"`
}

// parts is a payload split into what the event is built from.
type parts struct {
	env      envelope
	raw      json.RawMessage // the object's bytes
	previous json.RawMessage
	refundID string // the refund the envelope names, if it does
}

// Map turns the raw body of a verified delivery into the event handlers
// receive, received at now. The id is the one polling derives for the same
// change (event.ID with diff's discriminators), so that whichever side sees
// a change first, the other is recognised as the same event.
//
// The refund of an order.refunded is data.refundId when the payload names
// one; otherwise the latest successful refund transaction of the order (by
// createdAt, the later in the list on a tie), identified as diff does: by
// its refundId, else its externalId, else the refunded total up to it; an
// order without refund transactions is identified by its refundedTotal.
func Map(body []byte, now time.Time) (event.Event, error) {
	p, err := split(body)
	if err != nil {
		return event.Event{}, err
	}
	t, ok := eventType(stringOr(p.env.Type, ""))
	if !ok {
		return event.Event{}, fmt.Errorf("mapping payload: %w", ErrUnknownType)
	}
	var obj object
	if err := json.Unmarshal(p.raw, &obj); err != nil {
		return event.Event{}, fmt.Errorf("mapping %s: reading the object: %w", t, ErrIncomplete)
	}
	ev, err := build(t, p, obj, now)
	if err != nil {
		return event.Event{}, fmt.Errorf("mapping %s: %w", t, err)
	}
	return ev, nil
}

// split finds the object in one of the accepted forms. Once the body has
// decoded, its parts are valid JSON: only their first byte needs a look.
func split(body []byte) (parts, error) {
	var p parts
	if !startsObject(body) || json.Unmarshal(body, &p.env) != nil {
		return parts{}, fmt.Errorf("mapping payload: %w", ErrNotJSON)
	}
	var data envelopeData
	switch {
	case startsObject(p.env.Data) && json.Unmarshal(p.env.Data, &data) == nil &&
		startsObject(data.Object):
		p.raw, p.previous = data.Object, data.Previous
		p.refundID = stringOr(data.RefundID, "")
	case startsObject(p.env.Data):
		p.raw = p.env.Data
	case startsObject(p.env.Object):
		p.raw, p.previous = p.env.Object, p.env.Previous
	default:
		// The object at the top level: the envelope's fields are its own.
		p.raw, p.env.CreatedAt, p.env.StoreID = body, nil, nil
	}
	return p, nil
}

// build assembles the event once the object is read.
func build(t event.Type, p parts, obj object, now time.Time) (event.Event, error) {
	storeID := stringOr(p.env.StoreID, obj.StoreID)
	switch {
	case obj.ID == "":
		return event.Event{}, fmt.Errorf("the object has no id: %w", ErrIncomplete)
	case storeID == "":
		return event.Event{}, fmt.Errorf("no storeId: %w", ErrIncomplete)
	}
	disc, err := discriminator(t, p, obj)
	if err != nil {
		return event.Event{}, err
	}
	redacted, err := event.Redact(p.raw)
	if err != nil {
		return event.Event{}, fmt.Errorf("redacting the object: %w", ErrNotJSON)
	}
	return event.Event{
		ID:         event.ID(storeID, t, obj.ID, disc),
		Type:       t,
		CreatedAt:  now.UTC(),
		OccurredAt: occurredAt(t, p.env.CreatedAt, obj, now).UTC(),
		StoreID:    storeID,
		CustomerID: obj.CustomerID,
		Source:     event.SourceWebhook,
		Data:       event.Data{Object: redacted, Previous: previous(p.previous)},
		ResourceID: obj.ID,
	}, nil
}

// discriminator tells apart events of one type on one resource, exactly as
// diff does (diff/appointment.go, diff/order.go).
func discriminator(t event.Type, p parts, obj object) (string, error) {
	switch t {
	case event.AppointmentRescheduled:
		if obj.From.IsZero() || obj.To.IsZero() {
			return "", fmt.Errorf("the object has no from or to: %w", ErrIncomplete)
		}
		return event.SlotDiscriminator(obj.From, obj.To), nil
	case event.OrderPaid:
		if obj.PaidTotal == nil {
			return "", fmt.Errorf("the object has no paidTotal: %w", ErrIncomplete)
		}
		return event.PaidDiscriminator(*obj.PaidTotal), nil
	case event.OrderRefunded:
		return refundDiscriminator(p.refundID, obj)
	}
	return "", nil
}

// refundDiscriminator picks the refund an order.refunded names; see Map.
// TODO: two refunds in quick succession whose webhooks both carry the order
// after the second, without data.refundId, map to one id: the first is
// dropped as a repeat until polling (hybrid mode) finds it.
func refundDiscriminator(named string, obj object) (string, error) {
	if named != "" {
		return event.RefundDiscriminator(named, 0), nil
	}
	var (
		latest  string
		latestT time.Time
		found   bool
		running int64
	)
	for _, tx := range obj.Transactions {
		if tx.Type != opencals.TransactionRefund || tx.Status != opencals.TransactionSuccess {
			continue
		}
		running += tx.Amount
		if found && tx.CreatedAt.Before(latestT) {
			continue
		}
		id := tx.RefundID
		if id == "" {
			id = tx.ExternalID
		}
		latest, latestT, found = event.RefundDiscriminator(id, running), tx.CreatedAt, true
	}
	if found {
		return latest, nil
	}
	if obj.RefundedTotal <= 0 {
		return "", fmt.Errorf("the order shows no refund: %w", ErrIncomplete)
	}
	return event.RefundDiscriminator("", obj.RefundedTotal), nil
}

// occurredAt is the payload's createdAt when it has a usable one; else, as
// diff estimates it, the end time of a completion that has passed, else
// the object's updatedAt, else now.
func occurredAt(t event.Type, createdAt json.RawMessage, obj object, now time.Time) time.Time {
	var at time.Time
	if json.Unmarshal(createdAt, &at) == nil && !at.IsZero() {
		return at
	}
	switch {
	case t == event.AppointmentCompleted && !obj.To.IsZero() && !obj.To.After(now):
		return obj.To
	case !obj.UpdatedAt.IsZero():
		return obj.UpdatedAt
	}
	return now
}

// eventType reads a type name, aliases included.
func eventType(name string) (event.Type, bool) {
	if t := event.Type(name); t.Valid() {
		return t, true
	}
	t, ok := typeAliases[name]
	return t, ok
}

// previous is data.previous when it is an object; anything else is
// dropped, since it tells handlers nothing reliable.
func previous(raw json.RawMessage) map[string]any {
	if !startsObject(raw) {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || len(m) == 0 {
		return nil
	}
	return m
}

// stringOr is raw as a JSON string when it is a non-empty one, else
// fallback.
func stringOr(raw json.RawMessage, fallback string) string {
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return s
	}
	return fallback
}

// startsObject reports whether raw, valid JSON or nothing, is an object.
func startsObject(raw []byte) bool {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{'
}
