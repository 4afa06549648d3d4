package sandbox

import (
	"context"
	"fmt"
	"time"
)

// The merchant operations. Each public method looks its target up, checks
// the operation applies, changes the model through an internal method that
// takes the time explicitly (the seed reuses them with past times), and
// appends what an observer of the API could see to the change log.

// Booking is what Book created.
type Booking struct {
	AppointmentID string `json:"appointmentId"`
	OrderID       string `json:"orderId"`
}

// Hold creates a pending appointment (a cart not checked out) without an
// order. The product is the one whose duration matches to-from, else the
// consultation, which allows any length.
func (s *Sandbox) Hold(customerID string, from, to time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.customerByID[customerID]
	if !ok {
		return "", fmt.Errorf("holding a slot for customer %s: %w", customerID, ErrNotFound)
	}
	if !to.After(from) {
		return "", fmt.Errorf("holding a slot from %v to %v: %w", from, to, ErrInvalidArgument)
	}
	now := s.clock.Now()
	a := s.hold(c, from, to, now)
	s.record(Change{At: now, Kind: KindHold, CustomerID: c.id, AppointmentID: a.id,
		From: a.from, To: a.to})
	return a.id, nil
}

// Checkout turns a pending hold into a scheduled appointment with an
// unpaid order holding one line.
func (s *Sandbox) Checkout(appointmentID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.appointment(appointmentID, "checking out")
	if err != nil {
		return "", err
	}
	if a.status != statusPending {
		return "", fmt.Errorf("checking out appointment %s (%s): %w", a.id, a.status, ErrInvalidState)
	}
	now := s.clock.Now()
	o := s.checkout(a, now)
	s.record(Change{At: now, Kind: KindBooked, CustomerID: a.customer.id, AppointmentID: a.id,
		OrderID: o.id, From: a.from, To: a.to, Amount: o.figures().total})
	return o.id, nil
}

// Book is Hold followed by Checkout: two changes, hold then booked.
func (s *Sandbox) Book(customerID string, from, to time.Time) (Booking, error) {
	id, err := s.Hold(customerID, from, to)
	if err != nil {
		return Booking{}, err
	}
	orderID, err := s.Checkout(id)
	if err != nil {
		return Booking{}, err
	}
	return Booking{AppointmentID: id, OrderID: orderID}, nil
}

// CapturePayment records a successful sale for what the order still owes.
func (s *Sandbox) CapturePayment(orderID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.order(orderID, "capturing payment on")
	if err != nil {
		return err
	}
	if o.figures().dueToPay == 0 {
		return fmt.Errorf("capturing payment on order %s: nothing due: %w", o.id, ErrInvalidState)
	}
	now := s.clock.Now()
	amount := s.capture(o, now)
	s.record(s.orderChange(o, now, KindPaid, amount))
	return nil
}

// AddOn adds an add-on line of amount to the order's first line, raising
// its total: a paid order becomes partially paid.
func (s *Sandbox) AddOn(orderID string, amount int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.order(orderID, "adding to")
	if err != nil {
		return err
	}
	if amount <= 0 {
		return fmt.Errorf("adding %d to order %s: %w", amount, o.id, ErrInvalidArgument)
	}
	if l := o.lines[0]; l.appt.status == statusCanceled {
		return fmt.Errorf("adding to order %s of a canceled appointment: %w", o.id, ErrInvalidState)
	}
	now := s.clock.Now()
	s.addOnLine(o, amount, now)
	s.record(s.orderChange(o, now, KindAddOn, amount))
	return nil
}

// Cancel cancels a pending or scheduled appointment. Its order then owes a
// refund of whatever was paid (refundStatus refund-owed); no refund is
// issued until Refund.
func (s *Sandbox) Cancel(appointmentID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.appointment(appointmentID, "canceling")
	if err != nil {
		return err
	}
	if a.status != statusPending && a.status != statusScheduled {
		return fmt.Errorf("canceling appointment %s (%s): %w", a.id, a.status, ErrInvalidState)
	}
	now := s.clock.Now()
	s.cancel(a, now)
	s.record(s.appointmentChange(a, now, KindCanceled))
	return nil
}

// Reschedule moves a pending or scheduled appointment to a new slot.
func (s *Sandbox) Reschedule(appointmentID string, from, to time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.appointment(appointmentID, "rescheduling")
	if err != nil {
		return err
	}
	if a.status != statusPending && a.status != statusScheduled {
		return fmt.Errorf("rescheduling appointment %s (%s): %w", a.id, a.status, ErrInvalidState)
	}
	if !to.After(from) {
		return fmt.Errorf("rescheduling appointment %s to %v-%v: %w", a.id, from, to, ErrInvalidArgument)
	}
	now := s.clock.Now()
	s.reschedule(a, from, to, now)
	s.record(s.appointmentChange(a, now, KindRescheduled))
	return nil
}

