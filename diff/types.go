// Package diff turns two looks at a customer's appointments and orders into
// the events that happened between them. It is pure: no I/O and no clock
// reads (the time comes in Policy.Now), so every rule is a table row.
package diff

import (
	"time"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
)

// Baseline says what the first look at a customer emits.
type Baseline string

// The baseline modes.
const (
	// BaselineSilent stores the first snapshot and emits nothing, so that
	// history does not flood the handlers. The default.
	BaselineSilent Baseline = "silent"
	// BaselineEmit turns the history in the first snapshot into events,
	// for backfills.
	BaselineEmit Baseline = "emit"
	// BaselineWhenNeeded behaves like BaselineSilent on first sight, and
	// also re-baselines silently a customer whose stored state has gone
	// missing (Result.Rebaselined tells the caller to log the gap).
	BaselineWhenNeeded Baseline = "when_needed"
)

// Policy holds what a diff needs besides the two snapshots.
type Policy struct {
	StoreID    string
	CustomerID string
	// Now is the detection time: events' createdAt, and the clock against
	// which end times are compared.
	Now time.Time
	// Baseline is the first-sight mode; "" means BaselineSilent.
	Baseline Baseline
	// CatchUp bounds how late a completion may still be emitted: one whose
	// end time is older than Now-CatchUp is recorded without an event.
	// Zero means no bound.
	CatchUp time.Duration
}

// State is what the store holds for one customer before a look.
type State struct {
	// Baselined is false until the customer's first snapshot was stored.
	Baselined    bool
	Appointments map[string]AppointmentRecord
	Orders       map[string]OrderRecord
}

// AppointmentRecord is the stored state of one appointment: the fields the
// rules compare, which events are already done, and the redacted item.
type AppointmentRecord struct {
	ID        string
	Status    opencals.AppointmentStatus
	From, To  time.Time
	Deleted   bool
	UpdatedAt time.Time
	// Created, Canceled and Completed say the event of that name was
	// emitted, or covered by a silent baseline, and must not fire again.
	Created, Canceled, Completed bool
	// Missing says the appointment was absent from the last complete
	// listing and awaits a direct look-up; it is not canceled on that
	// evidence alone.
	Missing bool
	// Hash fingerprints the raw item; an unchanged hash means an unchanged
	// item.
	Hash uint64
	// Body is the redacted item JSON. The store may leave it nil for
	// records that cannot produce an event without a new item.
	Body []byte
}

// OrderRecord is the stored state of one order.
type OrderRecord struct {
	ID            string
	PaymentStatus opencals.PaymentStatus
	PaidTotal     int64
	RefundedTotal int64
	// Refunds lists the refund discriminators already reported.
	Refunds   []string
	Deleted   bool
	UpdatedAt time.Time
	Missing   bool
	Hash      uint64
	Body      []byte
}

// Snapshot is one look at a customer.
type Snapshot struct {
	Appointments []opencals.Appointment
	Orders       []opencals.Order
	// Complete says the listings above are whole: a stored item absent from
	// them is marked Missing. A partial snapshot (direct look-ups) changes
	// only the items it names.
	Complete bool
	// GoneAppointments and GoneOrders are ids a direct look-up answered
	// 404 for.
	GoneAppointments []string
	GoneOrders       []string
}

// Result is what one look changes.
type Result struct {
	// Events in the order they happened; for one resource, creation first.
	Events []event.Event
	// Appointments and Orders are the records to write: new or changed.
	Appointments []AppointmentRecord
	Orders       []OrderRecord
	// Baseline is true when this look was the customer's baseline.
	Baseline bool
	// Rebaselined is true when stored state was missing and the look was
	// treated as a new, silent baseline (BaselineWhenNeeded).
	Rebaselined bool
	// LateCompletions counts completions older than the catch-up window,
	// recorded without an event.
	LateCompletions int
	// MissingAppointments and MissingOrders need a direct look-up.
	MissingAppointments []string
	MissingOrders       []string
	// NextBoundary is the earliest start or end time after Now among booked
	// appointments that are not canceled or completed; zero if none. The
	// scheduler polls customers near a boundary more often.
	NextBoundary time.Time
}
