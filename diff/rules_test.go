package diff

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
)

// want is one expected event: type, resource, discriminator and
// data.previous.
type want struct {
	typ      event.Type
	resource string
	disc     string
	prev     map[string]any
}

// look is one snapshot taken at hour at, and what it must produce.
type look struct {
	at         float64
	apps       []ap
	orders     []or
	partial    bool
	goneApps   []string
	goneOrders []string

	want              []want
	wantLate          int
	wantMissingApps   []string
	wantMissingOrders []string
	wantBaseline      bool
	wantRebaselined   bool
}

func (l look) snapshot(t rapid.TB) Snapshot {
	t.Helper()
	snap := listing(t, l.apps, l.orders)
	snap.Complete = !l.partial
	snap.GoneAppointments, snap.GoneOrders = l.goneApps, l.goneOrders
	return snap
}

// flags are the record flags a case checks at its end.
type flags struct {
	created, canceled, completed, deleted, missing bool
}

type orderFlags struct {
	deleted, missing bool
	refunds          []string
}

// rulesCase is one row of the rules table: a stored state, then looks.
type rulesCase struct {
	name    string
	mode    Baseline
	catchUp time.Duration
	// stored is applied as a silent first-sight baseline at hour 0. When
	// both are nil, the customer is baselined with nothing stored, unless
	// firstSight says it was never seen.
	stored       []ap
	storedOrders []or
	firstSight   bool
	looks        []look

	wantApps   map[string]flags
	wantOrders map[string]orderFlags
}

// Shorthands for the rows.
const (
	pending   = opencals.AppointmentPending
	scheduled = opencals.AppointmentScheduled
	completed = opencals.AppointmentCompleted
	canceled  = opencals.AppointmentCanceled
	unpaid    = opencals.PaymentUnpaid
	paid      = opencals.PaymentPaid
	partly    = opencals.PaymentPartiallyPaid

	created     = event.AppointmentCreated
	canceledEv  = event.AppointmentCanceled
	rescheduled = event.AppointmentRescheduled
	completedEv = event.AppointmentCompleted
	paidEv      = event.OrderPaid
	refunded    = event.OrderRefunded
)

func slot(from, to float64) string { return event.SlotDiscriminator(at(from), at(to)) }

func slotPrev(from, to float64) map[string]any {
	return map[string]any{"from": apiTime(at(from)), "to": apiTime(at(to))}
}

func refundedBefore(total int64) map[string]any {
	return map[string]any{"refundedTotal": total}
}

func status(s opencals.AppointmentStatus) map[string]any {
	return map[string]any{"status": string(s)}
}

// booking is a checked-out appointment two days ahead; holds are pending
// and have no order.
func booking(id string) ap {
	return ap{id: id, status: scheduled, from: 48, to: 49, updated: 0.2, order: "o-" + id}
}

func hold(id string) ap {
	return ap{id: id, status: pending, from: 48, to: 49, updated: 0.1}
}

// with returns a copy of a changed by f.
func with(a ap, f func(*ap)) ap {
	f(&a)
	return a
}

func withOrder(o or, f func(*or)) or {
	f(&o)
	return o
}