// Refund issues a refund of amount (at most the order's balance): one
// refund transaction (type refund, status success) per sale it draws on,
// all with the returned refund id.
func (s *Sandbox) Refund(orderID string, amount int64) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.order(orderID, "refunding")
	if err != nil {
		return "", err
	}
	balance := o.figures().balance
	if balance == 0 {
		return "", fmt.Errorf("refunding order %s: nothing paid: %w", o.id, ErrInvalidState)
	}
	if amount <= 0 || amount > balance {
		return "", fmt.Errorf("refunding %d of %d on order %s: %w", amount, balance, o.id,
			ErrInvalidArgument)
	}
	now := s.clock.Now()
	r := s.refund(o, amount, now)
	ch := s.orderChange(o, now, KindRefunded, amount)
	ch.RefundID = r.id
	s.record(ch)
	return r.id, nil
}

// Complete marks a scheduled appointment completed.
func (s *Sandbox) Complete(appointmentID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.appointment(appointmentID, "completing")
	if err != nil {
		return err
	}
	if a.status != statusScheduled {
		return fmt.Errorf("completing appointment %s (%s): %w", a.id, a.status, ErrInvalidState)
	}
	now := s.clock.Now()
	s.complete(a, now)
	s.record(s.appointmentChange(a, now, KindCompleted))
	return nil
}

// Delete soft-deletes an appointment: deletedAt is set, the appointments
// list no longer shows it and GET /storefront/appointments/{id} answers
// 404, as a soft-deleted row is hidden from the real API's finds. An order
// that holds it still embeds it, deletedAt included, since the SDK's
// schema never lets a line's appointment be null. Later operations on it
// answer ErrNotFound.
// TODO: confirm against the real API how it lists and embeds soft-deleted
// appointments; this follows a TypeORM-style default and the SDK schema.
func (s *Sandbox) Delete(appointmentID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.appointment(appointmentID, "deleting")
	if err != nil {
		return err
	}
	now := s.clock.Now()
	a.deletedAt, a.updatedAt = now, now
	if a.line != nil {
		a.line.order.updatedAt = now
	}
	s.record(s.appointmentChange(a, now, KindDeleted))
	return nil
}

// RevokeTokens ends every session of the customer: all its access and
// refresh tokens answer 401 from now on. An unknown id does nothing.
func (s *Sandbox) RevokeTokens(customerID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.customerByID[customerID]; ok {
		s.revokeAll(c)
	}
}

// RunActivity starts a goroutine that performs one seeded random merchant
// operation every interval until ctx is done or the sandbox closes; Close
// waits for it. It returns at once.
func (s *Sandbox) RunActivity(ctx context.Context, every time.Duration) {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed || every <= 0 {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.runActivity(ctx, every)
	}()
}

func (s *Sandbox) appointment(id, op string) (*appointment, error) {
	a, ok := s.appts[id]
	if !ok || !a.deletedAt.IsZero() {
		return nil, fmt.Errorf("%s appointment %s: %w", op, id, ErrNotFound)
	}
	return a, nil
}

func (s *Sandbox) order(id, op string) (*order, error) {
	o, ok := s.orders[id]
	if !ok {
		return nil, fmt.Errorf("%s order %s: %w", op, id, ErrNotFound)
	}
	return o, nil
}

func (s *Sandbox) record(c Change) {
	c.Seq = int64(len(s.changes)) + 1
	s.changes = append(s.changes, c)
	s.logger.Debug("merchant change", "seq", c.Seq, "kind", c.Kind,
		"appointment_id", c.AppointmentID, "order_id", c.OrderID)
}

func (s *Sandbox) appointmentChange(a *appointment, at time.Time, kind string) Change {
	c := Change{At: at, Kind: kind, CustomerID: a.customer.id, AppointmentID: a.id,
		From: a.from, To: a.to}
	if a.line != nil {
		c.OrderID = a.line.order.id
	}
	return c
}

func (s *Sandbox) orderChange(o *order, at time.Time, kind string, amount int64) Change {
	c := s.appointmentChange(o.lines[0].appt, at, kind)
	c.Amount = amount
	return c
}

// The internal operations below assume the checks above passed.

func (s *Sandbox) hold(c *customer, from, to time.Time, at time.Time) *appointment {
	a := &appointment{
		id: s.newID(), name: fmt.Sprint(s.nextApptName), customer: c,
		product: s.productFor(to.Sub(from)), staff: s.staff[s.ids.IntN(len(s.staff))],
		location: s.locations[s.ids.IntN(len(s.locations))], from: from.UTC(), to: to.UTC(),
		status: statusPending, createdBy: "customer", createdAt: at, updatedAt: at,
	}
	s.nextApptName++
	s.appts[a.id] = a
	c.appointments = append(c.appointments, a)
	return a
}

