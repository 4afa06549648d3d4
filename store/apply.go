package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/opencals-sync/opencals-sync/diff"
	"github.com/opencals-sync/opencals-sync/event"
)

// sweepBatchSize bounds the appointments one sweep transaction completes,
// so that the writer is never held for long.
const sweepBatchSize = 500

// ApplyResult is what one snapshot changed.
type ApplyResult struct {
	// Events are the events newly recorded, in the order they happened. An
	// event whose id the outbox already held is not among them.
	Events []event.Event
	// Baseline is true when this was the customer's first snapshot;
	// Rebaselined when stored state had gone missing and was rebuilt
	// silently (diff.BaselineWhenNeeded). The caller logs the gap.
	Baseline, Rebaselined bool
	// LateCompletions counts completions older than the catch-up window,
	// recorded without an event.
	LateCompletions int
	// MissingAppointments and MissingOrders were absent from a complete
	// listing and need a direct look-up.
	MissingAppointments, MissingOrders []string
	// NextBoundary is the earliest start or end after now among booked
	// appointments; zero if none.
	NextBoundary time.Time
}

// Apply diffs a snapshot of one customer against what is stored, and
// writes the new records, the events and the customer's bookkeeping
// (baselined_at, next_boundary_at, last_change_at) in one transaction. Any
// error rolls everything back. An unknown customer is ErrNotFound; a
// snapshot the diff rejects wraps diff's error.
func (db *DB) Apply(ctx context.Context, storeID, customerID string, snap diff.Snapshot,
	now time.Time,
) (ApplyResult, error) {
	var res ApplyResult
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = db.applyTx(ctx, tx, storeID, customerID, snap, now)
		return err
	})
	if err != nil {
		return ApplyResult{}, fmt.Errorf("applying snapshot of customer %s: %w", customerID, err)
	}
	return res, nil
}

// applyTx is Apply inside its transaction.
func (db *DB) applyTx(ctx context.Context, tx *sql.Tx, storeID, customerID string,
	snap diff.Snapshot, now time.Time,
) (ApplyResult, error) {
	prior, err := db.loadState(ctx, tx, storeID, customerID, snap, now)
	if err != nil {
		return ApplyResult{}, err
	}
	d, err := diff.Compute(prior.State, snap, db.diffPolicy(storeID, customerID, now))
	if err != nil {
		return ApplyResult{}, fmt.Errorf("diffing: %w", err)
	}
	if err := db.saveRecords(ctx, tx, storeID, customerID, d.Appointments, d.Orders); err != nil {
		return ApplyResult{}, err
	}
	inserted, err := db.insertEvents(ctx, tx, d.Events)
	if err != nil {
		return ApplyResult{}, err
	}
	// A look that changed nothing about the customer leaves its row alone:
	// an unchanged snapshot then writes nothing at all.
	if prior.Baselined && !d.Rebaselined && len(inserted) == 0 &&
		toMS(d.NextBoundary) == prior.nextBoundaryMS {
		return applyResult(d, inserted), nil
	}
	_, err = tx.StmtContext(ctx, db.stmts.recordApply).ExecContext(ctx, storeID, customerID,
		now.UnixMilli(), d.Rebaselined, msOrNull(d.NextBoundary), len(inserted) > 0)
	if err != nil {
		return ApplyResult{}, fmt.Errorf("updating customer %s: %w", customerID, err)
	}
	return applyResult(d, inserted), nil
}

// applyResult is what Apply reports of a diff and the events it inserted.
func applyResult(d diff.Result, inserted []event.Event) ApplyResult {
	return ApplyResult{
		Events: inserted, Baseline: d.Baseline, Rebaselined: d.Rebaselined,
		LateCompletions:     d.LateCompletions,
		MissingAppointments: d.MissingAppointments, MissingOrders: d.MissingOrders,
		NextBoundary: d.NextBoundary,
	}
}

// SweepResult is what a completion sweep did.
type SweepResult struct {
	// Events are the appointment.completed events newly recorded.
	Events []event.Event
	// Completed counts appointments marked completed, with or without an
	// event.
	Completed int
	// LateCompletions counts those older than the catch-up window,
	// recorded without an event.
	LateCompletions int
}

