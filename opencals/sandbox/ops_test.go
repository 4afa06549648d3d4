package sandbox

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// orderState is what an observer of an order sees change.
type orderState struct {
	Total, Paid, Refunded, Balance int64
	DueToPay, DueToRefund          int64
	Payment, Refund, Fulfillment   string
	Transactions                   int
}

func stateOf(o wireOrder) orderState {
	return orderState{Total: o.Total, Paid: o.PaidTotal, Refunded: o.RefundedTotal,
		Balance: o.Balance, DueToPay: o.DueToPay, DueToRefund: o.DueToRefund,
		Payment: o.PaymentStatus, Refund: o.RefundStatus, Fulfillment: o.FulfillmentStatus,
		Transactions: len(o.Transactions)}
}

// TestMerchantOperations applies each operation to a fresh booking and
// checks the change it records and what the API then shows.
func TestMerchantOperations(t *testing.T) {
	t.Parallel()
	const price, tax = 4500, 1035 // the 60-minute haircut
	from := testStart.Add(50 * time.Hour)
	to := from.Add(time.Hour)
	newFrom := from.Add(24 * time.Hour)
	tests := []struct {
		name        string
		setup       []string // operations applied first: pay, addon, cancel
		op          func(s *Sandbox, b Booking) (refundID string, err error)
		wantChange  Change
		wantOrder   orderState
		wantStatus  string
		wantFrom    time.Time
		wantRefunds int
	}{
		{name: "book", op: func(*Sandbox, Booking) (string, error) { return "", nil },
			wantChange: Change{Kind: KindBooked, From: from, To: to, Amount: price + tax},
			wantOrder: orderState{Total: price + tax, DueToPay: price + tax, Payment: paymentUnpaid,
				Refund: refundNone, Fulfillment: fulfillmentNone},
			wantStatus: statusScheduled, wantFrom: from},
		{name: "capture payment", op: func(s *Sandbox, b Booking) (string, error) {
			return "", s.CapturePayment(b.OrderID)
		}, wantChange: Change{Kind: KindPaid, From: from, To: to, Amount: price + tax},
			wantOrder: orderState{Total: price + tax, Paid: price + tax, Balance: price + tax,
				Payment: paymentPaid, Refund: refundNone, Fulfillment: fulfillmentNone, Transactions: 1},
			wantStatus: statusScheduled, wantFrom: from},
		{name: "add-on on a paid order", setup: []string{"pay"},
			op:         func(s *Sandbox, b Booking) (string, error) { return "", s.AddOn(b.OrderID, 700) },
			wantChange: Change{Kind: KindAddOn, From: from, To: to, Amount: 700},
			wantOrder: orderState{Total: price + tax + 700, Paid: price + tax, Balance: price + tax,
				DueToPay: 700, Payment: paymentPartiallyPaid, Refund: refundNone,
				Fulfillment: fulfillmentNone, Transactions: 1},
			wantStatus: statusScheduled, wantFrom: from},
		{name: "cancel a paid booking", setup: []string{"pay"},
			op:         cancelOp,
			wantChange: Change{Kind: KindCanceled, From: from, To: to},
			wantOrder: orderState{Total: price + tax, Paid: price + tax, Balance: price + tax,
				DueToRefund: price + tax, Payment: paymentPaid, Refund: refundOwed,
				Fulfillment: fulfillmentNone, Transactions: 1},
			wantStatus: statusCanceled, wantFrom: from},
		{name: "cancel an unpaid booking",
			op:         cancelOp,
			wantChange: Change{Kind: KindCanceled, From: from, To: to},
			wantOrder: orderState{Total: price + tax, Payment: paymentUnpaid, Refund: refundNone,
				Fulfillment: fulfillmentNone},
			wantStatus: statusCanceled, wantFrom: from},
		{name: "reschedule", op: func(s *Sandbox, b Booking) (string, error) {
			return "", s.Reschedule(b.AppointmentID, newFrom, newFrom.Add(time.Hour))
		}, wantChange: Change{Kind: KindRescheduled, From: newFrom, To: newFrom.Add(time.Hour)},
			wantOrder: orderState{Total: price + tax, DueToPay: price + tax, Payment: paymentUnpaid,
				Refund: refundNone, Fulfillment: fulfillmentNone},
			wantStatus: statusScheduled, wantFrom: newFrom},
		{name: "partial refund", setup: []string{"pay"},
			op:         func(s *Sandbox, b Booking) (string, error) { return s.Refund(b.OrderID, 1000) },
			wantChange: Change{Kind: KindRefunded, From: from, To: to, Amount: 1000},
			wantOrder: orderState{Total: price + tax, Paid: price + tax, Refunded: 1000,
				Balance: price + tax - 1000, Payment: paymentPaid, Refund: refundPartially,
				Fulfillment: fulfillmentNone, Transactions: 2},
			wantStatus: statusScheduled, wantFrom: from, wantRefunds: 1},
		{name: "full refund of a canceled booking", setup: []string{"pay", "cancel"},
			op:         refundOp(price + tax),
			wantChange: Change{Kind: KindRefunded, From: from, To: to, Amount: price + tax},
			wantOrder: orderState{Total: price + tax, Paid: price + tax, Refunded: price + tax,
				Payment: paymentPaid, Refund: refundFully, Fulfillment: fulfillmentNone, Transactions: 2},
			wantStatus: statusCanceled, wantFrom: from, wantRefunds: 1},
		{name: "refund across two payments", setup: []string{"pay", "addon", "pay"},
			op:         refundOp(price + tax + 500),
			wantChange: Change{Kind: KindRefunded, From: from, To: to, Amount: price + tax + 500},
			wantOrder: orderState{Total: price + tax + 700, Paid: price + tax + 700,
				Refunded: price + tax + 500, Balance: 200, Payment: paymentPaid, Refund: refundPartially,
				Fulfillment: fulfillmentNone, Transactions: 4},
			wantStatus: statusScheduled, wantFrom: from, wantRefunds: 1},
		{name: "complete", setup: []string{"pay"},
			op:         completeOp,
			wantChange: Change{Kind: KindCompleted, From: from, To: to},
			wantOrder: orderState{Total: price + tax, Paid: price + tax, Balance: price + tax,
				Payment: paymentPaid, Refund: refundNone, Fulfillment: fulfillmentFully, Transactions: 1},
			wantStatus: statusCompleted, wantFrom: from},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, Config{Customers: 1})
			c := h.customer(0)
			b, err := h.sb.Book(c.id, from, to)
			if err != nil {
				t.Fatalf("Book() = %v", err)
			}
			applySetup(t, h.sb, b, tt.setup)
			before := h.sb.Changes(0)
			h.clock.Advance(time.Minute)
			refundID, err := tt.op(h.sb, b)
			if err != nil {
				t.Fatalf("operation = %v", err)
			}

			// The change it recorded (booking: the last of Book's two).
			changes := h.sb.Changes(0)
			got := changes[len(changes)-1]
			want := tt.wantChange
			want.CustomerID, want.AppointmentID, want.OrderID = c.id, b.AppointmentID, b.OrderID
			want.Seq, want.At, want.RefundID = int64(len(changes)), h.clock.Now(), refundID
			if tt.name == "book" {
				want.At = testStart
			} else if len(changes) != len(before)+1 {
				t.Errorf("operation recorded %d changes; want 1", len(changes)-len(before))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("recorded change (-want +got):\n%s", diff)
			}

			// What the API shows.
			tok := h.signIn(c.email, "")
			var o wireOrder
			h.mustGet("/storefront/orders/"+b.OrderID, tok.AccessToken).decode(t, &o)
			if diff := cmp.Diff(tt.wantOrder, stateOf(o)); diff != "" {
				t.Errorf("order state (-want +got):\n%s", diff)
			}
			if len(o.Refunds) != tt.wantRefunds {
				t.Errorf("order has %d refunds; want %d", len(o.Refunds), tt.wantRefunds)
			}
			checkRefundTransactions(t, o, refundID)
			var a wireAppointment
			h.mustGet("/storefront/appointments/"+b.AppointmentID, tok.AccessToken).decode(t, &a)
			if a.Status != tt.wantStatus || a.From != ts(tt.wantFrom) {
				t.Errorf("appointment = %s from %s; want %s from %s", a.Status, a.From, tt.wantStatus,
					ts(tt.wantFrom))
			}
			if now := ts(h.clock.Now()); tt.name != "book" && (o.UpdatedAt == nil || *o.UpdatedAt != now) {
				t.Errorf("order updatedAt = %v; want %s", o.UpdatedAt, now)
			}
		})
	}
}

