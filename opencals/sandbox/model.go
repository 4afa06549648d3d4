package sandbox

import (
	"time"
)

// Appointment states, as the API spells them.
const (
	statusPending   = "pending"
	statusScheduled = "scheduled"
	statusCompleted = "completed"
	statusCanceled  = "canceled"
)

// Order states, as the API spells them.
const (
	paymentUnpaid        = "unpaid"
	paymentPaid          = "paid"
	paymentPartiallyPaid = "partially-paid"

	refundNone      = "unrefunded"
	refundOwed      = "refund-owed"
	refundPartially = "partially-refunded"
	refundFully     = "fully-refunded"

	fulfillmentNone      = "unfulfilled"
	fulfillmentPartially = "partially-fulfilled"
	fulfillmentFully     = "fulfilled"
)

const (
	currency = "EUR"
	// taxPercent is the VAT applied to services (Portugal's standard rate),
	// so the seeded store matches the fixtures: 4500 + 1035 tax.
	taxPercent = 23
)

type product struct {
	id, parentID, slug, scheduleID string
	title, description, color      string
	price                          int64
	duration                       int // seconds
	customDuration                 bool
	createdAt, updatedAt           time.Time
}

type staffMember struct {
	id, userID, scheduleID string
	firstName, lastName    string
	email, slug            string
	refreshToken           string
	createdAt              time.Time
}

type location struct {
	id, title, slug, kind string
	address, city, postal string
	country, display      string
	lat, lng              float64
	createdAt             time.Time
}

type schedule struct {
	id, name  string
	createdAt time.Time
}

// addOnProduct is the catalog entry every add-on line refers to.
type addOnProduct struct {
	id, slug, title, description string
	price                        int64
	createdAt                    time.Time
}

type customer struct {
	id, email, password   string
	passwordHash          string
	firstName, lastName   string
	createdAt, verifiedAt time.Time
	appointments          []*appointment // creation order
	orders                []*order       // creation order
	sessions              map[string]*session
}

type appointment struct {
	id, name             string
	customer             *customer
	product              *product
	staff                *staffMember
	location             *location
	from, to             time.Time
	status               string
	createdBy            string
	createdAt, updatedAt time.Time
	deletedAt            time.Time // zero: not deleted
	line                 *lineItem // nil until checkout
	addOns               []*addOnLine
}

type order struct {
	id, name, cartID     string
	customer             *customer
	lines                []*lineItem
	transactions         []*transaction
	refunds              []*refund
	logs                 []*orderLog
	createdAt, updatedAt time.Time
}

type lineItem struct {
	id                   string
	order                *order
	appt                 *appointment
	unitPrice, unitTax   int64
	quantity, refundedQ  int
	createdAt, updatedAt time.Time // updatedAt zero: never updated
	addOns               []*addOnLine
	refundLines          []*refundLine
}

type addOnLine struct {
	id, apptAddOnID      string
	line                 *lineItem
	addOn                *addOnProduct
	price                int64
	createdAt, updatedAt time.Time
}

type transaction struct {
	id, externalID   string
	kind, status     string
	amount, refunded int64
	parent           *transaction
	refund           *refund
	createdAt        time.Time
}

type refund struct {
	id        string
	order     *order
	total     int64
	lines     []*refundLine
	txs       []*transaction
	createdAt time.Time
}

type refundLine struct {
	id        string
	refund    *refund
	line      *lineItem
	quantity  int
	createdAt time.Time
}

type orderLog struct {
	id, title, description string
	createdAt              time.Time
}

// lineTotal is what the line costs with tax and add-ons.
func (l *lineItem) subtotal() int64 { return l.unitPrice * int64(l.quantity) }
func (l *lineItem) tax() int64      { return l.unitTax * int64(l.quantity) }

func (l *lineItem) addOnSubtotal() int64 {
	var n int64
	for _, a := range l.addOns {
		n += a.price
	}
	return n
}

func (l *lineItem) total() int64 { return l.subtotal() + l.tax() + l.addOnSubtotal() }

// figures are an order's derived money fields. They are computed from the
// lines and transactions every time, so they can never disagree.
type figures struct {
	subtotal, tax, total          int64
	paid, refunded, balance       int64
	dueToPay, dueToRefund         int64
	fullyPaid, fullyRefunded      bool
	payment, refundSt, fulfilment string
}

func (o *order) figures() figures {
	var f figures
	var owed int64
	var done, active int
	for _, l := range o.lines {
		f.subtotal += l.subtotal() + l.addOnSubtotal()
		f.tax += l.tax()
		if l.appt.status != statusCanceled {
			owed += l.total()
			active++
		}
		if l.appt.status == statusCompleted {
			done++
		}
	}
	f.total = f.subtotal + f.tax
	for _, t := range o.transactions {
		if t.status != "success" {
			continue
		}
		switch t.kind {
		case "sale", "capture":
			f.paid += t.amount
		case "refund":
			f.refunded += t.amount
		}
	}
	f.balance = f.paid - f.refunded
	f.dueToPay = max(0, owed-f.paid)
	f.dueToRefund = max(0, f.balance-owed)
	f.fullyPaid = f.total > 0 && f.paid >= f.total
	f.fullyRefunded = f.paid > 0 && f.refunded >= f.paid
	f.payment = paymentStatus(f.paid, f.total)
	f.refundSt = refundStatus(f.paid, f.refunded, f.dueToRefund)
	f.fulfilment = fulfilmentStatus(done, active)
	return f
}

func paymentStatus(paid, total int64) string {
	switch {
	case paid == 0:
		return paymentUnpaid
	case paid >= total:
		return paymentPaid
	default:
		return paymentPartiallyPaid
	}
}

func refundStatus(paid, refunded, dueToRefund int64) string {
	switch {
	case refunded == 0 && dueToRefund > 0:
		return refundOwed
	case refunded == 0:
		return refundNone
	case refunded >= paid:
		return refundFully
	default:
		return refundPartially
	}
}

func fulfilmentStatus(done, active int) string {
	switch {
	case done == 0:
		return fulfillmentNone
	case done >= active:
		return fulfillmentFully
	default:
		return fulfillmentPartially
	}
}