func appointmentRules() []rulesCase {
	moved := func(from, to float64) func(*ap) {
		return func(a *ap) { a.from, a.to, a.updated = from, to, 0.5 }
	}
	set := func(s opencals.AppointmentStatus, updated float64) func(*ap) {
		return func(a *ap) { a.status, a.updated = s, updated }
	}
	deleted := func(a *ap) { a.deleted, a.updated = true, 0.5 }
	past := func(a *ap) { a.from, a.to = 5, 6 }
	return []rulesCase{
		{
			name: "created: first seen scheduled after the baseline",
			looks: []look{{at: 1, apps: []ap{booking("a1")},
				want: []want{{typ: created, resource: "a1"}}}},
			wantApps: map[string]flags{"a1": {created: true}},
		},
		{
			name:   "created: a hold checked out",
			stored: []ap{hold("a1")},
			looks: []look{{at: 1, apps: []ap{booking("a1")},
				want: []want{{typ: created, resource: "a1", prev: status(pending)}}}},
			wantApps: map[string]flags{"a1": {created: true}},
		},
		{
			name:     "hold: first seen pending emits nothing",
			looks:    []look{{at: 1, apps: []ap{hold("a1")}}},
			wantApps: map[string]flags{"a1": {}},
		},
		{
			name:     "hold: pending with new times emits nothing",
			stored:   []ap{hold("a1")},
			looks:    []look{{at: 1, apps: []ap{with(hold("a1"), moved(50, 51))}}},
			wantApps: map[string]flags{"a1": {}},
		},
		{
			name:   "hold: pending to canceled emits nothing, then or later",
			stored: []ap{hold("a1")},
			looks: []look{
				{at: 1, apps: []ap{with(hold("a1"), set(canceled, 0.5))}},
				{at: 2, apps: []ap{with(booking("a1"), set(scheduled, 1.5))}},
			},
			wantApps: map[string]flags{"a1": {canceled: true}},
		},
		{
			name:     "hold: pending to deleted emits nothing",
			stored:   []ap{hold("a1")},
			looks:    []look{{at: 1, apps: []ap{with(hold("a1"), deleted)}}},
			wantApps: map[string]flags{"a1": {canceled: true, deleted: true}},
		},
		{
			name: "hold: canceled after checkout between looks is created then canceled",
			// The order line shows the checkout happened.
			stored: []ap{hold("a1")},
			looks: []look{{at: 1, apps: []ap{with(booking("a1"), set(canceled, 0.5))},
				want: []want{
					{typ: created, resource: "a1", prev: status(pending)},
					{typ: canceledEv, resource: "a1", prev: status(pending)},
				}}},
			wantApps: map[string]flags{"a1": {created: true, canceled: true}},
		},
		{
			name: "first seen canceled after checkout: created then canceled",
			looks: []look{{at: 1, apps: []ap{with(booking("a1"), set(canceled, 0.5))},
				want: []want{{typ: created, resource: "a1"}, {typ: canceledEv, resource: "a1"}}}},
			wantApps: map[string]flags{"a1": {created: true, canceled: true}},
		},
		{
			name:     "first seen canceled without an order: an expired hold, nothing",
			looks:    []look{{at: 1, apps: []ap{with(hold("a1"), set(canceled, 0.5))}}},
			wantApps: map[string]flags{"a1": {canceled: true}},
		},
		{
			name: "first seen deleted booking: created then canceled",
			looks: []look{{at: 1, apps: []ap{with(booking("a1"), deleted)},
				want: []want{{typ: created, resource: "a1"}, {typ: canceledEv, resource: "a1"}}}},
			wantApps: map[string]flags{"a1": {created: true, canceled: true, deleted: true}},
		},
		{
			name: "first seen completed: created then completed",
			looks: []look{{at: 10, apps: []ap{with(with(booking("a1"), past), set(completed, 7))},
				want: []want{{typ: created, resource: "a1"}, {typ: completedEv, resource: "a1"}}}},
			wantApps: map[string]flags{"a1": {created: true, completed: true}},
		},
		{
			name: "first seen past its end: created then completed",
			looks: []look{{at: 10, apps: []ap{with(booking("a1"), past)},
				want: []want{{typ: created, resource: "a1"}, {typ: completedEv, resource: "a1"}}}},
			wantApps: map[string]flags{"a1": {created: true, completed: true}},
		},
		{
			name:   "created and past its end between looks: created then completed",
			stored: []ap{with(hold("a1"), past)},
			looks: []look{{at: 10, apps: []ap{with(with(booking("a1"), past), set(scheduled, 1))},
				want: []want{
					{typ: created, resource: "a1", prev: status(pending)},
					{typ: completedEv, resource: "a1"},
				}}},
			wantApps: map[string]flags{"a1": {created: true, completed: true}},
		},
		{
			name:   "canceled: status becomes canceled",
			stored: []ap{booking("a1")},
			looks: []look{{at: 1, apps: []ap{with(booking("a1"), set(canceled, 0.5))},
				want: []want{{typ: canceledEv, resource: "a1", prev: status(scheduled)}}}},
			wantApps: map[string]flags{"a1": {created: true, canceled: true}},
		},
		{
			name:   "canceled: deletedAt is set",
			stored: []ap{booking("a1")},
			looks: []look{{at: 1, apps: []ap{with(booking("a1"), deleted)},
				want: []want{{typ: canceledEv, resource: "a1",
					prev: map[string]any{"deletedAt": nil}}}}},
			wantApps: map[string]flags{"a1": {created: true, canceled: true, deleted: true}},
		},
		{
			name:   "canceled: a direct look-up answered 404",
			stored: []ap{booking("a1")},
			looks: []look{{at: 1, partial: true, goneApps: []string{"a1"},
				want: []want{{typ: canceledEv, resource: "a1"}}}},
			wantApps: map[string]flags{"a1": {created: true, canceled: true, deleted: true}},
		},
		{
			name:     "canceled: a 404 on a hold emits nothing",
			stored:   []ap{hold("a1")},
			looks:    []look{{at: 1, partial: true, goneApps: []string{"a1"}}},
			wantApps: map[string]flags{"a1": {canceled: true, deleted: true}},
		},
		{
			name:   "canceled: a 404 for an item the same look lists is ignored",
			stored: []ap{booking("a1")},
			looks: []look{{at: 1, partial: true, apps: []ap{booking("a1")},
				goneApps: []string{"a1", "unknown"}}},
			wantApps: map[string]flags{"a1": {created: true}},
		},
		{
			name:   "rescheduled: the slot moved",
			stored: []ap{booking("a1")},
			looks: []look{{at: 1, apps: []ap{with(booking("a1"), moved(50, 51))},
				want: []want{{typ: rescheduled, resource: "a1", disc: slot(50, 51),
					prev: slotPrev(48, 49)}}}},
			wantApps: map[string]flags{"a1": {created: true}},
		},
		{
			name: "rescheduled: moved twice between looks, one event for the final slot",
			// 48-49 → 50-51 → 52-53: only the last is visible.
			stored: []ap{booking("a1")},
			looks: []look{{at: 1, apps: []ap{with(booking("a1"), moved(52, 53))},
				want: []want{{typ: rescheduled, resource: "a1", disc: slot(52, 53),
					prev: slotPrev(48, 49)}}}},
			wantApps: map[string]flags{"a1": {created: true}},
		},
		{
			name:     "rescheduled: moved and moved back between looks is invisible",
			stored:   []ap{booking("a1")},
			looks:    []look{{at: 1, apps: []ap{with(booking("a1"), moved(48, 49))}}},
			wantApps: map[string]flags{"a1": {created: true}},
		},
		{
			name:   "rescheduled: a canceled booking that moves emits nothing",
			stored: []ap{booking("a1")},
			looks: []look{
				{at: 1, apps: []ap{with(booking("a1"), set(canceled, 0.5))},
					want: []want{{typ: canceledEv, resource: "a1", prev: status(scheduled)}}},
				{at: 2, apps: []ap{with(with(booking("a1"), moved(50, 51)), set(canceled, 1.5))}},
			},
			wantApps: map[string]flags{"a1": {created: true, canceled: true}},
		},
		{
			name:   "rescheduled and canceled in one look: canceled only",
			stored: []ap{booking("a1")},
			looks: []look{{at: 1, apps: []ap{with(with(booking("a1"), moved(50, 51)), set(canceled, 0.6))},
				want: []want{{typ: canceledEv, resource: "a1", prev: status(scheduled)}}}},
			wantApps: map[string]flags{"a1": {created: true, canceled: true}},
		},
		{
			name:   "rescheduled: a hold moved and checked out is created only",
			stored: []ap{hold("a1")},
			looks: []look{{at: 1, apps: []ap{with(booking("a1"), moved(50, 51))},
				want: []want{{typ: created, resource: "a1", prev: status(pending)}}}},
			wantApps: map[string]flags{"a1": {created: true}},
		},
		{
			name:   "completed: by time once, a later completed status adds nothing",
			stored: []ap{booking("a1")},
			looks: []look{
				{at: 48.5, apps: []ap{booking("a1")}},
				{at: 49, apps: []ap{booking("a1")}, want: []want{{typ: completedEv, resource: "a1"}}},
				{at: 50, apps: []ap{with(booking("a1"), set(completed, 49.5))}},
			},
			wantApps: map[string]flags{"a1": {created: true, completed: true}},
		},
		{
			name:   "completed: a completed status before the end fires it early, once",
			stored: []ap{booking("a1")},
			looks: []look{
				{at: 48.6, apps: []ap{with(booking("a1"), set(completed, 48.5))},
					want: []want{{typ: completedEv, resource: "a1", prev: status(scheduled)}}},
				{at: 50, apps: []ap{with(booking("a1"), set(completed, 48.5))}},
			},
			wantApps: map[string]flags{"a1": {created: true, completed: true}},
		},
		{
			name:    "completed: catch-up, older than the window, recorded without an event",
			catchUp: 24 * time.Hour,
			stored:  []ap{booking("a1")},
			looks: []look{
				{at: 74, apps: []ap{booking("a1")}, wantLate: 1},
				{at: 75, apps: []ap{booking("a1")}},
			},
			wantApps: map[string]flags{"a1": {created: true, completed: true}},
		},
		{
			name:    "completed: catch-up, within the window, fires",
			catchUp: 24 * time.Hour,
			stored:  []ap{booking("a1")},
			looks: []look{{at: 72, apps: []ap{booking("a1")},
				want: []want{{typ: completedEv, resource: "a1"}}}},
			wantApps: map[string]flags{"a1": {created: true, completed: true}},
		},
		{
			name:    "completed: catch-up applies to a booking first seen long past",
			catchUp: 24 * time.Hour,
			looks: []look{{at: 100, apps: []ap{with(booking("a1"), past)},
				want: []want{{typ: created, resource: "a1"}}, wantLate: 1}},
			wantApps: map[string]flags{"a1": {created: true, completed: true}},
		},
		{
			name:   "missing: kept, marked and listed, no event; reappearing clears it",
			stored: []ap{booking("a1"), booking("a2")},
			looks: []look{
				{at: 1, apps: []ap{booking("a1")}, wantMissingApps: []string{"a2"}},
				{at: 2, apps: []ap{booking("a1")}, wantMissingApps: []string{"a2"}},
				{at: 3, apps: []ap{booking("a1"), booking("a2")}},
			},
			wantApps: map[string]flags{"a1": {created: true}, "a2": {created: true}},
		},
		{
			name:   "missing: stays marked until seen",
			stored: []ap{booking("a1"), booking("a2")},
			looks:  []look{{at: 1, apps: []ap{booking("a1")}, wantMissingApps: []string{"a2"}}},
			wantApps: map[string]flags{"a1": {created: true},
				"a2": {created: true, missing: true}},
		},
		{
			name:   "missing: a partial snapshot never marks anything",
			stored: []ap{booking("a1"), booking("a2")},
			looks: []look{{at: 1, partial: true, apps: []ap{with(booking("a1"), moved(50, 51))},
				want: []want{{typ: rescheduled, resource: "a1", disc: slot(50, 51),
					prev: slotPrev(48, 49)}}}},
			wantApps: map[string]flags{"a1": {created: true}, "a2": {created: true}},
		},
		{
			name:   "missing, then a 404: canceled with the stored body",
			stored: []ap{booking("a1"), booking("a2")},
			looks: []look{
				{at: 1, apps: []ap{booking("a1")}, wantMissingApps: []string{"a2"}},
				{at: 1.1, partial: true, goneApps: []string{"a2"},
					want: []want{{typ: canceledEv, resource: "a2"}}},
			},
			wantApps: map[string]flags{"a1": {created: true},
				"a2": {created: true, canceled: true, deleted: true}},
		},
		{
			name:   "missing: a missing booking completes only once seen again",
			stored: []ap{booking("a1"), booking("a2")},
			looks: []look{
				{at: 1, apps: []ap{booking("a1")}, wantMissingApps: []string{"a2"}},
				{at: 49, partial: true, want: []want{{typ: completedEv, resource: "a1"}}},
				{at: 50, partial: true, apps: []ap{booking("a2")},
					want: []want{{typ: completedEv, resource: "a2"}}},
			},
			wantApps: map[string]flags{"a1": {created: true, completed: true},
				"a2": {created: true, completed: true}},
		},
		{
			name:   "missing: a booking gone after its end is canceled, not completed",
			stored: []ap{booking("a1")},
			looks: []look{
				{at: 50, wantMissingApps: []string{"a1"}},
				{at: 50, partial: true, goneApps: []string{"a1"},
					want: []want{{typ: canceledEv, resource: "a1"}}},
			},
			wantApps: map[string]flags{"a1": {created: true, canceled: true, deleted: true}},
		},
		{
			name:     "missing: a canceled appointment needs no look-up",
			stored:   []ap{with(booking("a1"), set(canceled, 0.2)), booking("a2")},
			looks:    []look{{at: 1, apps: []ap{booking("a2")}}},
			wantApps: map[string]flags{"a1": {created: true, canceled: true}, "a2": {created: true}},
		},
		{
			name:   "listing: a repeated item counts once, the latest copy",
			stored: []ap{booking("a1")},
			looks: []look{{at: 1, apps: []ap{
				with(booking("a1"), func(a *ap) { a.from, a.to, a.updated = 52, 53, 0.7 }),
				with(booking("a1"), moved(50, 51)),
			}, want: []want{{typ: rescheduled, resource: "a1", disc: slot(52, 53),
				prev: slotPrev(48, 49)}}}},
			wantApps: map[string]flags{"a1": {created: true}},
		},
	}
}

