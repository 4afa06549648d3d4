package diff

import (
	"encoding/json"
	"strings"
	"time"

	"pgregory.net/rapid"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
)

const (
	testStore    = "7b0c6a52-5a3e-4c55-9d0e-1f6f1c2b9a10"
	testCustomer = "c1d2e3f4-0000-4000-8000-000000000001"
	// leak is the value of the credentials the test items carry; it must
	// never reach a record or an event.
	leak = "LEAKS-HERE"
)

// at is a moment of every test's timeline, hours after its start.
func at(hours float64) time.Time {
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	return start.Add(time.Duration(hours * float64(time.Hour)))
}

// ap describes an appointment as the API would list it.
type ap struct {
	id      string
	status  opencals.AppointmentStatus
	from    float64 // hours after t0
	to      float64
	updated float64
	created float64
	deleted bool
	// order, when set, links the appointment to an order (checked out).
	order string
	store string
}

// wireAppointment is the JSON the fake API sends: a few of the real
// fields, credentials included.
type wireAppointment struct {
	ID            string     `json:"id"`
	StoreID       string     `json:"storeId"`
	CustomerID    string     `json:"customerId"`
	From          time.Time  `json:"from"`
	To            time.Time  `json:"to"`
	Status        string     `json:"status"`
	CreatedAt     time.Time  `json:"createdAt"`
	UpdatedAt     time.Time  `json:"updatedAt"`
	DeletedAt     *time.Time `json:"deletedAt"`
	OrderLineItem *wireLine  `json:"orderLineItem"`
	Customer      wireSecret `json:"customer"`
	StaffMember   wireSecret `json:"staffMember"`
}

type wireLine struct {
	OrderID       string `json:"orderId"`
	AppointmentID string `json:"appointmentId"`
}

type wireSecret struct {
	Password     string `json:"password,omitempty"`
	RefreshToken string `json:"refreshToken,omitempty"`
	Name         string `json:"name"`
}

func (a ap) wire() wireAppointment {
	w := wireAppointment{
		ID: a.id, StoreID: orDefault(a.store, testStore), CustomerID: testCustomer,
		From: at(a.from), To: at(a.to), Status: string(orDefault(a.status, "scheduled")),
		CreatedAt: at(a.created), UpdatedAt: at(a.updated),
		Customer:    wireSecret{Password: leak, Name: "Jo"},
		StaffMember: wireSecret{RefreshToken: leak, Name: "Ana"},
	}
	if a.deleted {
		d := at(a.updated)
		w.DeletedAt = &d
	}
	if a.order != "" {
		w.OrderLineItem = &wireLine{OrderID: a.order, AppointmentID: a.id}
	}
	return w
}

func (a ap) item(t rapid.TB) opencals.Appointment {
	t.Helper()
	var item opencals.Appointment
	decode(t, mustJSON(t, a.wire()), &item)
	return item
}

// or describes an order as the API would list it.
type or struct {
	id       string
	status   opencals.PaymentStatus
	total    int64
	paid     int64
	refunded int64
	refund   opencals.RefundStatus
	txs      []tx
	updated  float64
	deleted  bool
	store    string
}

// tx is a refund transaction of an order.
type tx struct {
	refundID, externalID string
	amount               int64
	at                   float64
	status               opencals.TransactionStatus
	kind                 opencals.TransactionType
}

type wireOrder struct {
	ID            string            `json:"id"`
	StoreID       string            `json:"storeId"`
	CustomerID    string            `json:"customerId"`
	Total         int64             `json:"total"`
	PaidTotal     int64             `json:"paidTotal"`
	RefundedTotal int64             `json:"refundedTotal"`
	PaymentStatus string            `json:"paymentStatus"`
	RefundStatus  string            `json:"refundStatus"`
	Transactions  []wireTransaction `json:"transactions"`
	UpdatedAt     time.Time         `json:"updatedAt"`
	DeletedAt     *time.Time        `json:"deletedAt"`
	Customer      wireSecret        `json:"customer"`
}

type wireTransaction struct {
	ExternalID string    `json:"externalId"`
	RefundID   *string   `json:"refundId"`
	Type       string    `json:"type"`
	Status     string    `json:"status"`
	Amount     int64     `json:"amount"`
	CreatedAt  time.Time `json:"createdAt"`
}

func (o or) wire() wireOrder {
	w := wireOrder{
		ID: o.id, StoreID: orDefault(o.store, testStore), CustomerID: testCustomer,
		Total: o.total, PaidTotal: o.paid, RefundedTotal: o.refunded,
		PaymentStatus: string(orDefault(o.status, opencals.PaymentUnpaid)),
		RefundStatus:  string(orDefault(o.refund, opencals.RefundNone)),
		UpdatedAt:     at(o.updated),
		Customer:      wireSecret{Password: leak, Name: "Jo"},
		Transactions:  []wireTransaction{},
	}
	for _, t := range o.txs {
		wt := wireTransaction{
			ExternalID: t.externalID, Type: string(orDefault(t.kind, opencals.TransactionRefund)),
			Status: string(orDefault(t.status, opencals.TransactionSuccess)),
			Amount: t.amount, CreatedAt: at(t.at),
		}
		if t.refundID != "" {
			id := t.refundID
			wt.RefundID = &id
		}
		w.Transactions = append(w.Transactions, wt)
	}
	if o.deleted {
		d := at(o.updated)
		w.DeletedAt = &d
	}
	return w
}

