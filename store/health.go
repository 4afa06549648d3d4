package store

import (
	"context"
	"database/sql"
	_ "embed" // the query lives in sql/
	"errors"
	"fmt"
	gosync "sync"

	"modernc.org/sqlite"
)

//go:embed sql/touch_schema.sql
var sqlTouchSchema string

// CheckWritable tells readiness whether the database takes writes. It
// commits a write that changes nothing (a read-only file or a lock held
// elsewhere beyond the busy timeout fail it), and it fails while the last
// write that failed for a reason of the file itself (full disk, I/O error)
// is newer than the last write that worked: a write into space the WAL
// already has succeeds even on a full disk, so the probe alone cannot see
// one.
func (db *DB) CheckWritable(ctx context.Context) error {
	_, err := db.w.ExecContext(ctx, sqlTouchSchema)
	if err != nil {
		return fmt.Errorf("database not writable: %w", err)
	}
	if err := db.writes.failing(); err != nil {
		return fmt.Errorf("database not writable: %w", err)
	}
	return nil
}

// writeHealth remembers how the last writes went, in the order they
// ended.
type writeHealth struct {
	mu      gosync.Mutex
	n       uint64 // writes noted so far
	failN   uint64 // the last storage failure's number
	failErr error
	okN     uint64 // the last success's number
}

// note records the outcome of a write: a success, or a failure of the
// database file itself. Other errors (a rejected snapshot, a cancelled
// context, a missing customer) say nothing about the file.
func (h *writeHealth) note(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n++
	switch {
	case err == nil:
		h.okN = h.n
	case storageFailure(err):
		h.failN, h.failErr = h.n, err
	}
}

// failing returns the last storage failure if no write worked since.
func (h *writeHealth) failing() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failErr != nil && h.okN < h.failN {
		return fmt.Errorf("the last write failed: %w", h.failErr)
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
	db.writes.note(err)
	return res, err
}
