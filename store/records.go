package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opencals-sync/opencals-sync/diff"
	"github.com/opencals-sync/opencals-sync/opencals"
)

// writeStmts are the statements of the write path, prepared once on the
// writer connection and bound to each transaction with Tx.StmtContext.
type writeStmts struct {
	customerDiffState    *sql.Stmt
	customerAppointments *sql.Stmt
	customerOrders       *sql.Stmt
	upsertAppointment    *sql.Stmt
	upsertOrder          *sql.Stmt
	insertEvent          *sql.Stmt
	confirmEvent         *sql.Stmt
	recordApply          *sql.Stmt
}

// prepare prepares every statement on w.
func (s *writeStmts) prepare(ctx context.Context, w *sql.DB) error {
	for _, p := range []struct {
		dst   **sql.Stmt
		query string
	}{
		{&s.customerDiffState, sqlCustomerDiffState},
		{&s.customerAppointments, sqlCustomerAppointments},
		{&s.customerOrders, sqlCustomerOrders},
		{&s.upsertAppointment, sqlUpsertAppointment},
		{&s.upsertOrder, sqlUpsertOrder},
		{&s.insertEvent, sqlInsertEvent},
		{&s.confirmEvent, sqlConfirmEvent},
		{&s.recordApply, sqlRecordApply},
	} {
		// The driver keeps a compiled statement only when nothing follows
		// it; the files' final newline would make it recompile each time.
		stmt, err := w.PrepareContext(ctx, strings.TrimSpace(p.query))
		if err != nil {
			return fmt.Errorf("preparing statement: %w", err)
		}
		*p.dst = stmt
	}
	return nil
}

// close closes the statements that were prepared.
func (s *writeStmts) close() error {
	var errs []error
	for _, stmt := range []*sql.Stmt{
		s.customerDiffState, s.customerAppointments, s.customerOrders,
		s.upsertAppointment, s.upsertOrder, s.insertEvent, s.confirmEvent,
		s.recordApply,
	} {
		if stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	return errors.Join(errs...)
}

// storedState is what Apply reads before diffing.
type storedState struct {
	diff.State
	// nextBoundaryMS is the customer's recorded next boundary, 0 for none.
	nextBoundaryMS int64
}

// loadState reads what is stored for one customer. Bodies are read only
// where an event may need them without a new item (see
// sql/customer_appointments.sql).
func (db *DB) loadState(ctx context.Context, tx *sql.Tx, storeID, customerID string,
	snap diff.Snapshot, now time.Time,
) (storedState, error) {
	var st storedState
	err := tx.StmtContext(ctx, db.stmts.customerDiffState).
		QueryRowContext(ctx, storeID, customerID).Scan(&st.Baselined, &st.nextBoundaryMS)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("reading customer %s: %w", customerID, ErrNotFound)
	}
	if err != nil {
		return st, fmt.Errorf("reading customer %s: %w", customerID, err)
	}
	gone := len(snap.GoneAppointments) > 0 || len(snap.GoneOrders) > 0
	st.Appointments, err = db.loadAppointments(ctx, tx, storeID, customerID, gone, now)
	if err != nil {
		return st, err
	}
	if st.Orders, err = db.loadOrders(ctx, tx, storeID, customerID, gone); err != nil {
		return st, err
	}
	return st, nil
}

// loadAppointments reads a customer's stored appointments by id.
func (db *DB) loadAppointments(ctx context.Context, tx *sql.Tx, storeID, customerID string,
	allBodies bool, now time.Time,
) (map[string]diff.AppointmentRecord, error) {
	rows, err := tx.StmtContext(ctx, db.stmts.customerAppointments).
		QueryContext(ctx, storeID, customerID, allBodies, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("listing appointments of customer %s: %w", customerID, err)
	}
	defer rows.Close()
	recs := make(map[string]diff.AppointmentRecord)
	for rows.Next() {
		var r appointmentRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, fmt.Errorf("reading appointment of customer %s: %w", customerID, err)
		}
		recs[r.ID] = r.record()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing appointments of customer %s: %w", customerID, err)
	}
	return recs, nil
}

// loadOrders reads a customer's stored orders by id.
func (db *DB) loadOrders(ctx context.Context, tx *sql.Tx, storeID, customerID string,
	allBodies bool,
) (map[string]diff.OrderRecord, error) {
	rows, err := tx.StmtContext(ctx, db.stmts.customerOrders).
		QueryContext(ctx, storeID, customerID, allBodies)
	if err != nil {
		return nil, fmt.Errorf("listing orders of customer %s: %w", customerID, err)
	}
	defer rows.Close()
	recs := make(map[string]diff.OrderRecord)
	for rows.Next() {
		var r orderRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, fmt.Errorf("reading order of customer %s: %w", customerID, err)
		}
		rec, err := r.record()
		if err != nil {
			return nil, fmt.Errorf("reading order %s: %w", r.ID, err)
		}
		recs[rec.ID] = rec
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing orders of customer %s: %w", customerID, err)
	}
	return recs, nil
}

