// Package sandbox is a stateful, in-process fake of the Opencals Storefront
// API on a real listener. Tests start it on 127.0.0.1:0 and point the client
// at URL(); the `opencals-sync sandbox` command runs it for demos. It serves
// the real paths, query parameters, JSON shapes, status codes and error
// bodies, enforces the documented rate limits, rotates tokens, and records
// every change merchant activity makes so tests can compare derived events
// with what really happened.
package sandbox

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/jonboulle/clockwork"
)

// Errors merchant operations return; callers branch on them with errors.Is.
var (
	// ErrNotFound means no appointment, order or customer has that id.
	ErrNotFound = errors.New("not found")
	// ErrInvalidState means the operation does not apply to the item's
	// current state (a refund on an unpaid order, a checkout of a booking).
	ErrInvalidState = errors.New("invalid state for this operation")
	// ErrInvalidArgument means an amount or a time range is out of bounds.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrStarted means Start was called twice.
	ErrStarted = errors.New("sandbox already started")
)

// Limit is a sliding-window rate limit: at most Requests in any Per.
// Requests < 0 disables the limit; zero picks the default.
type Limit struct {
	Requests int
	Per      time.Duration
}

// Config configures a Sandbox. Zero values pick the documented defaults.
type Config struct {
	// APIKey is the X-Api-Key value every /storefront request must carry.
	// Default "sfk_test".
	APIKey string
	// Customers is the number of seeded customers, customer1@example.test …
	// customerN@example.test, all with password "sandbox-password".
	// Default 3; zero means the default, so use 1 for the smallest store.
	Customers int
	// Seed makes ids, history and activity reproducible. Zero is a seed.
	Seed int64
	// Clock drives token expiry, rate windows and timestamps.
	// Default the real clock.
	Clock clockwork.Clock
	// RateLimit is the general budget per API key. Default 100 per 60s.
	RateLimit Limit
	// AuthRateLimit is the /storefront/auth/* budget. Default 20 per 10s.
	AuthRateLimit Limit
	// AccessTokenTTL is how long an access token is accepted. Default 15m.
	AccessTokenTTL time.Duration
	// Logger receives per-request debug lines. Default discards.
	Logger *slog.Logger
	// BeforeListPage, if set, runs before a list page is served, outside
	// any lock, so tests can change data between page reads. resource is
	// "appointments" or "orders"; page is 1-based.
	BeforeListPage func(resource, customerID string, page int)
}

// Customer is a seeded customer's identity and sign-in credentials.
type Customer struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Booking is what Book created.
type Booking struct {
	AppointmentID string `json:"appointmentId"`
	OrderID       string `json:"orderId"`
}

// Faults makes a share of /storefront answers misbehave. Rates are in [0,1].
type Faults struct {
	// ErrorRate is the share answered 500, 502 or 503, with a JSON or a
	// plain-text body.
	ErrorRate float64 `json:"errorRate"`
	// Latency is added to every API request.
	Latency time.Duration `json:"latency"`
	// MalformedRate is the share answered 200 with a body that is not JSON.
	MalformedRate float64 `json:"malformedRate"`
	// TruncateRate is the share answered 200 with a body cut short.
	TruncateRate float64 `json:"truncateRate"`
	// ShiftRate is the share of page>1 list reads preceded by the insert of
	// a backdated hold, so that items shift between pages.
	ShiftRate float64 `json:"shiftRate"`
}

// Change kinds, as recorded in Change.Kind.
const (
	KindHold        = "hold"
	KindBooked      = "booked"
	KindPaid        = "paid"
	KindAddOn       = "add_on"
	KindCanceled    = "canceled"
	KindRescheduled = "rescheduled"
	KindRefunded    = "refunded"
	KindCompleted   = "completed"
	KindDeleted     = "deleted"
)