// SweepCompletions completes the booked appointments of a store whose end
// time has passed (customers not disabled), with the catch-up rule of the
// current policy, so that appointment.completed fires on time even for
// customers nobody polled. It works in batches, each its own transaction;
// on error, the result holds what earlier batches committed.
func (db *DB) SweepCompletions(ctx context.Context, storeID string,
	now time.Time,
) (SweepResult, error) {
	var total SweepResult
	for {
		var batch SweepResult
		var due int
		err := db.inTx(ctx, func(tx *sql.Tx) error {
			var err error
			batch, due, err = db.sweepBatch(ctx, tx, storeID, now)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("sweeping completions of store %s: %w", storeID, err)
		}
		total.Events = append(total.Events, batch.Events...)
		total.Completed += batch.Completed
		total.LateCompletions += batch.LateCompletions
		// A full batch may have left more behind, unless it changed nothing
		// (which would otherwise loop forever on the same rows).
		if due < sweepBatchSize || batch.Completed == 0 {
			return total, nil
		}
	}
}

// sweepBatch completes up to sweepBatchSize due appointments and reports
// how many were due.
func (db *DB) sweepBatch(ctx context.Context, tx *sql.Tx, storeID string,
	now time.Time,
) (SweepResult, int, error) {
	due, order, err := dueCompletions(ctx, tx, storeID, now, *db.policy.Load())
	if err != nil {
		return SweepResult{}, 0, err
	}
	var res SweepResult
	n := 0
	for _, customerID := range order {
		recs := due[customerID]
		n += len(recs)
		d, err := diff.DueCompletions(recs, db.diffPolicy(storeID, customerID, now))
		if err != nil {
			return SweepResult{}, 0, fmt.Errorf("completing for customer %s: %w", customerID, err)
		}
		if err := db.saveRecords(ctx, tx, storeID, customerID, d.Appointments, nil); err != nil {
			return SweepResult{}, 0, err
		}
		inserted, err := db.insertEvents(ctx, tx, d.Events)
		if err != nil {
			return SweepResult{}, 0, err
		}
		if err := recordChange(ctx, tx, storeID, customerID, now, len(inserted)); err != nil {
			return SweepResult{}, 0, err
		}
		res.Events = append(res.Events, inserted...)
		res.Completed += countCompleted(d.Appointments)
		res.LateCompletions += d.LateCompletions
	}
	return res, n, nil
}

// dueCompletions reads the next batch of due appointments, grouped by
// customer; order lists the customers in the order first met.
func dueCompletions(ctx context.Context, tx *sql.Tx, storeID string,
	now time.Time, p Policy,
) (map[string][]diff.AppointmentRecord, []string, error) {
	rows, err := tx.QueryContext(ctx, sqlDueCompletions, storeID, now.UnixMilli(), sweepBatchSize,
		p.VerifyLead.Milliseconds(), p.VerifyGrace.Milliseconds())
	if err != nil {
		return nil, nil, fmt.Errorf("listing due appointments: %w", err)
	}
	defer rows.Close()
	due := make(map[string][]diff.AppointmentRecord)
	var order []string
	for rows.Next() {
		var customerID string
		var r appointmentRow
		if err := rows.Scan(append([]any{&customerID}, r.dest()...)...); err != nil {
			return nil, nil, fmt.Errorf("reading due appointment: %w", err)
		}
		if _, seen := due[customerID]; !seen {
			order = append(order, customerID)
		}
		due[customerID] = append(due[customerID], r.record())
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("listing due appointments: %w", err)
	}
	return due, order, nil
}

// recordChange stamps last_change_at on a customer that got events.
func recordChange(ctx context.Context, tx *sql.Tx, storeID, customerID string,
	now time.Time, events int,
) error {
	if events == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, sqlRecordChange, storeID, customerID, now.UnixMilli())
	if err != nil {
		return fmt.Errorf("updating customer %s: %w", customerID, err)
	}
	return nil
}

// countCompleted counts records marked completed.
func countCompleted(recs []diff.AppointmentRecord) int {
	n := 0
	for _, r := range recs {
		if r.Completed {
			n++
		}
	}
	return n
}