func cancelOp(s *Sandbox, b Booking) (string, error) { return "", s.Cancel(b.AppointmentID) }

func completeOp(s *Sandbox, b Booking) (string, error) { return "", s.Complete(b.AppointmentID) }

func refundOp(amount int64) func(*Sandbox, Booking) (string, error) {
	return func(s *Sandbox, b Booking) (string, error) { return s.Refund(b.OrderID, amount) }
}

func applySetup(t *testing.T, s *Sandbox, b Booking, setup []string) {
	t.Helper()
	for _, step := range setup {
		var err error
		switch step {
		case "pay":
			err = s.CapturePayment(b.OrderID)
		case "addon":
			err = s.AddOn(b.OrderID, 700)
		case "cancel":
			err = s.Cancel(b.AppointmentID)
		default:
			t.Fatalf("unknown setup step %q", step)
		}
		if err != nil {
			t.Fatalf("setup %s = %v", step, err)
		}
	}
}

// checkRefundTransactions pins the refund's transactions: type refund,
// status success, the refund id, and a parent sale.
func checkRefundTransactions(t *testing.T, o wireOrder, refundID string) {
	t.Helper()
	var sum int64
	for _, tx := range o.Transactions {
		if tx.Type != "refund" {
			continue
		}
		if tx.Status != "success" || tx.RefundID == nil || *tx.RefundID != refundID ||
			tx.ParentID == nil {
			t.Errorf("refund transaction %+v; want status success, refundId %s and a parent", tx, refundID)
		}
		sum += tx.Amount
	}
	if sum != o.RefundedTotal {
		t.Errorf("refund transactions sum to %d; want refundedTotal %d", sum, o.RefundedTotal)
	}
}