// saveRecords upserts the records a diff returned.
func (db *DB) saveRecords(ctx context.Context, tx *sql.Tx, storeID, customerID string,
	apps []diff.AppointmentRecord, orders []diff.OrderRecord,
) error {
	if len(apps) > 0 {
		stmt := tx.StmtContext(ctx, db.stmts.upsertAppointment)
		for _, a := range apps {
			if _, err := stmt.ExecContext(ctx, appointmentArgs(storeID, customerID, a)...); err != nil {
				return fmt.Errorf("writing appointment %s: %w", a.ID, err)
			}
		}
	}
	if len(orders) > 0 {
		stmt := tx.StmtContext(ctx, db.stmts.upsertOrder)
		for _, o := range orders {
			args, err := orderArgs(storeID, customerID, o)
			if err == nil {
				_, err = stmt.ExecContext(ctx, args...)
			}
			if err != nil {
				return fmt.Errorf("writing order %s: %w", o.ID, err)
			}
		}
	}
	return nil
}

// appointmentArgs are the arguments of sql/upsert_appointment.sql.
func appointmentArgs(storeID, customerID string, a diff.AppointmentRecord) []any {
	return []any{
		storeID, customerID, a.ID, string(a.Status), toMS(a.From), toMS(a.To),
		a.Deleted, toMS(a.UpdatedAt), a.Created, a.Canceled, a.Completed, a.Missing,
		int64(a.Hash), nullBytes(a.Body),
	}
}

// orderArgs are the arguments of sql/upsert_order.sql.
func orderArgs(storeID, customerID string, o diff.OrderRecord) ([]any, error) {
	refunds, err := refundsJSON(o.Refunds)
	if err != nil {
		return nil, err
	}
	return []any{
		storeID, customerID, o.ID, string(o.PaymentStatus), o.PaidTotal, o.RefundedTotal,
		refunds, o.Deleted, toMS(o.UpdatedAt), o.Missing, int64(o.Hash), nullBytes(o.Body),
	}, nil
}

// appointmentRow is one scanned row of the appointments table.
type appointmentRow struct {
	diff.AppointmentRecord
	status                    string
	fromMS, toMS, updatedAtMS int64
	hash                      int64
}

// dest lists the scan targets in the column order of
// sql/customer_appointments.sql.
func (r *appointmentRow) dest() []any {
	return []any{
		&r.ID, &r.status, &r.fromMS, &r.toMS, &r.Deleted, &r.updatedAtMS,
		&r.Created, &r.Canceled, &r.Completed, &r.Missing, &r.hash, &r.Body,
	}
}

// record converts the row's columns to the diff's types.
func (r *appointmentRow) record() diff.AppointmentRecord {
	rec := r.AppointmentRecord
	rec.Status = opencals.AppointmentStatus(r.status)
	rec.From, rec.To = fromMS(r.fromMS), fromMS(r.toMS)
	rec.UpdatedAt = fromMS(r.updatedAtMS)
	rec.Hash = uint64(r.hash)
	return rec
}

// orderRow is one scanned row of the orders table.
type orderRow struct {
	diff.OrderRecord
	status      string
	refunds     []byte
	updatedAtMS int64
	hash        int64
}

// dest lists the scan targets in the column order of
// sql/customer_orders.sql.
func (r *orderRow) dest() []any {
	return []any{
		&r.ID, &r.status, &r.PaidTotal, &r.RefundedTotal, &r.refunds, &r.Deleted,
		&r.updatedAtMS, &r.Missing, &r.hash, &r.Body,
	}
}

// record converts the row's columns to the diff's types.
func (r *orderRow) record() (diff.OrderRecord, error) {
	rec := r.OrderRecord
	rec.PaymentStatus = opencals.PaymentStatus(r.status)
	rec.UpdatedAt = fromMS(r.updatedAtMS)
	rec.Hash = uint64(r.hash)
	if len(r.refunds) > 0 && string(r.refunds) != "[]" {
		if err := json.Unmarshal(r.refunds, &rec.Refunds); err != nil {
			return rec, fmt.Errorf("decoding refunds: %w", err)
		}
	}
	return rec, nil
}

// refundsJSON encodes refund discriminators as a JSON array, [] for none.
func refundsJSON(refunds []string) (string, error) {
	if len(refunds) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(refunds)
	if err != nil {
		return "", fmt.Errorf("encoding refunds: %w", err)
	}
	return string(b), nil
}

// nullBytes binds an absent body as NULL rather than as an empty blob.
func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// toMS converts a time to unix milliseconds; the zero time is 0.
func toMS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts unix milliseconds to a UTC time; 0 is the zero time.
func fromMS(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// nullMS converts a nullable column of unix milliseconds.
func nullMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

// msOrNull binds the zero time as NULL.
func msOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}
