package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/opencals-sync/opencals-sync/opencals"
)

// CustomerState says whether a customer is polled.
type CustomerState string

// The customer states.
const (
	// CustomerActive customers are polled.
	CustomerActive CustomerState = "active"
	// CustomerNeedsReauth customers hold tokens the API refused; they wait
	// for a new sign-in (UpsertCustomer) and are not polled.
	CustomerNeedsReauth CustomerState = "needs_reauth"
	// CustomerDisabled customers were switched off by the operator; neither
	// polls nor the completion sweep touch them.
	CustomerDisabled CustomerState = "disabled"
)

// Valid reports whether s is one of the three states.
func (s CustomerState) Valid() bool {
	switch s {
	case CustomerActive, CustomerNeedsReauth, CustomerDisabled:
		return true
	}
	return false
}

// Customer is one customer of a store and its polling bookkeeping. Zero
// times mean "never" (or, for NextBoundaryAt, "no boundary ahead").
type Customer struct {
	StoreID string
	ID      string
	Email   string
	State   CustomerState
	// Tokens prints as a mask under fmt and slog.
	// TODO: tokens are stored in plaintext, protected only by the file's
	// 0600 mode; encrypt them at rest.
	Tokens opencals.Tokens
	// BaselinedAt is when the first snapshot was stored.
	BaselinedAt time.Time
	NextPollAt  time.Time
	LastPollAt  time.Time
	// LastSuccessAt is the end of the last look that succeeded.
	LastSuccessAt time.Time
	// LastChangeAt is when events were last recorded for the customer.
	LastChangeAt time.Time
	// NextBoundaryAt is the next start or end of a booked appointment.
	NextBoundaryAt time.Time
	// LastError is why the last look failed; "" after a success.
	LastError string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Poll is the outcome of one look at a customer, for RecordPoll.
type Poll struct {
	// At is when the look ended.
	At time.Time
	// Error is why it failed, "" for a success. It is stored and shown to
	// operators: it must hold no token or key.
	Error string
	// NextAt is when the customer is due again.
	NextAt time.Time
}

// UpsertCustomer adds a customer, active and due for a look at once. For a
// customer already known it replaces email and tokens and makes it active
// again (a new sign-in after needs_reauth), keeping its snapshots and
// schedule.
func (db *DB) UpsertCustomer(ctx context.Context, storeID, id, email string,
	tokens opencals.Tokens,
) error {
	_, err := db.execWrite(ctx, sqlUpsertCustomer, storeID, id, email,
		tokens.AccessToken, tokens.RefreshToken, db.clock.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("saving customer %s: %w", id, err)
	}
	return nil
}

// GetCustomer returns one customer, or ErrNotFound.
func (db *DB) GetCustomer(ctx context.Context, storeID, id string) (Customer, error) {
	c, err := scanCustomer(db.r.QueryRowContext(ctx, sqlCustomerByID, storeID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Customer{}, fmt.Errorf("reading customer %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Customer{}, fmt.Errorf("reading customer %s: %w", id, err)
	}
	return c, nil
}

// ListCustomers returns the customers of a store ("" for every store) by
// store and id. None is an empty list, not an error.
func (db *DB) ListCustomers(ctx context.Context, storeID string) ([]Customer, error) {
	cs, err := db.queryCustomers(ctx, sqlCustomersOfStore, storeID)
	if err != nil {
		return nil, fmt.Errorf("listing customers of store %q: %w", storeID, err)
	}
	return cs, nil
}

// DueCustomers returns up to limit active customers of a store whose next
// look is due at now, most overdue first.
func (db *DB) DueCustomers(ctx context.Context, storeID string, now time.Time,
	limit int,
) ([]Customer, error) {
	cs, err := db.queryCustomers(ctx, sqlCustomersDueForPoll, storeID, now.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("listing customers due in store %s: %w", storeID, err)
	}
	return cs, nil
}

// RemoveCustomer deletes a customer and its snapshots, or returns
// ErrNotFound. Its events stay in the outbox.
func (db *DB) RemoveCustomer(ctx context.Context, storeID, id string) error {
	return db.updateCustomer(ctx, "removing", id, sqlDeleteCustomer, storeID, id)
}

// SaveTokens replaces a customer's tokens, or returns ErrNotFound. Save a
// rotated pair before using it: the old refresh token is dead.
func (db *DB) SaveTokens(ctx context.Context, storeID, id string, tokens opencals.Tokens) error {
	return db.updateCustomer(ctx, "saving tokens of", id, sqlSaveTokens, storeID, id,
		tokens.AccessToken, tokens.RefreshToken, db.clock.Now().UnixMilli())
}

// SetCustomerState changes a customer's state and last error, or returns
// ErrNotFound. lastError must hold no token or key.
func (db *DB) SetCustomerState(ctx context.Context, storeID, id string, state CustomerState,
	lastError string,
) error {
	if !state.Valid() {
		return fmt.Errorf("setting state of customer %s to %q: %w", id, state, ErrInvalidState)
	}
	return db.updateCustomer(ctx, "setting state of", id, sqlSetCustomerState, storeID, id,
		string(state), lastError, db.clock.Now().UnixMilli())
}

// RecordPoll stores the outcome of a look at a customer and when the next
// one is due, or returns ErrNotFound.
func (db *DB) RecordPoll(ctx context.Context, storeID, id string, p Poll) error {
	return db.updateCustomer(ctx, "recording poll of", id, sqlRecordPoll, storeID, id,
		p.At.UnixMilli(), p.Error, p.NextAt.UnixMilli(), db.clock.Now().UnixMilli())
}

// updateCustomer runs a statement that changes one customer row and turns
// "no row changed" into ErrNotFound.
func (db *DB) updateCustomer(ctx context.Context, what, id, query string, args ...any) error {
	res, err := db.execWrite(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s customer %s: %w", what, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s customer %s: %w", what, id, err)
	}
	if n == 0 {
		return fmt.Errorf("%s customer %s: %w", what, id, ErrNotFound)
	}
	return nil
}

// queryCustomers runs a query returning the columns of
// sql/customer_by_id.sql.
func (db *DB) queryCustomers(ctx context.Context, query string, args ...any) ([]Customer, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cs []Customer
	for rows.Next() {
		c, err := scanCustomer(rows)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// scanCustomer reads the columns of sql/customer_by_id.sql.
func scanCustomer(s scanner) (Customer, error) {
	var (
		c                                            Customer
		state                                        string
		baselined, lastPoll, lastSuccess, lastChange sql.NullInt64
		nextBoundary                                 sql.NullInt64
		nextPoll, created, updated                   int64
	)
	err := s.Scan(&c.StoreID, &c.ID, &c.Email, &state, &c.Tokens.AccessToken,
		&c.Tokens.RefreshToken, &baselined, &nextPoll, &lastPoll, &lastSuccess,
		&lastChange, &nextBoundary, &c.LastError, &created, &updated)
	if err != nil {
		return Customer{}, err
	}
	c.State = CustomerState(state)
	c.BaselinedAt, c.LastPollAt = nullMS(baselined), nullMS(lastPoll)
	c.LastSuccessAt, c.LastChangeAt = nullMS(lastSuccess), nullMS(lastChange)
	c.NextBoundaryAt = nullMS(nextBoundary)
	c.NextPollAt, c.CreatedAt, c.UpdatedAt = fromMS(nextPoll), fromMS(created), fromMS(updated)
	return c, nil
}