func TestInvalidOperations(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Customers: 1})
	c := h.customer(0)
	from := testStart.Add(50 * time.Hour)
	book := func() Booking {
		b, err := h.sb.Book(c.id, from, from.Add(time.Hour))
		if err != nil {
			t.Fatalf("Book() = %v", err)
		}
		return b
	}
	unpaid, completed, deleted := book(), book(), book()
	applySetup(t, h.sb, completed, []string{"pay"})
	if err := h.sb.Complete(completed.AppointmentID); err != nil {
		t.Fatalf("Complete() = %v", err)
	}
	if err := h.sb.Delete(deleted.AppointmentID); err != nil {
		t.Fatalf("Delete() = %v", err)
	}
	hold, err := h.sb.Hold(c.id, from, from.Add(time.Hour))
	if err != nil {
		t.Fatalf("Hold() = %v", err)
	}
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{name: "hold for nobody", want: ErrNotFound, op: func() error {
			_, err := h.sb.Hold("nobody", from, from.Add(time.Hour))
			return err
		}},
		{name: "hold ending before it starts", want: ErrInvalidArgument, op: func() error {
			_, err := h.sb.Hold(c.id, from, from)
			return err
		}},
		{name: "checkout twice", want: ErrInvalidState, op: func() error {
			_, err := h.sb.Checkout(unpaid.AppointmentID)
			return err
		}},
		{name: "refund unpaid", want: ErrInvalidState, op: func() error {
			_, err := h.sb.Refund(unpaid.OrderID, 100)
			return err
		}},
		{name: "refund more than paid", want: ErrInvalidArgument, op: func() error {
			_, err := h.sb.Refund(completed.OrderID, 1_000_000)
			return err
		}},
		{name: "refund nothing", want: ErrInvalidArgument, op: func() error {
			_, err := h.sb.Refund(completed.OrderID, 0)
			return err
		}},
		{name: "pay a paid order", want: ErrInvalidState,
			op: func() error { return h.sb.CapturePayment(completed.OrderID) }},
		{name: "add nothing", want: ErrInvalidArgument,
			op: func() error { return h.sb.AddOn(unpaid.OrderID, 0) }},
		{name: "complete a hold", want: ErrInvalidState,
			op: func() error { return h.sb.Complete(hold) }},
		{name: "cancel a completed one", want: ErrInvalidState,
			op: func() error { return h.sb.Cancel(completed.AppointmentID) }},
		{name: "reschedule a completed one", want: ErrInvalidState, op: func() error {
			return h.sb.Reschedule(completed.AppointmentID, from, from.Add(time.Hour))
		}},
		{name: "reschedule backwards", want: ErrInvalidArgument, op: func() error {
			return h.sb.Reschedule(unpaid.AppointmentID, from, from.Add(-time.Hour))
		}},
		{name: "cancel a deleted one", want: ErrNotFound,
			op: func() error { return h.sb.Cancel(deleted.AppointmentID) }},
		{name: "unknown order", want: ErrNotFound,
			op: func() error { return h.sb.CapturePayment("nope") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(h.sb.Changes(0))
			if err := tt.op(); !errors.Is(err, tt.want) {
				t.Errorf("operation = %v; want %v", err, tt.want)
			}
			if got := len(h.sb.Changes(0)); got != n {
				t.Errorf("a refused operation recorded %d changes; want none", got-n)
			}
		})
	}
}

