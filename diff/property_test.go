package diff

import (
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
)

// TestComputeProperty runs random merchant activity on a model of a store
// and looks at it at random moments, the way the daemon does: a complete
// listing, then direct look-ups for what went missing, the state carried
// from look to look. The events must be exactly the changes observable
// between two looks, as an oracle written from the rules (not from the
// code) derives them; no id may come twice; a look applied again must
// change nothing.
func TestComputeProperty(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		m := newMerchant(rapid.SampledFrom([]Baseline{BaselineSilent, BaselineEmit}).Draw(t, "mode"))
		t.Repeat(map[string]func(*rapid.T){
			"book":        m.book,
			"hold":        m.hold,
			"checkout":    m.checkout,
			"expire hold": m.expire,
			"pay":         m.pay,
			"add-on":      m.addOn,
			"cancel":      m.cancel,
			"reschedule":  m.reschedule,
			"refund":      m.refund,
			"complete":    m.complete,
			"delete":      m.deleteAppointment,
			"vanish":      m.vanish,
			"wait":        m.wait,
			"look":        m.look,
		})
	})
}

// merchant is the model: what the API would answer now, plus the oracle's
// memory of what earlier looks observed, plus the diff's carried state.
type merchant struct {
	mode   Baseline
	now    float64 // hours on the test timeline
	seq    int
	apps   []*modelAppointment
	orders []*modelOrder

	state  State
	looked bool
	oracle oracle
	ids    map[string]bool
}

type modelAppointment struct {
	ap
	vanished bool
	slots    map[[2]float64]bool // every slot it had, so moves never reuse one
}

type modelOrder struct {
	or
	// withTx says refunds leave transactions; without, only the total
	// shows them.
	withTx   bool
	vanished bool
}

func newMerchant(mode Baseline) *merchant {
	return &merchant{mode: mode, ids: map[string]bool{}, oracle: newOracle()}
}

func (m *merchant) next(prefix string) string {
	m.seq++
	return fmt.Sprintf("%s%d", prefix, m.seq)
}

// pick draws one of the appointments that satisfy ok, or skips the action.
func (m *merchant) pick(t *rapid.T, ok func(*modelAppointment) bool) *modelAppointment {
	var c []*modelAppointment
	for _, a := range m.apps {
		if !a.vanished && ok(a) {
			c = append(c, a)
		}
	}
	if len(c) == 0 {
		t.Skip("no such appointment")
	}
	return rapid.SampledFrom(c).Draw(t, "appointment")
}

func (m *merchant) pickOrder(t *rapid.T, ok func(*modelOrder) bool) *modelOrder {
	var c []*modelOrder
	for _, o := range m.orders {
		if !o.vanished && ok(o) {
			c = append(c, o)
		}
	}
	if len(c) == 0 {
		t.Skip("no such order")
	}
	return rapid.SampledFrom(c).Draw(t, "order")
}

func (m *merchant) orderOf(a *modelAppointment) *modelOrder {
	for _, o := range m.orders {
		if o.id == a.order {
			return o
		}
	}
	return nil
}

func (m *merchant) newAppointment(t *rapid.T,
	status opencals.AppointmentStatus,
) *modelAppointment {
	a := &modelAppointment{ap: ap{id: m.next("a"), status: status, created: m.now,
		updated: m.now}, slots: map[[2]float64]bool{}}
	m.move(t, a)
	m.apps = append(m.apps, a)
	return a
}

// move gives a a slot it never had, starting 1 to 72 hours from now.
func (m *merchant) move(t *rapid.T, a *modelAppointment) {
	from := m.now + float64(rapid.IntRange(4, 288).Draw(t, "quarters ahead"))/4
	for a.slots[[2]float64{from, from + 1}] {
		from += 0.25
	}
	a.from, a.to, a.updated = from, from+1, m.now
	a.slots[[2]float64{a.from, a.to}] = true
}

// checkOut links a to a new order, paid or not.
func (m *merchant) checkOut(t *rapid.T, a *modelAppointment) {
	o := &modelOrder{or: or{id: m.next("o"), status: opencals.PaymentUnpaid, total: 4500,
		updated: m.now}, withTx: rapid.Bool().Draw(t, "refunds leave transactions")}
	if rapid.Bool().Draw(t, "paid at checkout") {
		o.status, o.paid = opencals.PaymentPaid, o.total
	}
	m.orders = append(m.orders, o)
	a.order, a.status, a.updated = o.id, opencals.AppointmentScheduled, m.now
}

func (m *merchant) book(t *rapid.T) {
	m.checkOut(t, m.newAppointment(t, opencals.AppointmentScheduled))
}

func (m *merchant) hold(t *rapid.T) { m.newAppointment(t, opencals.AppointmentPending) }

func isLiveHold(a *modelAppointment) bool {
	return a.status == opencals.AppointmentPending && !a.deleted
}