func orderRules() []rulesCase {
	paidOrder := or{id: "o1", status: paid, total: 4500, paid: 4500, updated: 0.2}
	refund := func(total int64, updated float64, txs ...tx) func(*or) {
		return func(o *or) { o.refunded, o.updated, o.txs = total, updated, txs }
	}
	return []rulesCase{
		{
			name: "paid: first seen paid after the baseline",
			looks: []look{{at: 1, orders: []or{paidOrder},
				want: []want{{typ: paidEv, resource: "o1", disc: event.PaidDiscriminator(4500)}}}},
			wantOrders: map[string]orderFlags{"o1": {}},
		},
		{
			name:         "paid: unpaid becomes paid",
			storedOrders: []or{{id: "o1", status: unpaid, total: 4500}},
			looks: []look{{at: 1, orders: []or{paidOrder},
				want: []want{{typ: paidEv, resource: "o1", disc: event.PaidDiscriminator(4500),
					prev: map[string]any{"paymentStatus": "unpaid", "paidTotal": int64(0)}}}}},
			wantOrders: map[string]orderFlags{"o1": {}},
		},
		{
			name:         "paid: paid, partially paid after an add-on, paid again",
			storedOrders: []or{paidOrder},
			looks: []look{
				{at: 1, orders: []or{
					{id: "o1", status: partly, total: 6000, paid: 4500, updated: 0.5}}},
				{at: 2, orders: []or{{id: "o1", status: paid, total: 6000, paid: 6000, updated: 1.5}},
					want: []want{{typ: paidEv, resource: "o1", disc: event.PaidDiscriminator(6000),
						prev: map[string]any{
							"paymentStatus": "partially-paid", "paidTotal": int64(4500),
						}}}},
			},
			wantOrders: map[string]orderFlags{"o1": {}},
		},
		{
			name:         "paid: an add-on paid between two looks",
			storedOrders: []or{paidOrder},
			looks: []look{{at: 1,
				orders: []or{{id: "o1", status: paid, total: 6000, paid: 6000, updated: 0.5}},
				want: []want{{typ: paidEv, resource: "o1", disc: event.PaidDiscriminator(6000),
					prev: map[string]any{"paidTotal": int64(4500)}}}}},
			wantOrders: map[string]orderFlags{"o1": {}},
		},
		{
			name:         "paid: still paid, same total, emits nothing",
			storedOrders: []or{paidOrder},
			looks: []look{{at: 1,
				orders: []or{withOrder(paidOrder, func(o *or) { o.updated = 0.5 })}}},
			wantOrders: map[string]orderFlags{"o1": {}},
		},
		{
			name:         "refunded: a partial refund twice, two events",
			storedOrders: []or{paidOrder},
			looks: []look{
				{at: 1, orders: []or{withOrder(paidOrder, refund(1000, 0.5,
					tx{refundID: "r1", amount: 1000, at: 0.5}))},
					want: []want{{typ: refunded, resource: "o1", disc: "refund:r1",
						prev: refundedBefore(0)}}},
				{at: 2, orders: []or{withOrder(paidOrder, refund(2500, 1.5,
					tx{refundID: "r1", amount: 1000, at: 0.5},
					tx{refundID: "r2", amount: 1500, at: 1.5}))},
					want: []want{{typ: refunded, resource: "o1", disc: "refund:r2",
						prev: refundedBefore(1000)}}},
			},
			wantOrders: map[string]orderFlags{"o1": {refunds: []string{"refund:r1", "refund:r2"}}},
		},
		{
			name:         "refunded: two refunds in one look, two events",
			storedOrders: []or{paidOrder},
			looks: []look{{at: 2, orders: []or{withOrder(paidOrder, refund(2500, 1.5,
				tx{refundID: "r1", amount: 1000, at: 0.5}, tx{refundID: "r2", amount: 1500, at: 1.5}))},
				want: []want{
					{typ: refunded, resource: "o1", disc: "refund:r1", prev: refundedBefore(0)},
					{typ: refunded, resource: "o1", disc: "refund:r2", prev: refundedBefore(0)},
				}}},
			wantOrders: map[string]orderFlags{"o1": {refunds: []string{"refund:r1", "refund:r2"}}},
		},
		{
			name:         "refunded: a transaction without refundId goes by its externalId",
			storedOrders: []or{paidOrder},
			looks: []look{{at: 1, orders: []or{withOrder(paidOrder, refund(1000, 0.5,
				tx{externalID: "re_1", amount: 1000, at: 0.5}))},
				want: []want{{typ: refunded, resource: "o1", disc: "refund:re_1",
					prev: refundedBefore(0)}}}},
			wantOrders: map[string]orderFlags{"o1": {refunds: []string{"refund:re_1"}}},
		},
		{
			name:         "refunded: a transaction without any id goes by the total it led to",
			storedOrders: []or{paidOrder},
			looks: []look{{at: 1, orders: []or{withOrder(paidOrder, refund(2500, 0.5,
				tx{amount: 1000, at: 0.4}, tx{amount: 1500, at: 0.5}))},
				want: []want{
					{typ: refunded, resource: "o1", disc: "total:1000", prev: refundedBefore(0)},
					{typ: refunded, resource: "o1", disc: "total:2500", prev: refundedBefore(0)},
				}}},
			wantOrders: map[string]orderFlags{"o1": {refunds: []string{"total:1000", "total:2500"}}},
		},
		{
			name:         "refunded: no transaction, refundedTotal rises, once per total",
			storedOrders: []or{paidOrder},
			looks: []look{
				{at: 1, orders: []or{withOrder(paidOrder, refund(1000, 0.5))},
					want: []want{{typ: refunded, resource: "o1", disc: "total:1000",
						prev: refundedBefore(0)}}},
				{at: 2, orders: []or{withOrder(paidOrder, refund(1500, 1.5))},
					want: []want{{typ: refunded, resource: "o1", disc: "total:1500",
						prev: refundedBefore(1000)}}},
				{at: 3, orders: []or{withOrder(paidOrder, refund(1500, 2.5))}},
			},
			wantOrders: map[string]orderFlags{"o1": {refunds: []string{"total:1000", "total:1500"}}},
		},
		{
			name:         "refunded: refund-owed alone emits nothing",
			storedOrders: []or{paidOrder},
			looks: []look{{at: 1, orders: []or{withOrder(paidOrder, func(o *or) {
				o.refund, o.updated = opencals.RefundOwed, 0.5
			})}}},
			wantOrders: map[string]orderFlags{"o1": {}},
		},
		{
			name:         "refunded: failed and pending refund transactions emit nothing",
			storedOrders: []or{paidOrder},
			looks: []look{{at: 1, orders: []or{withOrder(paidOrder, refund(0, 0.5,
				tx{refundID: "r1", amount: 1000, status: opencals.TransactionFailed},
				tx{refundID: "r2", amount: 1000, status: opencals.TransactionPending},
				tx{externalID: "pi_1", amount: 4500, kind: opencals.TransactionSale}))}}},
			wantOrders: map[string]orderFlags{"o1": {}},
		},
		{
			name:         "order: missing, then a 404: deleted without an event",
			storedOrders: []or{paidOrder},
			looks: []look{
				{at: 1, wantMissingOrders: []string{"o1"}},
				{at: 1.1, partial: true, goneOrders: []string{"o1"}},
				{at: 2},
			},
			wantOrders: map[string]orderFlags{"o1": {deleted: true}},
		},
		{
			name:         "order: missing, then seen again",
			storedOrders: []or{paidOrder},
			looks: []look{
				{at: 1, wantMissingOrders: []string{"o1"}},
				{at: 2, orders: []or{paidOrder}},
			},
			wantOrders: map[string]orderFlags{"o1": {}},
		},
	}
}