func (o or) item(t rapid.TB) opencals.Order {
	t.Helper()
	var item opencals.Order
	decode(t, mustJSON(t, o.wire()), &item)
	return item
}

func orDefault[S ~string](s, def S) S {
	if s == "" {
		return def
	}
	return s
}

func mustJSON(t rapid.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encoding %T: %v", v, err)
	}
	return b
}

func decode(t rapid.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %T: %v", v, err)
	}
}

// listing is a complete snapshot of the given appointments and orders.
func listing(t rapid.TB, apps []ap, orders []or) Snapshot {
	t.Helper()
	snap := Snapshot{Complete: true}
	for _, a := range apps {
		snap.Appointments = append(snap.Appointments, a.item(t))
	}
	for _, o := range orders {
		snap.Orders = append(snap.Orders, o.item(t))
	}
	return snap
}

// carry writes a result into a state the way the store does: records
// replace stored ones, and a record without a body keeps the stored body.
func carry(st State, res Result) State {
	next := State{
		Baselined:    true,
		Appointments: make(map[string]AppointmentRecord, len(st.Appointments)),
		Orders:       make(map[string]OrderRecord, len(st.Orders)),
	}
	for id, rec := range st.Appointments {
		next.Appointments[id] = rec
	}
	for id, rec := range st.Orders {
		next.Orders[id] = rec
	}
	for _, rec := range res.Appointments {
		if rec.Body == nil {
			rec.Body = st.Appointments[rec.ID].Body
		}
		next.Appointments[rec.ID] = rec
	}
	for _, rec := range res.Orders {
		if rec.Body == nil {
			rec.Body = st.Orders[rec.ID].Body
		}
		next.Orders[rec.ID] = rec
	}
	return next
}

// policy is the policy of the tests at a moment.
func policy(now time.Time, mode Baseline, catchUp time.Duration) Policy {
	return Policy{StoreID: testStore, CustomerID: testCustomer, Now: now,
		Baseline: mode, CatchUp: catchUp}
}

// checkEnvelope checks what every event of a result must hold, whatever
// the rule that made it.
func checkEnvelope(t rapid.TB, res Result, p Policy) {
	t.Helper()
	for _, ev := range res.Events {
		disc := discriminatorOf(ev)
		if want := event.ID(p.StoreID, ev.Type, ev.ResourceID, disc); ev.ID != want {
			t.Errorf("event %s %s: id = %s; want %s", ev.Type, ev.ResourceID, ev.ID, want)
		}
		if !ev.CreatedAt.Equal(p.Now) || ev.OccurredAt.IsZero() {
			t.Errorf("event %s %s: createdAt %v, occurredAt %v; want %v and a time",
				ev.Type, ev.ResourceID, ev.CreatedAt, ev.OccurredAt, p.Now)
		}
		if ev.Source != event.SourcePoll || ev.StoreID != p.StoreID ||
			ev.CustomerID != p.CustomerID {
			t.Errorf("event %s %s: source %q store %q customer %q; want poll, %s, %s",
				ev.Type, ev.ResourceID, ev.Source, ev.StoreID, ev.CustomerID,
				p.StoreID, p.CustomerID)
		}
		var obj struct{ ID string }
		if err := json.Unmarshal(ev.Data.Object, &obj); err != nil || obj.ID != ev.ResourceID {
			t.Errorf("event %s %s: data.object %s (%v); want the item", ev.Type,
				ev.ResourceID, ev.Data.Object, err)
		}
		if strings.Contains(string(ev.Data.Object), leak) {
			t.Errorf("event %s %s: data.object carries a credential", ev.Type, ev.ResourceID)
		}
	}
}

// discriminatorOf recomputes an event's discriminator from its object and
// type, independently of the diff, so that ids can be checked.
func discriminatorOf(ev event.Event) string {
	switch ev.Type {
	case event.AppointmentRescheduled:
		var a struct{ From, To time.Time }
		_ = json.Unmarshal(ev.Data.Object, &a)
		return event.SlotDiscriminator(a.From, a.To)
	case event.OrderPaid:
		var o struct{ PaidTotal int64 }
		_ = json.Unmarshal(ev.Data.Object, &o)
		return event.PaidDiscriminator(o.PaidTotal)
	case event.OrderRefunded:
		// A refund's discriminator names one of several transactions; the
		// rules table checks it.
		return refundDiscriminatorFromID(ev)
	}
	return ""
}

// refundDiscriminatorFromID finds the refund discriminator whose id matches
// the event's, among those the object allows.
func refundDiscriminatorFromID(ev event.Event) string {
	var o struct {
		RefundedTotal int64
		Transactions  []struct {
			RefundID, ExternalID string
			Amount               int64
		}
	}
	_ = json.Unmarshal(ev.Data.Object, &o)
	candidates := []string{event.RefundDiscriminator("", o.RefundedTotal)}
	var running int64
	for _, t := range o.Transactions {
		running += t.Amount
		candidates = append(candidates,
			event.RefundDiscriminator(t.RefundID, 0), event.RefundDiscriminator(t.ExternalID, 0),
			event.RefundDiscriminator("", running))
	}
	for _, c := range candidates {
		if event.ID(ev.StoreID, ev.Type, ev.ResourceID, c) == ev.ID {
			return c
		}
	}
	return "no matching refund"
}
