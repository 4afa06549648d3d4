//go:build faults

package faults

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals/sandbox"
)

var (
	t0    = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	slotA = Slot{t0.Add(time.Hour), t0.Add(2 * time.Hour)}
	slotB = Slot{t0.Add(3 * time.Hour), t0.Add(4 * time.Hour)}
	slotC = Slot{t0.Add(5 * time.Hour), t0.Add(6 * time.Hour)}
)

// ch builds a change at minute m after t0.
func ch(seq int64, m int, kind, appt, order string, s Slot, amount int64) sandbox.Change {
	return sandbox.Change{Seq: seq, At: t0.Add(time.Duration(m) * time.Minute), Kind: kind,
		CustomerID: "c1", AppointmentID: appt, OrderID: order, From: s.From, To: s.To,
		Amount: amount}
}

// keys names expectations without their ids, sorted, for readable diffs:
// "type resource discriminator". It checks the ids follow event.ID.
func keys(t *testing.T, es []Expectation) []string {
	t.Helper()
	out := []string{}
	for _, e := range es {
		if e.ID != event.ID("s1", e.Type, e.ResourceID, e.Discriminator) {
			t.Errorf("expectation %s has id %s; want event.ID's", e, e.ID)
		}
		out = append(out, fmt.Sprintf("%s %s %s", e.Type, e.ResourceID, e.Discriminator))
	}
	slices.Sort(out)
	return out
}

