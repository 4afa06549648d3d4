//go:build faults

package faults

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals/sandbox"
)

// The oracle answers two questions about a run, from the sandbox's change
// log and the state the daemon's baselines recorded before any activity:
// which events polling must have delivered (Must), and which ids any
// correct daemon could have produced at all (Explainable). Polling sees
// states, not changes, so Must asks only for what every sequence of looks
// observes: a booking, a cancellation, a refund and a completion leave
// lasting marks, while of several reschedules, or of a payment followed by
// an add-on, only the final state is sure to be seen. Holds emit nothing.

// ApptStart is an appointment as the baseline stored it.
type ApptStart struct {
	ID, CustomerID string
	From, To       time.Time
	// Booked, Canceled and Completed are the baseline's flags: the events
	// of those names are covered and must not fire.
	Booked, Canceled, Completed bool
}

// OrderStart is an order as the baseline stored it.
type OrderStart struct {
	ID, CustomerID string
	PaidTotal      int64
}

// Start is what every customer's silent baseline recorded before the
// merchant activity began.
type Start struct {
	StoreID      string
	Appointments []ApptStart
	Orders       []OrderStart
}

// Expectation is one event id the oracle derived, and the change log
// entries it rests on.
type Expectation struct {
	ID            string
	Type          event.Type
	ResourceID    string
	Discriminator string
	Seqs          []int64
}

// String names the event for failure messages.
func (e Expectation) String() string {
	return fmt.Sprintf("%s %s %q (changes %v)", e.Type, e.ResourceID, e.Discriminator, e.Seqs)
}

// Options bound what the oracle requires.
type Options struct {
	// CompletedBy: a booking whose end passed by then must be completed.
	CompletedBy time.Time
	// Now: completions whose end passed by then may have fired.
	Now time.Time
	// Unobservable customers (tokens revoked) are required nothing, and
	// any completion of their bookings is allowed: the daemon completes by
	// the clock what it can no longer look at.
	Unobservable map[string]bool
}

// Slot is an appointment's time range.
type Slot struct{ From, To time.Time }

func (s Slot) equal(o Slot) bool { return s.From.Equal(o.From) && s.To.Equal(o.To) }

func (s Slot) discriminator() string { return event.SlotDiscriminator(s.From, s.To) }

// span is a slot and the time it was the appointment's current slot;
// until is zero while it still is.
type span struct {
	Slot
	until time.Time
}

// apptLife is what the log and the baseline say about one appointment.
type apptLife struct {
	id, customer                  string
	booked                        bool
	bookedSeq                     int64 // the booking's change; 0 if booked before the log
	spans                         []span
	canceledAt                    time.Time
	cancelSeq                     int64
	startCanceled, startCompleted bool
	completedSeq                  int64 // a merchant completed it (status completed)
	seqs                          []int64
}

// orderLife is what the log and the baseline say about one order.
type orderLife struct {
	id, customer string
	paid         int64
	totals       []int64 // the paid total after each payment in the log
	paidSeqs     []int64
	lastPaidSeq  int64 // the last payment, if no add-on followed it
	refunds      []string
	refundSeqs   []int64
}

// Oracle holds the replayed life of every appointment and order.
type Oracle struct {
	storeID string
	appts   map[string]*apptLife
	orders  map[string]*orderLife
}

// NewOracle replays the change log over the baseline.
func NewOracle(start Start, changes []sandbox.Change) *Oracle {
	o := &Oracle{storeID: start.StoreID, appts: map[string]*apptLife{},
		orders: map[string]*orderLife{}}
	for _, a := range start.Appointments {
		o.appts[a.ID] = &apptLife{id: a.ID, customer: a.CustomerID, booked: a.Booked,
			spans: []span{{Slot: Slot{a.From, a.To}}}, startCanceled: a.Canceled,
			startCompleted: a.Completed}
	}
	for _, or := range start.Orders {
		o.orders[or.ID] = &orderLife{id: or.ID, customer: or.CustomerID, paid: or.PaidTotal}
	}
	for _, c := range changes {
		o.apply(c)
	}
	return o
}

// apply replays one change.
func (o *Oracle) apply(c sandbox.Change) {
	switch c.Kind {
	case sandbox.KindHold, sandbox.KindRescheduled:
		o.appt(c).move(Slot{c.From, c.To}, c.At)
	case sandbox.KindBooked:
		a := o.appt(c)
		a.booked, a.bookedSeq = true, c.Seq
		a.move(Slot{c.From, c.To}, c.At)
		o.order(c)
	case sandbox.KindCanceled, sandbox.KindDeleted:
		a := o.appt(c)
		if a.canceledAt.IsZero() && !a.startCanceled {
			a.canceledAt, a.cancelSeq = c.At, c.Seq
			a.booked = a.booked || c.OrderID != ""
		}
	case sandbox.KindCompleted:
		o.appt(c).completedSeq = c.Seq
	case sandbox.KindPaid:
		or := o.order(c)
		or.paid += c.Amount
		or.totals, or.paidSeqs = append(or.totals, or.paid), append(or.paidSeqs, c.Seq)
		or.lastPaidSeq = c.Seq
	case sandbox.KindAddOn:
		o.order(c).lastPaidSeq = 0
	case sandbox.KindRefunded:
		or := o.order(c)
		or.refunds, or.refundSeqs = append(or.refunds, c.RefundID), append(or.refundSeqs, c.Seq)
	}
}

func (o *Oracle) appt(c sandbox.Change) *apptLife {
	a := o.appts[c.AppointmentID]
	if a == nil {
		a = &apptLife{id: c.AppointmentID, customer: c.CustomerID}
		o.appts[c.AppointmentID] = a
	}
	a.seqs = append(a.seqs, c.Seq)
	return a
}

