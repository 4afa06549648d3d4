package opencals

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// AppointmentStatus is the life-cycle state of an appointment.
type AppointmentStatus string

// The appointment states the API documents. A pending appointment is a hold
// (a cart not checked out yet), not a booking.
const (
	AppointmentPending   AppointmentStatus = "pending"
	AppointmentScheduled AppointmentStatus = "scheduled"
	AppointmentCompleted AppointmentStatus = "completed"
	AppointmentCanceled  AppointmentStatus = "canceled"
)

// PaymentStatus is an order's payment state.
type PaymentStatus string

// The payment states the API documents.
const (
	PaymentUnpaid        PaymentStatus = "unpaid"
	PaymentPaid          PaymentStatus = "paid"
	PaymentPartiallyPaid PaymentStatus = "partially-paid"
)

// RefundStatus is an order's refund state. RefundOwed means money must go
// back (an appointment was canceled) but no refund has been issued yet.
type RefundStatus string

// The refund states the API documents.
const (
	RefundNone      RefundStatus = "unrefunded"
	RefundOwed      RefundStatus = "refund-owed"
	RefundPartially RefundStatus = "partially-refunded"
	RefundFully     RefundStatus = "fully-refunded"
)

// TransactionType is the kind of a payment transaction.
type TransactionType string

// The transaction types the API documents.
const (
	TransactionAuthorization TransactionType = "authorization"
	TransactionCapture       TransactionType = "capture"
	TransactionVoid          TransactionType = "void"
	TransactionSale          TransactionType = "sale"
	TransactionRefund        TransactionType = "refund"
)

// TransactionStatus is the outcome of a payment transaction.
type TransactionStatus string

// The transaction states the API documents.
const (
	TransactionPending TransactionStatus = "pending"
	TransactionSuccess TransactionStatus = "success"
	TransactionFailed  TransactionStatus = "failed"
)

// Appointment is one item of GET /storefront/appointments, with the fields
// the daemon reasons about. Nullable strings decode to "".
type Appointment struct {
	ID                string            `json:"id"`
	Name              string            `json:"name"`
	StoreID           string            `json:"storeId"`
	CustomerID        string            `json:"customerId"`
	ProductID         string            `json:"productId"`
	StaffMemberID     string            `json:"staffMemberId"`
	LocationID        string            `json:"locationId"`
	ExternalOrderID   string            `json:"externalOrderId"`
	ExternalOrderName string            `json:"externalOrderName"`
	From              time.Time         `json:"from"`
	To                time.Time         `json:"to"`
	Status            AppointmentStatus `json:"status"`
	NumberOfAttendees int               `json:"numberOfAttendees"`
	CreatedBy         string            `json:"createdBy"`
	CreatedAt         time.Time         `json:"createdAt"`
	UpdatedAt         time.Time         `json:"updatedAt"`
	// DeletedAt is set when the appointment was soft-deleted.
	DeletedAt     *time.Time `json:"deletedAt"`
	OrderLineItem *LineItem  `json:"orderLineItem"`

	// Raw is the item exactly as the API sent it, fields we do not model
	// included. It still holds credentials (customer.password,
	// staffMember.refreshToken): redact it before storing or sending it.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the item and keeps a copy of its raw bytes.
func (a *Appointment) UnmarshalJSON(b []byte) error {
	type plain Appointment
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("decoding appointment: %w", err)
	}
	p.Raw = append(json.RawMessage(nil), b...)
	*a = Appointment(p)
	return nil
}

// Order is one item of GET /storefront/orders. Money is in minor units.
type Order struct {
	ID                  string        `json:"id"`
	Name                string        `json:"name"`
	StoreID             string        `json:"storeId"`
	CustomerID          string        `json:"customerId"`
	CartID              string        `json:"cartId"`
	ExternalID          string        `json:"externalId"`
	PaymentCurrencyCode string        `json:"paymentCurrencyCode"`
	Subtotal            int64         `json:"subtotal"`
	Total               int64         `json:"total"`
	TotalTax            int64         `json:"totalTax"`
	DueToPay            int64         `json:"dueToPay"`
	PaidTotal           int64         `json:"paidTotal"`
	RefundedTotal       int64         `json:"refundedTotal"`
	Balance             int64         `json:"balance"`
	DueToRefund         int64         `json:"dueToRefund"`
	IsFullyPaid         bool          `json:"isFullyPaid"`
	IsFullyRefunded     bool          `json:"isFullyRefunded"`
	PaymentStatus       PaymentStatus `json:"paymentStatus"`
	RefundStatus        RefundStatus  `json:"refundStatus"`
	FulfillmentStatus   string        `json:"fulfillmentStatus"`
	LineItems           []LineItem    `json:"lineItems"`
	Transactions        []Transaction `json:"transactions"`
	CreatedAt           time.Time     `json:"createdAt"`
	UpdatedAt           time.Time     `json:"updatedAt"`
	DeletedAt           *time.Time    `json:"deletedAt"`

	// Raw is the item exactly as the API sent it; see Appointment.Raw.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the item and keeps a copy of its raw bytes.
func (o *Order) UnmarshalJSON(b []byte) error {
	type plain Order
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("decoding order: %w", err)
	}
	p.Raw = append(json.RawMessage(nil), b...)
	*o = Order(p)
	return nil
}

// LineItem is an order line. In an order it embeds its appointment; inside an
// appointment (orderLineItem) it links back to the order.
type LineItem struct {
	OrderID            string       `json:"orderId"`
	AppointmentID      string       `json:"appointmentId"`
	Quantity           int          `json:"quantity"`
	RefundedQuantity   int          `json:"refundedQuantity"`
	RefundableQuantity int          `json:"refundableQuantity"`
	DiscountedTotal    int64        `json:"discountedTotal"`
	Appointment        *Appointment `json:"appointment,omitempty"`
}

// Transaction is one payment movement on an order.
type Transaction struct {
	OrderID      string            `json:"orderId"`
	ExternalID   string            `json:"externalId"`
	ParentID     string            `json:"parentId"`
	RefundID     string            `json:"refundId"`
	Type         TransactionType   `json:"type"`
	Status       TransactionStatus `json:"status"`
	Amount       int64             `json:"amount"`
	CurrencyCode string            `json:"currencyCode"`
	Provider     string            `json:"provider"`
	CreatedAt    time.Time         `json:"createdAt"`
}

// Meta describes one page of a listing.
type Meta struct {
	Page            int  `json:"page"`
	Take            int  `json:"take"`
	ItemCount       int  `json:"itemCount"`
	PageCount       int  `json:"pageCount"`
	HasPreviousPage bool `json:"hasPreviousPage"`
	HasNextPage     bool `json:"hasNextPage"`
}

// Page is one page of a listing.
type Page[T any] struct {
	Data []T  `json:"data"`
	Meta Meta `json:"meta"`
}

// Tokens is a customer's token pair. It never prints its values: fmt, slog
// and %v all show a mask.
type Tokens struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

// String masks both tokens.
func (Tokens) String() string { return "opencals.Tokens{REDACTED}" }

// GoString masks both tokens under %#v.
func (t Tokens) GoString() string { return t.String() }

// LogValue masks both tokens in structured logs.
func (Tokens) LogValue() slog.Value { return slog.StringValue("REDACTED") }