func TestOracleMust(t *testing.T) {
	t.Parallel()
	booked := ApptStart{ID: "a1", CustomerID: "c1", From: slotA.From, To: slotA.To, Booked: true}
	tests := []struct {
		name    string
		start   Start
		changes []sandbox.Change
		seen    map[string][]Slot
		opts    Options
		want    []string
	}{{
		name: "a hold emits nothing",
		changes: []sandbox.Change{
			ch(1, 0, sandbox.KindHold, "a1", "", slotA, 0),
			ch(2, 1, sandbox.KindCanceled, "a1", "", slotA, 0),
		},
		want: []string{},
	}, {
		name: "a booking is created, then canceled",
		changes: []sandbox.Change{
			ch(1, 0, sandbox.KindHold, "a1", "", slotA, 0),
			ch(2, 0, sandbox.KindBooked, "a1", "o1", slotA, 5535),
			ch(3, 5, sandbox.KindCanceled, "a1", "o1", slotA, 0),
		},
		want: []string{"appointment.canceled a1 ", "appointment.created a1 "},
	}, {
		name:  "only the final slot of several moves, and only once a look saw another",
		start: Start{Appointments: []ApptStart{booked}},
		changes: []sandbox.Change{
			ch(1, 0, sandbox.KindRescheduled, "a1", "o1", slotB, 0),
			ch(2, 1, sandbox.KindRescheduled, "a1", "o1", slotC, 0),
		},
		seen: map[string][]Slot{"a1": {slotA}},
		want: []string{"appointment.rescheduled a1 " + slotC.discriminator()},
	}, {
		name:    "a move no look saw the start of requires nothing",
		start:   Start{Appointments: []ApptStart{booked}},
		changes: []sandbox.Change{ch(1, 0, sandbox.KindRescheduled, "a1", "o1", slotB, 0)},
		seen:    map[string][]Slot{"a1": {slotB}},
		want:    []string{},
	}, {
		name:  "a payment followed by an add-on requires nothing",
		start: Start{Orders: []OrderStart{{ID: "o1", CustomerID: "c1"}}},
		changes: []sandbox.Change{
			ch(1, 0, sandbox.KindPaid, "a1", "o1", slotA, 5535),
			ch(2, 1, sandbox.KindAddOn, "a1", "o1", slotA, 500),
		},
		want: []string{},
	}, {
		name:  "the last payment counts what was paid before",
		start: Start{Orders: []OrderStart{{ID: "o1", CustomerID: "c1", PaidTotal: 5535}}},
		changes: []sandbox.Change{
			ch(1, 0, sandbox.KindAddOn, "a1", "o1", slotA, 500),
			ch(2, 1, sandbox.KindPaid, "a1", "o1", slotA, 500),
		},
		want: []string{"order.paid o1 paid:6035"},
	}, {
		name:  "every refund, by its id",
		start: Start{Orders: []OrderStart{{ID: "o1", CustomerID: "c1", PaidTotal: 5535}}},
		changes: []sandbox.Change{
			{Seq: 1, At: t0, Kind: sandbox.KindRefunded, CustomerID: "c1", OrderID: "o1",
				RefundID: "r1", Amount: 100},
			{Seq: 2, At: t0, Kind: sandbox.KindRefunded, CustomerID: "c1", OrderID: "o1",
				RefundID: "r2", Amount: 100},
		},
		want: []string{"order.refunded o1 refund:r1", "order.refunded o1 refund:r2"},
	}, {
		name:  "a booking that ended by then is completed",
		start: Start{Appointments: []ApptStart{booked}},
		opts:  Options{CompletedBy: slotA.To},
		want:  []string{"appointment.completed a1 "},
	}, {
		name:  "one that ends later is not required yet",
		start: Start{Appointments: []ApptStart{booked}},
		opts:  Options{CompletedBy: slotA.To.Add(-time.Second)},
		want:  []string{},
	}, {
		name:    "a merchant's completion is required whatever the time",
		start:   Start{Appointments: []ApptStart{booked}},
		changes: []sandbox.Change{ch(1, 0, sandbox.KindCompleted, "a1", "o1", slotA, 0)},
		want:    []string{"appointment.completed a1 "},
	}, {
		name: "the baseline covered what it saw",
		start: Start{Appointments: []ApptStart{
			{ID: "a1", CustomerID: "c1", From: slotA.From, To: slotA.To, Booked: true,
				Completed: true},
			{ID: "a2", CustomerID: "c1", From: slotA.From, To: slotA.To, Booked: true,
				Canceled: true},
		}},
		opts: Options{CompletedBy: slotC.To},
		want: []string{},
	}, {
		name: "an unobservable customer is required nothing",
		changes: []sandbox.Change{
			ch(1, 0, sandbox.KindBooked, "a1", "o1", slotA, 5535),
		},
		opts: Options{Unobservable: map[string]bool{"c1": true}},
		want: []string{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.start.StoreID = "s1"
			o := NewOracle(tt.start, tt.changes)
			got := keys(t, o.Must(tt.opts, tt.seen))
			want := slices.Sorted(slices.Values(tt.want))
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Must() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOracleExplainable(t *testing.T) {
	t.Parallel()
	booked := ApptStart{ID: "a1", CustomerID: "c1", From: slotA.From, To: slotA.To, Booked: true}
	paid := OrderStart{ID: "o1", CustomerID: "c1", PaidTotal: 5535}
	start := Start{StoreID: "s1", Appointments: []ApptStart{booked}, Orders: []OrderStart{paid}}
	id := func(typ event.Type, res, disc string) string { return event.ID("s1", typ, res, disc) }
	tests := []struct {
		name    string
		changes []sandbox.Change
		opts    Options
		id      string
		want    bool
	}{{
		name: "a cancellation the log lacks is wrong",
		id:   id(event.AppointmentCanceled, "a1", ""),
		want: false,
	}, {
		name:    "a cancellation in the log explains it",
		changes: []sandbox.Change{ch(1, 0, sandbox.KindCanceled, "a1", "o1", slotA, 0)},
		id:      id(event.AppointmentCanceled, "a1", ""),
		want:    true,
	}, {
		name: "the baseline's booking is not created again",
		id:   id(event.AppointmentCreated, "a1", ""),
		want: false,
	}, {
		name: "a move to a slot it had on the way",
		changes: []sandbox.Change{
			ch(1, 0, sandbox.KindRescheduled, "a1", "o1", slotB, 0),
			ch(2, 1, sandbox.KindRescheduled, "a1", "o1", slotC, 0),
		},
		id:   id(event.AppointmentRescheduled, "a1", slotB.discriminator()),
		want: true,
	}, {
		name:    "a move to a slot it never had",
		changes: []sandbox.Change{ch(1, 0, sandbox.KindRescheduled, "a1", "o1", slotB, 0)},
		id:      id(event.AppointmentRescheduled, "a1", slotC.discriminator()),
		want:    false,
	}, {
		name:    "a payment's total, the baseline's included",
		changes: []sandbox.Change{ch(1, 0, sandbox.KindPaid, "a1", "o1", slotA, 500)},
		id:      id(event.OrderPaid, "o1", "paid:6035"),
		want:    true,
	}, {
		name: "the baseline's paid total again",
		id:   id(event.OrderPaid, "o1", "paid:5535"),
		want: false,
	}, {
		name:    "a completion after a cancellation before the end",
		changes: []sandbox.Change{ch(1, 30, sandbox.KindCanceled, "a1", "o1", slotA, 0)},
		opts:    Options{Now: slotC.To},
		id:      id(event.AppointmentCompleted, "a1", ""),
		want:    false,
	}, {
		name:    "a completion before a cancellation after the end",
		changes: []sandbox.Change{ch(1, 150, sandbox.KindCanceled, "a1", "o1", slotA, 0)},
		opts:    Options{Now: slotC.To},
		id:      id(event.AppointmentCompleted, "a1", ""),
		want:    true,
	}, {
		name:    "any completion of a customer the daemon cannot look at",
		changes: []sandbox.Change{ch(1, 30, sandbox.KindCanceled, "a1", "o1", slotA, 0)},
		opts:    Options{Now: slotC.To, Unobservable: map[string]bool{"c1": true}},
		id:      id(event.AppointmentCompleted, "a1", ""),
		want:    true,
	}, {
		name: "a refund the log lacks",
		id:   id(event.OrderRefunded, "o1", "refund:r9"),
		want: false,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, got := NewOracle(start, tt.changes).Explainable(tt.opts)[tt.id]
			if got != tt.want {
				t.Errorf("Explainable()[%s] = %v; want %v", tt.id, got, tt.want)
			}
		})
	}
}

func TestJudgeCountsRepeatsConflictsAndOrder(t *testing.T) {
	t.Parallel()
	o := NewOracle(Start{StoreID: "s1"}, []sandbox.Change{
		ch(1, 0, sandbox.KindBooked, "a1", "o1", slotA, 5535),
		ch(2, 1, sandbox.KindCanceled, "a1", "o1", slotA, 0),
	})
	created := event.ID("s1", event.AppointmentCreated, "a1", "")
	canceled := event.ID("s1", event.AppointmentCanceled, "a1", "")
	made := event.ID("s1", event.AppointmentCanceled, "a2", "")
	obs := func(id string, typ event.Type, res string) Observed {
		return Observed{ID: id, Type: typ, ResourceID: res}
	}
	ds := []Delivery{
		// The cancellation arrives before the creation was accepted.
		{N: 1, Observed: obs(created, event.AppointmentCreated, "a1"), Body: []byte("x")},
		{N: 2, Observed: obs(canceled, event.AppointmentCanceled, "a1"), Body: []byte("y"),
			Accepted: true, AcceptedAt: 3},
		{N: 4, Observed: obs(created, event.AppointmentCreated, "a1"), Body: []byte("x"),
			Accepted: true, AcceptedAt: 5},
		{N: 6, Observed: obs(canceled, event.AppointmentCanceled, "a1"), Body: []byte("z"),
			Accepted: true, AcceptedAt: 7},
		{N: 8, Observed: obs(made, event.AppointmentCanceled, "a2"), Body: []byte("w"),
			Accepted: true, AcceptedAt: 9},
	}
	outbox := map[string]Outboxed{created: {1, "appointment/a1"},
		canceled: {2, "appointment/a1"}, made: {3, "appointment/a2"}}
	v := Judge(o, Options{}, ds, outbox)
	got := struct {
		Deliveries, Distinct, Duplicates, Missing int
		Conflicting, OutOfOrder                   []string
		Unexplained                               []Observed
	}{v.Deliveries, v.Distinct, v.Duplicates, len(v.Missing), v.Conflicting, v.OutOfOrder,
		v.Unexplained}
	want := got
	want.Deliveries, want.Distinct, want.Duplicates, want.Missing = 4, 3, 1, 0
	want.Conflicting, want.OutOfOrder = []string{canceled}, []string{canceled}
	want.Unexplained = []Observed{obs(made, event.AppointmentCanceled, "a2")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Judge() mismatch (-want +got):\n%s", diff)
	}
}