func (o *Oracle) order(c sandbox.Change) *orderLife {
	or := o.orders[c.OrderID]
	if or == nil {
		or = &orderLife{id: c.OrderID, customer: c.CustomerID}
		o.orders[c.OrderID] = or
	}
	return or
}

// move makes s the current slot from at on; the same slot again is no move.
func (a *apptLife) move(s Slot, at time.Time) {
	if n := len(a.spans); n > 0 {
		if a.spans[n-1].equal(s) {
			return
		}
		a.spans[n-1].until = at
	}
	a.spans = append(a.spans, span{Slot: s})
}

func (a *apptLife) current() Slot { return a.spans[len(a.spans)-1].Slot }

// live says the appointment is a booking nobody canceled.
func (a *apptLife) live() bool {
	return a.booked && a.canceledAt.IsZero() && !a.startCanceled && len(a.spans) > 0
}

func (o *Oracle) expect(t event.Type, resourceID, disc string, seqs ...int64) Expectation {
	return Expectation{ID: event.ID(o.storeID, t, resourceID, disc), Type: t,
		ResourceID: resourceID, Discriminator: disc, Seqs: seqs}
}

// Must lists the events polling must have delivered. seen holds the slots
// that delivered events showed for each appointment: a booking seen at a
// slot other than its final one must be reported as moved to the final one.
func (o *Oracle) Must(opts Options, seen map[string][]Slot) []Expectation {
	var out []Expectation
	for _, a := range o.appts {
		if !opts.Unobservable[a.customer] {
			out = append(out, o.mustAppt(a, opts, seen[a.id])...)
		}
	}
	for _, or := range o.orders {
		if !opts.Unobservable[or.customer] {
			out = append(out, o.mustOrder(or)...)
		}
	}
	sortExpectations(out)
	return out
}

func (o *Oracle) mustAppt(a *apptLife, opts Options, seen []Slot) []Expectation {
	var out []Expectation
	if a.bookedSeq != 0 {
		out = append(out, o.expect(event.AppointmentCreated, a.id, "", a.bookedSeq))
	}
	if a.cancelSeq != 0 && a.booked {
		out = append(out, o.expect(event.AppointmentCanceled, a.id, "", a.cancelSeq))
	}
	if !a.live() {
		return out
	}
	if !a.startCompleted && (a.completedSeq != 0 || !a.current().To.After(opts.CompletedBy)) {
		out = append(out, o.expect(event.AppointmentCompleted, a.id, "", a.seqs...))
	}
	final := a.current()
	for _, s := range seen {
		if !s.equal(final) {
			out = append(out, o.expect(event.AppointmentRescheduled, a.id,
				final.discriminator(), a.seqs...))
			break
		}
	}
	return out
}

func (o *Oracle) mustOrder(or *orderLife) []Expectation {
	var out []Expectation
	if or.lastPaidSeq != 0 {
		out = append(out, o.expect(event.OrderPaid, or.id, event.PaidDiscriminator(or.paid),
			or.lastPaidSeq))
	}
	for i, id := range or.refunds {
		out = append(out, o.expect(event.OrderRefunded, or.id, event.RefundDiscriminator(id, 0),
			or.refundSeqs[i]))
	}
	return out
}

// Explainable lists, by id, every event some correct daemon could have
// produced from this log: anything else delivered is a wrong event.
func (o *Oracle) Explainable(opts Options) map[string]Expectation {
	out := map[string]Expectation{}
	add := func(e Expectation) { out[e.ID] = e }
	for _, a := range o.appts {
		for _, e := range o.explainAppt(a, opts) {
			add(e)
		}
	}
	for _, or := range o.orders {
		for i, total := range or.totals {
			add(o.expect(event.OrderPaid, or.id, event.PaidDiscriminator(total), or.paidSeqs[i]))
		}
		for _, e := range o.mustOrder(or) {
			add(e)
		}
	}
	return out
}

func (o *Oracle) explainAppt(a *apptLife, opts Options) []Expectation {
	var out []Expectation
	if a.bookedSeq != 0 {
		out = append(out, o.expect(event.AppointmentCreated, a.id, "", a.bookedSeq))
	}
	if a.cancelSeq != 0 && a.booked {
		out = append(out, o.expect(event.AppointmentCanceled, a.id, "", a.cancelSeq))
	}
	if a.booked && len(a.spans) > 1 {
		for _, s := range a.spans {
			out = append(out, o.expect(event.AppointmentRescheduled, a.id, s.discriminator(),
				a.seqs...))
		}
	}
	if a.booked && !a.startCompleted && !a.startCanceled &&
		(opts.Unobservable[a.customer] || a.completedSeq != 0 || a.ended(opts.Now)) {
		out = append(out, o.expect(event.AppointmentCompleted, a.id, "", a.seqs...))
	}
	return out
}

// ended says some slot of the appointment reached its end while it was the
// current one and the booking stood, by now.
func (a *apptLife) ended(now time.Time) bool {
	for _, s := range a.spans {
		last := now
		if !s.until.IsZero() && s.until.Before(last) {
			last = s.until
		}
		if !a.canceledAt.IsZero() && a.canceledAt.Before(last) {
			last = a.canceledAt
		}
		if !s.To.After(last) {
			return true
		}
	}
	return false
}

func sortExpectations(es []Expectation) {
	slices.SortFunc(es, func(a, b Expectation) int {
		return cmp.Or(cmp.Compare(a.ResourceID, b.ResourceID), cmp.Compare(a.Type, b.Type),
			cmp.Compare(a.Discriminator, b.Discriminator))
	})
}
