package sync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opencals-sync/opencals-sync/diff"
	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
	"github.com/opencals-sync/opencals-sync/store"
)

// API is what a look needs from the Opencals client.
type API interface {
	ListAppointments(ctx context.Context, s *opencals.Session) ([]opencals.Appointment, error)
	ListOrders(ctx context.Context, s *opencals.Session) ([]opencals.Order, error)
	GetAppointment(ctx context.Context, s *opencals.Session, id string) (opencals.Appointment, error)
	GetOrder(ctx context.Context, s *opencals.Session, id string) (opencals.Order, error)
}

// Store is what sync needs from the database.
type Store interface {
	ListCustomers(ctx context.Context, storeID string) ([]store.Customer, error)
	DueCustomers(ctx context.Context, storeID string, now time.Time, limit int) ([]store.Customer, error)
	SaveTokens(ctx context.Context, storeID, id string, tokens opencals.Tokens) error
	SetCustomerState(ctx context.Context, storeID, id string, state store.CustomerState, lastError string) error
	RecordPoll(ctx context.Context, storeID, id string, p store.Poll) error
	Apply(ctx context.Context, storeID, customerID string, snap diff.Snapshot, now time.Time) (store.ApplyResult, error)
	OrderHashes(ctx context.Context, storeID, customerID string) (map[string]uint64, error)
	SweepCompletions(ctx context.Context, storeID string, now time.Time) (store.SweepResult, error)
}

// lookKind says how much a look fetched.
type lookKind int

const (
	// lookLight lists orders only, and stops there when none changed.
	lookLight lookKind = iota
	// lookFull lists orders and appointments and applies both.
	lookFull
)

// lookResult is what one look did.
type lookResult struct {
	kind     lookKind // what it turned out to be (a light look may escalate)
	requests int      // API requests, pages and look-ups included (retries not)
	events   []event.Event
	baseline bool
	boundary time.Time // next boundary after the look; zero if none
	late     int       // completions past the catch-up window
}

// looker performs looks at customers of one store.
type looker struct {
	storeID string
	api     API
	db      Store
	clock   interface{ Now() time.Time }
}

// look fetches one customer's orders and, when needed, appointments, and
// applies what it found. A light look stops after the orders when none is
// new, changed or gone: every booking made through checkout has an order
// embedding its appointment's status and times, so an unchanged order list
// means no event. Appointments without an order are seen by full looks only.
//
// A listing that failed or was inconsistent is never applied: the error is
// returned and nothing is written.
func (l *looker) look(ctx context.Context, c store.Customer, kind lookKind) (lookResult, error) {
	sess := opencals.NewSession(c.ID, c.Tokens, func(ctx context.Context, t opencals.Tokens) error {
		return l.db.SaveTokens(ctx, l.storeID, c.ID, t)
	})
	res := lookResult{kind: kind}

	// Orders first: they decide whether a light look can stop here.
	orders, err := l.api.ListOrders(ctx, sess)
	if err != nil {
		return res, fmt.Errorf("listing orders: %w", err)
	}
	res.requests += pages(len(orders))
	if kind == lookLight && !c.BaselinedAt.IsZero() {
		changed, err := l.ordersChanged(ctx, c.ID, orders)
		if err != nil {
			return res, err
		}
		if !changed {
			return res, nil
		}
		res.kind = lookFull
	}

	// A full look: appointments too, applied with the orders as one snapshot.
	appts, err := l.api.ListAppointments(ctx, sess)
	if err != nil {
		return res, fmt.Errorf("listing appointments: %w", err)
	}
	res.requests += pages(len(appts))
	snap := diff.Snapshot{Appointments: appts, Orders: orders, Complete: true}
	applied, err := l.db.Apply(ctx, l.storeID, c.ID, snap, l.clock.Now())
	if err != nil {
		return res, err
	}
	res.add(applied)

	// Items gone from the listings are looked up one by one: only a 404 or
	// deletedAt cancels an appointment.
	if len(applied.MissingAppointments)+len(applied.MissingOrders) > 0 {
		if err := l.lookUpMissing(ctx, sess, c.ID, applied, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (r *lookResult) add(a store.ApplyResult) {
	r.events = append(r.events, a.Events...)
	r.baseline = r.baseline || a.Baseline
	r.boundary = a.NextBoundary
	r.late += a.LateCompletions
}

// ordersChanged reports whether the listing differs from the stored orders:
// a new order, a changed one or one gone.
func (l *looker) ordersChanged(ctx context.Context, customerID string, orders []opencals.Order) (bool, error) {
	stored, err := l.db.OrderHashes(ctx, l.storeID, customerID)
	if err != nil {
		return false, fmt.Errorf("reading stored orders: %w", err)
	}
	if len(stored) != len(orders) {
		return true, nil
	}
	for _, o := range orders {
		if h, ok := stored[o.ID]; !ok || h != diff.Hash(o.Raw) {
			return true, nil
		}
	}
	return false, nil
}

// lookUpMissing fetches each missing item directly and applies what it
// learnt as a partial snapshot.
func (l *looker) lookUpMissing(ctx context.Context, sess *opencals.Session, customerID string,
	applied store.ApplyResult, res *lookResult) error {
	var snap diff.Snapshot
	for _, id := range applied.MissingAppointments {
		a, err := l.api.GetAppointment(ctx, sess, id)
		res.requests++
		switch {
		case errors.Is(err, opencals.ErrNotFound):
			snap.GoneAppointments = append(snap.GoneAppointments, id)
		case err != nil:
			return fmt.Errorf("looking up appointment %s: %w", id, err)
		default:
			snap.Appointments = append(snap.Appointments, a)
		}
	}
	for _, id := range applied.MissingOrders {
		o, err := l.api.GetOrder(ctx, sess, id)
		res.requests++
		switch {
		case errors.Is(err, opencals.ErrNotFound):
			snap.GoneOrders = append(snap.GoneOrders, id)
		case err != nil:
			return fmt.Errorf("looking up order %s: %w", id, err)
		default:
			snap.Orders = append(snap.Orders, o)
		}
	}
	partial, err := l.db.Apply(ctx, l.storeID, customerID, snap, l.clock.Now())
	if err != nil {
		return err
	}
	res.add(partial)
	return nil
}

// pages is the number of list requests n items took (one for none).
func pages(n int) int {
	return max(1, (n+opencals.PageSize-1)/opencals.PageSize)
}