// TestDelete pins the documented soft delete: gone from the list and from
// GET by id, still embedded, with deletedAt, in its order.
func TestDelete(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Customers: 1})
	c := h.customer(0)
	a := c.appointments[len(c.appointments)-1]
	h.clock.Advance(time.Hour)
	if err := h.sb.Delete(a.id); err != nil {
		t.Fatalf("Delete() = %v", err)
	}
	tok := h.signIn(c.email, "")
	var list appointmentsPage
	h.mustGet("/storefront/appointments?take=100", tok.AccessToken).decode(t, &list)
	for _, id := range list.ids() {
		if id == a.id {
			t.Errorf("deleted appointment %s still listed", a.id)
		}
	}
	if r := h.get("/storefront/appointments/"+a.id, tok.AccessToken); r.status != 404 {
		t.Errorf("GET deleted appointment = %d; want 404", r.status)
	}
	var o wireOrder
	h.mustGet("/storefront/orders/"+a.line.order.id, tok.AccessToken).decode(t, &o)
	got := o.LineItems[0].Appointment.DeletedAt
	if got == nil || *got != ts(h.clock.Now()) {
		t.Errorf("order's appointment deletedAt = %v; want %s", got, ts(h.clock.Now()))
	}
	changes := h.sb.Changes(0)
	if last := changes[len(changes)-1]; last.Kind != KindDeleted || last.AppointmentID != a.id {
		t.Errorf("last change = %+v; want deleted %s", last, a.id)
	}
}

// TestOrderFiguresStayConsistent runs random operation sequences and checks
// that every order's derived fields agree with its transactions.
func TestOrderFiguresStayConsistent(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		s, err := New(Config{Customers: 1, Seed: rapid.Int64().Draw(rt, "seed")})
		if err != nil {
			rt.Fatalf("New() = %v", err)
		}
		c := s.customers[0]
		ops := rapid.SliceOfN(rapid.IntRange(0, 6), 1, 30).Draw(rt, "ops")
		for i, op := range ops {
			o := c.orders[rapid.IntRange(0, len(c.orders)-1).Draw(rt, "order")]
			a := o.lines[0].appt
			switch op {
			case 0:
				from := testStart.Add(time.Duration(i+1) * time.Hour)
				_, _ = s.Book(c.id, from, from.Add(time.Hour))
			case 1:
				_ = s.CapturePayment(o.id)
			case 2:
				_ = s.AddOn(o.id, rapid.Int64Range(1, 5000).Draw(rt, "addon"))
			case 3:
				_, _ = s.Refund(o.id, rapid.Int64Range(1, 20000).Draw(rt, "refund"))
			case 4:
				_ = s.Cancel(a.id)
			case 5:
				_ = s.Complete(a.id)
			case 6:
				_ = s.Reschedule(a.id, a.from.Add(time.Hour), a.to.Add(time.Hour))
			}
		}
		for _, o := range c.orders {
			if problem := inconsistency(s.orderDetail(o)); problem != "" {
				rt.Fatalf("order %s: %s", o.name, problem)
			}
		}
	})
}

// inconsistency returns what is wrong with an order's figures, or "".
func inconsistency(o wireOrder) string {
	var sales, refunds int64
	for _, tx := range o.Transactions {
		switch tx.Type {
		case "sale":
			sales += tx.Amount
		case "refund":
			refunds += tx.Amount
		}
	}
	var lines int64
	for _, l := range o.LineItems {
		lines += l.DiscountedTotal
	}
	switch {
	case sales != o.PaidTotal || refunds != o.RefundedTotal:
		return "paid or refunded totals disagree with the transactions"
	case o.Balance != o.PaidTotal-o.RefundedTotal || o.Balance < 0:
		return "balance is not paid minus refunded"
	case lines != o.Total || o.Subtotal+o.TotalTax != o.Total:
		return "total disagrees with the lines"
	case o.DueToPay < 0 || o.DueToRefund < 0 || o.DueToRefund > o.Balance:
		return "due amounts out of range"
	case o.IsFullyPaid != (o.PaidTotal >= o.Total):
		return "isFullyPaid disagrees"
	case o.IsFullyRefunded != (o.PaidTotal > 0 && o.RefundedTotal >= o.PaidTotal):
		return "isFullyRefunded disagrees"
	case (o.PaymentStatus == paymentUnpaid) != (o.PaidTotal == 0):
		return "paymentStatus disagrees"
	case (o.RefundStatus == refundNone || o.RefundStatus == refundOwed) != (o.RefundedTotal == 0):
		return "refundStatus disagrees"
	}
	return ""
}