func baselineRules() []rulesCase {
	history := []ap{
		booking("a1"),
		with(booking("a2"), func(a *ap) { a.status, a.updated = canceled, 0.5 }),
		with(booking("a3"), func(a *ap) { a.from, a.to, a.status, a.updated = 5, 6, completed, 6 }),
		with(booking("a4"), func(a *ap) { a.from, a.to = 5, 6 }),
		hold("a5"),
	}
	historyOrder := or{id: "o1", status: paid, total: 4500, paid: 4500, refunded: 1000, updated: 0.5,
		txs: []tx{{refundID: "r1", amount: 1000, at: 0.5}}}
	historyFlags := map[string]flags{
		"a1": {created: true}, "a2": {created: true, canceled: true},
		"a3": {created: true, completed: true}, "a4": {created: true, completed: true}, "a5": {},
	}
	secondRefund := withOrder(historyOrder, func(o *or) {
		o.refunded, o.updated = 2000, 10.5
		o.txs = append(o.txs, tx{refundID: "r2", amount: 1000, at: 10.5})
	})
	return []rulesCase{
		{
			name: "baseline silent: flags for what already happened, no events", mode: BaselineSilent,
			firstSight: true,
			looks: []look{
				{at: 10, apps: history, orders: []or{historyOrder}, wantBaseline: true},
				{at: 11, apps: history, orders: []or{secondRefund},
					want: []want{{typ: refunded, resource: "o1", disc: "refund:r2",
						prev: refundedBefore(1000)}}},
			},
			wantApps:   historyFlags,
			wantOrders: map[string]orderFlags{"o1": {refunds: []string{"refund:r1", "refund:r2"}}},
		},
		{
			name: "baseline silent is the default", firstSight: true,
			looks:      []look{{at: 10, apps: history, orders: []or{historyOrder}, wantBaseline: true}},
			wantApps:   historyFlags,
			wantOrders: map[string]orderFlags{"o1": {refunds: []string{"refund:r1"}}},
		},
		{
			name: "baseline when_needed on first sight is silent", mode: BaselineWhenNeeded,
			firstSight: true,
			looks:      []look{{at: 10, apps: history, orders: []or{historyOrder}, wantBaseline: true}},
			wantApps:   historyFlags,
			wantOrders: map[string]orderFlags{"o1": {refunds: []string{"refund:r1"}}},
		},
		{
			name: "baseline emit: the history as events, in order, old completions included",
			mode: BaselineEmit, firstSight: true, catchUp: time.Hour,
			looks: []look{{at: 10, apps: history, orders: []or{historyOrder}, wantBaseline: true,
				want: []want{
					{typ: created, resource: "a1"},
					{typ: created, resource: "a2"}, {typ: canceledEv, resource: "a2"},
					{typ: created, resource: "a3"}, {typ: completedEv, resource: "a3"},
					{typ: created, resource: "a4"}, {typ: completedEv, resource: "a4"},
					{typ: paidEv, resource: "o1", disc: "paid:4500"},
					{typ: refunded, resource: "o1", disc: "refund:r1"},
				}}},
			wantApps:   historyFlags,
			wantOrders: map[string]orderFlags{"o1": {refunds: []string{"refund:r1"}}},
		},
		{
			name: "rebaseline: when_needed and nothing stored for a baselined customer",
			mode: BaselineWhenNeeded,
			looks: []look{{at: 10, apps: history, orders: []or{historyOrder},
				wantBaseline: true, wantRebaselined: true}},
			wantApps:   historyFlags,
			wantOrders: map[string]orderFlags{"o1": {refunds: []string{"refund:r1"}}},
		},
		{
			name: "rebaseline: not when nothing is listed either", mode: BaselineWhenNeeded,
			looks: []look{{at: 10}},
		},
		{
			name: "rebaseline: never in silent mode, a customer's first booking fires",
			mode: BaselineSilent,
			looks: []look{{at: 1, apps: []ap{booking("a1")},
				want: []want{{typ: created, resource: "a1"}}}},
			wantApps: map[string]flags{"a1": {created: true}},
		},
	}
}

