package store

import (
	"context"
	"database/sql"
	_ "embed" // the query lives in sql/
	"errors"
	"fmt"
	gosync "sync"
	"time"

	"modernc.org/sqlite"
)

//go:embed sql/touch_schema.sql
var sqlTouchSchema string

// storageFailureHold is how long readiness stays false after a write
// failed for a reason of the file itself.
const storageFailureHold = 30 * time.Second

// CheckWritable tells readiness whether the database takes writes. It
// commits a write that changes nothing (a read-only file or a lock held
// elsewhere beyond the busy timeout fail it), and it fails for
// storageFailureHold after any write failed for a reason of the file itself
// (full disk, I/O error): on a full disk, small writes that fit in space the
// WAL already has still succeed, the probe among them, while the writes
// that need room fail.
func (db *DB) CheckWritable(ctx context.Context) error {
	_, err := db.w.ExecContext(ctx, sqlTouchSchema)
	if err != nil {
		return fmt.Errorf("database not writable: %w", err)
	}
	if err := db.writes.failing(db.clock.Now()); err != nil {
		return fmt.Errorf("database not writable: %w", err)
	}
	return nil
}

// writeHealth remembers the last write that failed for a reason of the
// database file.
type writeHealth struct {
	mu      gosync.Mutex
	failAt  time.Time
	failErr error
}

// note records a write's error if it is a failure of the database file
// itself. Other errors (a rejected snapshot, a cancelled context, a missing
// customer) say nothing about the file.
func (h *writeHealth) note(err error, now time.Time) {
	if err == nil || !storageFailure(err) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failAt, h.failErr = now, err
}

// failing returns the last storage failure if it is recent.
func (h *writeHealth) failing(now time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failErr != nil && now.Sub(h.failAt) < storageFailureHold {
		return fmt.Errorf("a write failed %s ago: %w", now.Sub(h.failAt).Round(time.Second), h.failErr)
	}
	return nil
}

// storageFailure reports whether err is SQLite failing to write the file:
// full, read-only, I/O error, corrupt or unopenable.
func storageFailure(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case 8, 10, 11, 13, 14: // READONLY, IOERR, CORRUPT, FULL, CANTOPEN
		return true
	}
	return false
}

// execWrite runs one write statement outside a transaction and notes its
// outcome.
func (db *DB) execWrite(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := db.w.ExecContext(ctx, query, args...)
	db.writes.note(err, db.clock.Now())
	return res, err
}
