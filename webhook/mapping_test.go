package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencals-sync/opencals-sync/diff"
	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
)

// polledIDs are the ids diff gives the events of type typ when the stored
// state prior meets object in a poll, in the order diff emits them.
func polledIDs(t *testing.T, typ event.Type, prior diff.State, object []byte) []string {
	t.Helper()
	var snap diff.Snapshot
	if typ.Resource() == "order" {
		var o opencals.Order
		if err := json.Unmarshal(object, &o); err != nil {
			t.Fatal(err)
		}
		snap.Orders = []opencals.Order{o}
	} else {
		var a opencals.Appointment
		if err := json.Unmarshal(object, &a); err != nil {
			t.Fatal(err)
		}
		snap.Appointments = []opencals.Appointment{a}
	}
	res, err := diff.Compute(prior, snap, diff.Policy{StoreID: event.SampleStoreID,
		CustomerID: event.SampleCustomerID, Now: now})
	if err != nil {
		t.Fatalf("diff.Compute() = %v", err)
	}
	var ids []string
	for _, ev := range res.Events {
		if ev.Type == typ {
			ids = append(ids, ev.ID)
		}
	}
	return ids
}

// bookedBefore is the stored state of the sample appointment, booked at
// the slot the sample of typ moved from (or at its own slot).
func bookedBefore(t *testing.T, typ event.Type) diff.State {
	t.Helper()
	ev, err := event.Sample(typ, now)
	if err != nil {
		t.Fatal(err)
	}
	var a opencals.Appointment
	if err := json.Unmarshal(ev.Data.Object, &a); err != nil {
		t.Fatal(err)
	}
	from, to := a.From, a.To
	if typ == event.AppointmentRescheduled {
		from, to = from.Add(-24*time.Hour), to.Add(-24*time.Hour)
	}
	rec := diff.AppointmentRecord{ID: a.ID, Status: opencals.AppointmentScheduled,
		From: from, To: to, Created: true, UpdatedAt: a.UpdatedAt.Add(-time.Hour)}
	return diff.State{Baselined: true,
		Appointments: map[string]diff.AppointmentRecord{a.ID: rec}}
}

// orderBefore is the stored state of the sample order, unpaid or paid.
func orderBefore(paid bool) diff.State {
	rec := diff.OrderRecord{ID: event.SampleOrderID, PaymentStatus: opencals.PaymentUnpaid}
	if paid {
		rec.PaymentStatus, rec.PaidTotal = opencals.PaymentPaid, 5535
	}
	return diff.State{Baselined: true, Orders: map[string]diff.OrderRecord{rec.ID: rec}}
}

// refund is a successful refund transaction of the sample order.
func refund(refundID string, amount int64, at string) map[string]any {
	tx := map[string]any{"orderId": event.SampleOrderID, "type": "refund",
		"status": "success", "amount": amount, "currencyCode": "EUR",
		"createdAt": at, "refundId": nil, "externalId": nil}
	if refundID != "" {
		tx["refundId"], tx["externalId"] = refundID, "ext_"+refundID
	}
	return tx
}

// withRefunds replaces the sample order's refund transactions.
func withRefunds(refunds ...map[string]any) func(m map[string]any) {
	return func(m map[string]any) {
		var total float64
		txs := []any{m["transactions"].([]any)[0]} // the sale
		for _, r := range refunds {
			txs = append(txs, r)
			total += float64(r["amount"].(int64))
		}
		m["transactions"], m["refundedTotal"] = txs, total
	}
}