func TestRules(t *testing.T) {
	t.Parallel()
	var tests []rulesCase
	tests = append(tests, appointmentRules()...)
	tests = append(tests, orderRules()...)
	tests = append(tests, baselineRules()...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := runLooks(t, tc)
			checkFlags(t, st, tc)
		})
	}
}

// runLooks applies a case's looks in turn, checking each, and returns the
// final state. After each look it applies the same snapshot again, which
// must change nothing.
func runLooks(t *testing.T, tc rulesCase) State {
	t.Helper()
	st := State{Baselined: !tc.firstSight}
	if tc.stored != nil || tc.storedOrders != nil {
		res, err := Compute(State{}, listing(t, tc.stored, tc.storedOrders), policy(at(0), "", 0))
		if err != nil {
			t.Fatalf("Compute(stored) error = %v", err)
		}
		st = carry(State{}, res)
	}
	for i, l := range tc.looks {
		p := policy(at(l.at), tc.mode, tc.catchUp)
		snap := l.snapshot(t)
		res, err := Compute(st, snap, p)
		if err != nil {
			t.Fatalf("look %d: Compute(...) error = %v", i, err)
		}
		checkEnvelope(t, res, p)
		checkLook(t, i, l, res)
		st = carry(st, res)
		again, err := Compute(st, snap, p)
		if err != nil || len(again.Events) > 0 || len(again.Appointments) > 0 || len(again.Orders) > 0 {
			t.Errorf("look %d again: Compute(...) = %d events, %d+%d records, %v; want nothing",
				i, len(again.Events), len(again.Appointments), len(again.Orders), err)
		}
	}
	return st
}