func isLiveBooking(a *modelAppointment) bool {
	return a.status == opencals.AppointmentScheduled && !a.deleted
}

func (m *merchant) checkout(t *rapid.T) { m.checkOut(t, m.pick(t, isLiveHold)) }

func (m *merchant) expire(t *rapid.T) {
	a := m.pick(t, isLiveHold)
	a.status, a.updated = opencals.AppointmentCanceled, m.now
}

func (m *merchant) pay(t *rapid.T) {
	o := m.pickOrder(t, func(o *modelOrder) bool { return o.status != opencals.PaymentPaid })
	o.status, o.paid, o.updated = opencals.PaymentPaid, o.total, m.now
}

func (m *merchant) addOn(t *rapid.T) {
	o := m.pickOrder(t, func(*modelOrder) bool { return true })
	o.total += 1500
	if o.status == opencals.PaymentPaid {
		o.status = opencals.PaymentPartiallyPaid
	}
	o.updated = m.now
}

func (m *merchant) cancel(t *rapid.T) {
	a := m.pick(t, isLiveBooking)
	a.status, a.updated = opencals.AppointmentCanceled, m.now
	if o := m.orderOf(a); o != nil && !o.vanished && o.paid > o.refunded {
		o.refund, o.updated = opencals.RefundOwed, m.now
	}
}

func (m *merchant) reschedule(t *rapid.T) {
	m.move(t, m.pick(t, func(a *modelAppointment) bool { return isLiveBooking(a) || isLiveHold(a) }))
}

func (m *merchant) refund(t *rapid.T) {
	o := m.pickOrder(t, func(o *modelOrder) bool { return o.paid > o.refunded })
	amount := min(int64(1000), o.paid-o.refunded)
	o.refunded, o.refund, o.updated = o.refunded+amount, opencals.RefundPartially, m.now
	if o.refunded == o.paid {
		o.refund = opencals.RefundFully
	}
	if o.withTx {
		r := tx{amount: amount, at: m.now}
		if rapid.Bool().Draw(t, "refund id, else only an external id") {
			r.refundID = m.next("r")
		} else {
			r.externalID = m.next("re_")
		}
		o.txs = append(o.txs, r)
	}
}

func (m *merchant) complete(t *rapid.T) {
	a := m.pick(t, isLiveBooking)
	a.status, a.updated = opencals.AppointmentCompleted, m.now
}

func (m *merchant) deleteAppointment(t *rapid.T) {
	a := m.pick(t, func(a *modelAppointment) bool { return !a.deleted })
	a.deleted, a.updated = true, m.now
}

// vanish hard-deletes an appointment or an order: gone from listings, 404
// on a look-up.
func (m *merchant) vanish(t *rapid.T) {
	if rapid.Bool().Draw(t, "an order") {
		m.pickOrder(t, func(*modelOrder) bool { return true }).vanished = true
		return
	}
	m.pick(t, func(*modelAppointment) bool { return true }).vanished = true
}

func (m *merchant) wait(t *rapid.T) {
	m.now += float64(rapid.IntRange(1, 96).Draw(t, "quarters")) / 4
}

// listing is what the API lists now.
func (m *merchant) listing(t *rapid.T) Snapshot {
	var apps []ap
	var orders []or
	for _, a := range m.apps {
		if !a.vanished {
			apps = append(apps, a.ap)
		}
	}
	for _, o := range m.orders {
		if !o.vanished {
			orders = append(orders, o.or)
		}
	}
	return listing(t, apps, orders)
}

// lookUp answers direct look-ups of the missing ids.
func (m *merchant) lookUp(t *rapid.T, apps, orders []string) Snapshot {
	var snap Snapshot
	for _, a := range m.apps {
		if slices.Contains(apps, a.id) {
			if a.vanished {
				snap.GoneAppointments = append(snap.GoneAppointments, a.id)
			} else {
				snap.Appointments = append(snap.Appointments, a.item(t))
			}
		}
	}
	for _, o := range m.orders {
		if slices.Contains(orders, o.id) {
			if o.vanished {
				snap.GoneOrders = append(snap.GoneOrders, o.id)
			} else {
				snap.Orders = append(snap.Orders, o.item(t))
			}
		}
	}
	return snap
}