func TestMapAgreesWithDiff(t *testing.T) {
	t.Parallel()
	const early, late = "2026-12-01T08:00:00.000Z", "2026-12-01T08:30:00.000Z"
	tests := []struct {
		name     string
		typ      event.Type
		prior    diff.State
		edit     func(m map[string]any)
		refundID string // data.refundId
		// wantNth picks the event among diff's of that type; -1 the last.
		wantNth int
	}{
		{name: "created", typ: event.AppointmentCreated, prior: diff.State{Baselined: true}},
		{name: "canceled", typ: event.AppointmentCanceled,
			prior: bookedBefore(t, event.AppointmentCanceled)},
		{name: "rescheduled", typ: event.AppointmentRescheduled,
			prior: bookedBefore(t, event.AppointmentRescheduled)},
		{name: "completed", typ: event.AppointmentCompleted,
			prior: bookedBefore(t, event.AppointmentCompleted)},
		{name: "paid", typ: event.OrderPaid, prior: orderBefore(false)},
		{name: "paid again after an add-on", typ: event.OrderPaid, prior: orderBefore(true),
			edit: func(m map[string]any) { m["paidTotal"] = 7035 }},
		{name: "one refund", typ: event.OrderRefunded, prior: orderBefore(true)},
		{name: "the latest of two refunds", typ: event.OrderRefunded, prior: orderBefore(true),
			edit: withRefunds(refund("re_1", 1000, early), refund("re_2", 500, late)), wantNth: -1},
		{name: "the latest refund listed first", typ: event.OrderRefunded,
			prior: orderBefore(true),
			edit:  withRefunds(refund("re_1", 1000, late), refund("re_2", 500, early))},
		{name: "refunds without ids, by running total", typ: event.OrderRefunded,
			prior: orderBefore(true),
			edit:  withRefunds(refund("", 1000, early), refund("", 500, late)), wantNth: -1},
		{name: "the refund the envelope names", typ: event.OrderRefunded,
			prior: orderBefore(true), refundID: "re_1",
			edit: withRefunds(refund("re_1", 1000, early), refund("re_2", 500, late))},
		{name: "a refund without a transaction", typ: event.OrderRefunded,
			prior: orderBefore(true), edit: func(m map[string]any) {
				m["transactions"] = m["transactions"].([]any)[:1]
				m["refundedTotal"] = 1500
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			object := sampleObject(t, tc.typ, tc.edit)
			polled := polledIDs(t, tc.typ, tc.prior, object)
			if len(polled) == 0 {
				t.Fatalf("diff emitted no %s; the case is wrong", tc.typ)
			}
			want := polled[0]
			if tc.wantNth < 0 {
				want = polled[len(polled)-1]
			}
			body := wrap(t, string(tc.typ), object)
			if tc.refundID != "" {
				body = bytes.Replace(body, []byte(`"data":{`),
					[]byte(`"data":{"refundId":"`+tc.refundID+`",`), 1)
			}
			ev, err := Map(body, now)
			if err != nil {
				t.Fatalf("Map() = %v", err)
			}
			if ev.ID != want {
				t.Errorf("Map().ID = %s; want %s, diff's (all of them: %v)", ev.ID, want, polled)
			}
		})
	}
}