// Change is one entry of the change log: what an observer of the API could
// see happen. From and To are the appointment's slot after the change;
// Amount is the money moved (paid, added or refunded), in minor units.
type Change struct {
	Seq           int64     `json:"seq"`
	At            time.Time `json:"at"`
	Kind          string    `json:"kind"`
	CustomerID    string    `json:"customerId"`
	AppointmentID string    `json:"appointmentId,omitempty"`
	OrderID       string    `json:"orderId,omitempty"`
	From          time.Time `json:"from,omitzero"`
	To            time.Time `json:"to,omitzero"`
	Amount        int64     `json:"amount,omitempty"`
	RefundID      string    `json:"refundId,omitempty"`
}

// Stats counts what the sandbox answered.
type Stats struct {
	// Requests counts answers by "METHOD /route pattern" and status code.
	Requests map[string]map[int]int `json:"requests"`
	// Total is the number of /storefront requests.
	Total int `json:"total"`
	// RateLimited is the number of 429 answers.
	RateLimited int `json:"rateLimited"`
	// Faults is the number of injected faults.
	Faults int `json:"faults"`
}

// Sandbox is the fake API. Its methods are safe for concurrent use.
type Sandbox struct{}

// New seeds a sandbox from cfg. It does not listen until Start.
func New(cfg Config) (*Sandbox, error) { return &Sandbox{}, nil }

// Start listens on addr (for example "127.0.0.1:0") and serves in the
// background until Close.
func (s *Sandbox) Start(addr string) error { return nil }

// URL is the base URL clients use, without a trailing slash.
func (s *Sandbox) URL() string { return "" }

// Close stops the listener and the activity generator and waits for their
// goroutines.
func (s *Sandbox) Close() error { return nil }

// Handler serves the API and the /sandbox admin endpoints.
func (s *Sandbox) Handler() http.Handler { return http.NotFoundHandler() }

// StoreID is the id of the sandbox's store.
func (s *Sandbox) StoreID() string { return "" }

// Customers lists the seeded customers in order.
func (s *Sandbox) Customers() []Customer { return nil }

// Hold creates a pending appointment (a cart not checked out) without order.
func (s *Sandbox) Hold(customerID string, from, to time.Time) (string, error) {
	return "", nil
}

// Checkout turns a hold into a scheduled appointment with an unpaid order.
func (s *Sandbox) Checkout(appointmentID string) (string, error) { return "", nil }

// Book is Hold followed by Checkout.
func (s *Sandbox) Book(customerID string, from, to time.Time) (Booking, error) {
	return Booking{}, nil
}

// CapturePayment records a successful sale for what the order still owes.
func (s *Sandbox) CapturePayment(orderID string) error { return nil }

// AddOn raises an order's total by amount, so a paid order becomes
// partially paid.
func (s *Sandbox) AddOn(orderID string, amount int64) error { return nil }

// Cancel cancels an appointment; its order owes a refund if money was paid.
func (s *Sandbox) Cancel(appointmentID string) error { return nil }

// Reschedule moves an appointment to a new slot.
func (s *Sandbox) Reschedule(appointmentID string, from, to time.Time) error { return nil }

// Refund records a successful refund transaction of amount on the order.
func (s *Sandbox) Refund(orderID string, amount int64) (string, error) { return "", nil }

// Complete marks an appointment completed.
func (s *Sandbox) Complete(appointmentID string) error { return nil }

// Delete soft-deletes an appointment.
func (s *Sandbox) Delete(appointmentID string) error { return nil }

// RevokeTokens ends every session of the customer: its tokens answer 401.
func (s *Sandbox) RevokeTokens(customerID string) {}

// RunActivity performs seeded random merchant operations every interval
// until ctx is done or the sandbox closes.
func (s *Sandbox) RunActivity(ctx context.Context, every time.Duration) {}

// Changes returns the change log entries with Seq > since, oldest first.
func (s *Sandbox) Changes(since int64) []Change { return nil }

// Stats returns a copy of the request counters.
func (s *Sandbox) Stats() Stats { return Stats{} }

// SetFaults replaces the fault configuration.
func (s *Sandbox) SetFaults(f Faults) {}