// look is one poll of the customer: the listing, the look-ups it asks
// for, and the checks.
func (m *merchant) look(t *rapid.T) {
	p := policy(at(m.now), m.mode, 0)
	var got []event.Event
	apply := func(snap Snapshot) Result {
		res, err := Compute(m.state, snap, p)
		if err != nil {
			t.Fatalf("Compute(...) error = %v", err)
		}
		checkEnvelope(t, res, p)
		got = append(got, res.Events...)
		m.state = carry(m.state, res)
		again, err := Compute(m.state, snap, p)
		if err != nil || len(again.Events)+len(again.Appointments)+len(again.Orders) > 0 {
			t.Fatalf("Compute(same snapshot again) = %d events, %d+%d records, %v; want nothing",
				len(again.Events), len(again.Appointments), len(again.Orders), err)
		}
		return res
	}
	res := apply(m.listing(t))
	if len(res.MissingAppointments)+len(res.MissingOrders) > 0 {
		apply(m.lookUp(t, res.MissingAppointments, res.MissingOrders))
	}

	want := m.oracle.observe(m, !m.looked && m.mode != BaselineEmit)
	m.looked = true
	if diff := cmp.Diff(want, byResource(got)); diff != "" {
		t.Fatalf("at hour %v, events mismatch (-want +got):\n%s", m.now, diff)
	}
	for _, ev := range got {
		if m.ids[ev.ID] {
			t.Fatalf("event id %s (%s %s) emitted twice", ev.ID, ev.Type, ev.ResourceID)
		}
		m.ids[ev.ID] = true
	}
}

// byResource lists each resource's events as "type discriminator", in the
// order emitted.
func byResource(events []event.Event) map[string][]string {
	out := map[string][]string{}
	for _, ev := range events {
		out[ev.ResourceID] = append(out[ev.ResourceID],
			fmt.Sprintf("%s %s", ev.Type, discriminatorOf(ev)))
	}
	return out
}

// oracle remembers what the looks so far observed of each resource and
// derives, from a new observation, the events the rules promise. It reads
// the model, never the diff's records.
type oracle struct {
	// booked: some look saw the appointment checked out (in this model,
	// every booking has an order and no hold has one).
	booked map[string]bool
	// ended: some look saw it canceled, deleted or gone.
	ended map[string]bool
	// completed: its completion was due at some look.
	completed map[string]bool
	// slot: the slot the last look saw.
	slot map[string][2]float64
	// lastOrder: the order as the last look saw it.
	lastOrder map[string]or
	// gone: a look-up found the appointment gone; nothing more can be
	// seen of it.
	gone map[string]bool
}

func newOracle() oracle {
	return oracle{booked: map[string]bool{}, ended: map[string]bool{},
		completed: map[string]bool{}, slot: map[string][2]float64{},
		lastOrder: map[string]or{}, gone: map[string]bool{}}
}

// observe takes in a look at the model and returns the events it should
// produce; silent is the silent baseline, which produces none.
func (o *oracle) observe(m *merchant, silent bool) map[string][]string {
	want := map[string][]string{}
	add := func(id, s string) {
		if !silent {
			want[id] = append(want[id], s)
		}
	}
	for _, a := range m.apps {
		o.observeAppointment(m, a, add)
	}
	for _, ord := range m.orders {
		o.observeOrder(ord, add)
	}
	return want
}

func (o *oracle) observeAppointment(m *merchant, a *modelAppointment, add func(id, s string)) {
	_, seenBefore := o.slot[a.id]
	if o.gone[a.id] || a.vanished && (!seenBefore || o.ended[a.id]) {
		// Never seen, or nothing left to learn: no look-up is made.
		return
	}
	gone := a.vanished
	booked := o.booked[a.id] || !gone && a.order != ""
	ended := o.ended[a.id] || gone || a.deleted || a.status == opencals.AppointmentCanceled
	if booked && !o.booked[a.id] {
		add(a.id, string(event.AppointmentCreated)+" ")
	}
	last := o.slot[a.id]
	if o.booked[a.id] && !ended && seenBefore && last != [2]float64{a.from, a.to} {
		add(a.id, string(event.AppointmentRescheduled)+" "+slot(a.from, a.to))
	}
	if booked && ended && !o.ended[a.id] {
		add(a.id, string(event.AppointmentCanceled)+" ")
	}
	due := a.status == opencals.AppointmentCompleted || a.to <= m.now
	if booked && !ended && due && !o.completed[a.id] {
		add(a.id, string(event.AppointmentCompleted)+" ")
		o.completed[a.id] = true
	}
	o.booked[a.id], o.ended[a.id], o.gone[a.id] = booked, ended, gone
	if !gone {
		o.slot[a.id] = [2]float64{a.from, a.to}
	}
}

func (o *oracle) observeOrder(ord *modelOrder, add func(id, s string)) {
	if ord.vanished {
		return // a gone order emits nothing; it is only marked deleted
	}
	last, seenBefore := o.lastOrder[ord.id]
	if ord.status == opencals.PaymentPaid &&
		(!seenBefore || last.status != opencals.PaymentPaid || ord.paid > last.paid) {
		add(ord.id, fmt.Sprintf("%s paid:%d", event.OrderPaid, ord.paid))
	}
	for _, t := range ord.txs[len(last.txs):] {
		add(ord.id, fmt.Sprintf("%s refund:%s%s", event.OrderRefunded, t.refundID, t.externalID))
	}
	if !ord.withTx && ord.refunded > last.refunded {
		add(ord.id, fmt.Sprintf("%s total:%d", event.OrderRefunded, ord.refunded))
	}
	o.lastOrder[ord.id] = ord.or
}