func TestMapAcceptsEveryForm(t *testing.T) {
	t.Parallel()
	object := []byte(`{"id":"o1","storeId":"s1","customerId":"c1","paidTotal":100,` +
		`"futureField":{"kept":[1,2.50]}}`)
	tests := []struct {
		name       string
		body       string
		wantObject string
	}{
		{name: "envelope", body: `{"id":"x","type":"order.paid","data":{"object":` +
			string(object) + `}}`, wantObject: string(object)},
		{name: "data is the object", body: `{"type":"order.paid","data":` + string(object) + `}`,
			wantObject: string(object)},
		{name: "object beside the type", body: `{"type":"order.paid","object":` +
			string(object) + `}`, wantObject: string(object)},
		{name: "object at the top level",
			body: `{"type":"order.paid","id":"o1","storeId":"s1","customerId":"c1",` +
				`"paidTotal":100,"futureField":{"kept":[1,2.50]}}`,
			wantObject: `{"type":"order.paid","id":"o1","storeId":"s1","customerId":"c1",` +
				`"paidTotal":100,"futureField":{"kept":[1,2.50]}}`},
	}
	wantID := event.ID("s1", event.OrderPaid, "o1", event.PaidDiscriminator(100))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := Map([]byte(tc.body), now)
			if err != nil {
				t.Fatalf("Map() = %v", err)
			}
			want := event.Event{ID: wantID, Type: event.OrderPaid, CreatedAt: now,
				OccurredAt: now, StoreID: "s1", CustomerID: "c1", Source: event.SourceWebhook,
				Data: event.Data{Object: json.RawMessage(tc.wantObject)}, ResourceID: "o1"}
			if diff := cmp.Diff(want, ev); diff != "" {
				t.Errorf("Map() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMapFillsTheEnvelope(t *testing.T) {
	t.Parallel()
	object := `{"id":"a1","storeId":"object-store","customerId":"c1",` +
		`"from":"2026-12-03T10:00:00.000Z","to":"2026-12-03T11:00:00.000Z",` +
		`"updatedAt":"2026-12-01T08:00:00.000Z",` +
		`"customer":{"id":"c1","password":"hunter2","isPasswordSet":true},` +
		`"staffMember":{"refreshToken":"rt","firstName":"Ana"}}`
	updated := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		body string
		want event.Event
	}{
		{
			name: "envelope store id, createdAt and previous; credentials removed",
			body: `{"type":"appointment.canceled","storeId":"s1",` +
				`"createdAt":"2026-12-01T08:59:00Z","data":{"object":` + object +
				`,"previous":{"status":"scheduled"}}}`,
			want: event.Event{
				ID: event.ID("s1", event.AppointmentCanceled, "a1", ""), Type: event.AppointmentCanceled,
				OccurredAt: time.Date(2026, 12, 1, 8, 59, 0, 0, time.UTC), StoreID: "s1",
				Data: event.Data{Previous: map[string]any{"status": "scheduled"}},
			},
		},
		{
			name: "the object's store id and updatedAt when the envelope has none",
			body: `{"type":"appointment.cancelled","data":{"object":` + object + `}}`,
			want: event.Event{
				ID:   event.ID("object-store", event.AppointmentCanceled, "a1", ""),
				Type: event.AppointmentCanceled, OccurredAt: updated, StoreID: "object-store",
			},
		},
		{
			name: "a completion occurred at its end",
			body: `{"type":"appointment.completed","storeId":"s1","createdAt":"not a time",` +
				`"data":{"object":` + strings.Replace(object, "2026-12-03T11", "2026-12-01T07", 1) +
				`,"previous":"scheduled"}}`,
			want: event.Event{
				ID: event.ID("s1", event.AppointmentCompleted, "a1", ""), Type: event.AppointmentCompleted,
				OccurredAt: time.Date(2026, 12, 1, 7, 0, 0, 0, time.UTC), StoreID: "s1",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := Map([]byte(tc.body), now)
			if err != nil {
				t.Fatalf("Map() = %v", err)
			}
			for _, secret := range []string{"hunter2", "password", "refreshToken", `"rt"`} {
				if bytes.Contains(ev.Data.Object, []byte(secret)) {
					t.Errorf("Map() data.object = %s; want no %s", ev.Data.Object, secret)
				}
			}
			want := tc.want
			want.CreatedAt, want.CustomerID, want.ResourceID = now, "c1", "a1"
			want.Source, want.Data.Object = event.SourceWebhook, ev.Data.Object
			if diff := cmp.Diff(want, ev); diff != "" {
				t.Errorf("Map() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMapRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		wantErr error
	}{
		{name: "empty", body: ``, wantErr: ErrNotJSON},
		{name: "not JSON", body: `type=order.paid`, wantErr: ErrNotJSON},
		{name: "truncated", body: `{"type":"order.paid","data":{"object":{"id":"o1"`,
			wantErr: ErrNotJSON},
		{name: "an array", body: `[{"type":"order.paid"}]`, wantErr: ErrNotJSON},
		{name: "no type", body: `{"data":{"object":{"id":"o1","storeId":"s1"}}}`,
			wantErr: ErrUnknownType},
		{name: "unknown type", body: `{"type":"order.shipped","data":{"object":{"id":"o1"}}}`,
			wantErr: ErrUnknownType},
		{name: "type not a string", body: `{"type":7,"data":{"object":{"id":"o1"}}}`,
			wantErr: ErrUnknownType},
		{name: "no object id",
			body:    `{"type":"appointment.created","storeId":"s1","data":{"object":{"x":1}}}`,
			wantErr: ErrIncomplete},
		{name: "no store id", body: `{"type":"appointment.created","data":{"object":{"id":"a1"}}}`,
			wantErr: ErrIncomplete},
		{name: "reschedule without a slot",
			body:    `{"type":"appointment.rescheduled","data":{"object":{"id":"a1","storeId":"s1"}}}`,
			wantErr: ErrIncomplete},
		{name: "paid without paidTotal",
			body:    `{"type":"order.paid","data":{"object":{"id":"o1","storeId":"s1"}}}`,
			wantErr: ErrIncomplete},
		{name: "refunded without a refund", body: `{"type":"order.refunded",` +
			`"data":{"object":{"id":"o1","storeId":"s1","refundedTotal":0,"transactions":[]}}}`,
			wantErr: ErrIncomplete},
		{name: "a field of the wrong type", body: `{"type":"order.paid",` +
			`"data":{"object":{"id":"o1","storeId":"s1","paidTotal":"100"}}}`,
			wantErr: ErrIncomplete},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := Map([]byte(tc.body), now)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("Map() = %+v, %v; want error %v", ev, err, tc.wantErr)
			}
		})
	}
}