func (s *Sandbox) productFor(d time.Duration) *product {
	for _, p := range s.products {
		if !p.customDuration && time.Duration(p.duration)*time.Second == d {
			return p
		}
	}
	for _, p := range s.products {
		if p.customDuration {
			return p
		}
	}
	return s.products[0]
}

func (s *Sandbox) checkout(a *appointment, at time.Time) *order {
	o := &order{id: s.newID(), name: fmt.Sprint(s.nextOrdName), cartID: s.newID(),
		customer: a.customer, createdAt: at, updatedAt: at}
	s.nextOrdName++
	l := &lineItem{id: s.newID(), order: o, appt: a, unitPrice: a.product.price,
		unitTax: a.product.price * taxPercent / 100, quantity: 1, createdAt: at}
	o.lines = []*lineItem{l}
	s.log(o, "Order placed", "Checkout completed by the customer.", at)
	s.orders[o.id] = o
	a.customer.orders = append(a.customer.orders, o)
	a.line, a.status, a.updatedAt = l, statusScheduled, at
	return o
}

func (s *Sandbox) capture(o *order, at time.Time) int64 {
	amount := o.figures().dueToPay
	o.transactions = append(o.transactions, &transaction{
		id: s.newID(), externalID: "pi_" + s.token(12), kind: "sale", status: "success",
		amount: amount, createdAt: at,
	})
	s.log(o, "Payment captured", fmt.Sprintf("%d %s captured.", amount, currency), at)
	s.touchOrder(o, at)
	return amount
}

func (s *Sandbox) addOnLine(o *order, amount int64, at time.Time) {
	l := o.lines[0]
	line := &addOnLine{id: s.newID(), apptAddOnID: s.newID(), line: l, addOn: s.addOn,
		price: amount, createdAt: at}
	l.addOns = append(l.addOns, line)
	l.appt.addOns = append(l.appt.addOns, line)
	l.updatedAt = at
	s.log(o, "Add-on added", fmt.Sprintf("%s for %d %s.", s.addOn.title, amount, currency), at)
	s.touchOrder(o, at)
}

func (s *Sandbox) cancel(a *appointment, at time.Time) {
	a.status, a.updatedAt = statusCanceled, at
	if a.line != nil {
		s.log(a.line.order, "Appointment canceled", "Appointment "+a.name+" canceled.", at)
		s.touchOrder(a.line.order, at)
	}
}

func (s *Sandbox) reschedule(a *appointment, from, to, at time.Time) {
	a.from, a.to, a.updatedAt = from.UTC(), to.UTC(), at
	if a.line != nil {
		s.touchOrder(a.line.order, at)
	}
}

func (s *Sandbox) complete(a *appointment, at time.Time) {
	a.status, a.updatedAt = statusCompleted, at
	if a.line != nil {
		s.touchOrder(a.line.order, at)
	}
}

// refund draws amount from the order's sales, oldest first. A refund that
// returns everything paid also refunds every line's quantity.
func (s *Sandbox) refund(o *order, amount int64, at time.Time) *refund {
	r := &refund{id: s.newID(), order: o, total: amount, createdAt: at}
	left := amount
	for _, sale := range o.transactions {
		if left == 0 || sale.kind != "sale" || sale.amount == sale.refunded {
			continue
		}
		part := min(left, sale.amount-sale.refunded)
		sale.refunded += part
		left -= part
		tx := &transaction{id: s.newID(), externalID: "re_" + s.token(12), kind: "refund",
			status: "success", amount: part, parent: sale, refund: r, createdAt: at}
		o.transactions = append(o.transactions, tx)
		r.txs = append(r.txs, tx)
	}
	o.refunds = append(o.refunds, r)
	if o.figures().fullyRefunded {
		s.refundLines(r, at)
	}
	s.log(o, "Refund issued", fmt.Sprintf("%d %s refunded.", amount, currency), at)
	s.touchOrder(o, at)
	return r
}

func (s *Sandbox) refundLines(r *refund, at time.Time) {
	for _, l := range r.order.lines {
		if q := l.quantity - l.refundedQ; q > 0 {
			rl := &refundLine{id: s.newID(), refund: r, line: l, quantity: q, createdAt: at}
			r.lines = append(r.lines, rl)
			l.refundLines = append(l.refundLines, rl)
			l.refundedQ, l.updatedAt = l.quantity, at
		}
	}
}

// touchOrder bumps the order's updatedAt. Its appointments keep theirs:
// a payment or refund does not change the appointment row.
func (s *Sandbox) touchOrder(o *order, at time.Time) { o.updatedAt = at }

func (s *Sandbox) log(o *order, title, description string, at time.Time) {
	o.logs = append(o.logs, &orderLog{id: s.newID(), title: title, description: description,
		createdAt: at})
}

// token returns n random lowercase hex characters from the seeded source.
func (s *Sandbox) token(n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hex[s.ids.IntN(len(hex))]
	}
	return string(b)
}