func checkLook(t *testing.T, i int, l look, res Result) {
	t.Helper()
	var got []want
	for _, ev := range res.Events {
		got = append(got, want{typ: ev.Type, resource: ev.ResourceID,
			disc: discriminatorOf(ev), prev: ev.Data.Previous})
	}
	if diff := cmp.Diff(l.want, got, cmp.AllowUnexported(want{})); diff != "" {
		t.Errorf("look %d: Compute(...) events mismatch (-want +got):\n%s", i, diff)
	}
	if res.LateCompletions != l.wantLate {
		t.Errorf("look %d: Compute(...).LateCompletions = %d; want %d",
			i, res.LateCompletions, l.wantLate)
	}
	if diff := cmp.Diff(l.wantMissingApps, res.MissingAppointments); diff != "" {
		t.Errorf("look %d: Compute(...).MissingAppointments mismatch (-want +got):\n%s", i, diff)
	}
	if diff := cmp.Diff(l.wantMissingOrders, res.MissingOrders); diff != "" {
		t.Errorf("look %d: Compute(...).MissingOrders mismatch (-want +got):\n%s", i, diff)
	}
	if res.Baseline != l.wantBaseline || res.Rebaselined != l.wantRebaselined {
		t.Errorf("look %d: Compute(...) baseline %v, rebaselined %v; want %v, %v",
			i, res.Baseline, res.Rebaselined, l.wantBaseline, l.wantRebaselined)
	}
}

func checkFlags(t *testing.T, st State, tc rulesCase) {
	t.Helper()
	gotApps := make(map[string]flags)
	for id, rec := range st.Appointments {
		gotApps[id] = flags{created: rec.Created, canceled: rec.Canceled,
			completed: rec.Completed, deleted: rec.Deleted, missing: rec.Missing}
	}
	gotOrders := make(map[string]orderFlags)
	for id, rec := range st.Orders {
		gotOrders[id] = orderFlags{deleted: rec.Deleted, missing: rec.Missing, refunds: rec.Refunds}
	}
	opts := []cmp.Option{cmp.AllowUnexported(flags{}, orderFlags{})}
	if tc.wantApps == nil {
		tc.wantApps = map[string]flags{}
	}
	if tc.wantOrders == nil {
		tc.wantOrders = map[string]orderFlags{}
	}
	if diff := cmp.Diff(tc.wantApps, gotApps, opts...); diff != "" {
		t.Errorf("appointment records mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(tc.wantOrders, gotOrders, opts...); diff != "" {
		t.Errorf("order records mismatch (-want +got):\n%s", diff)
	}
}
