// Package store keeps opencals-sync's state in one SQLite file: customers
// and their tokens, the last snapshot of every customer's appointments and
// orders, the outbox of events, and deliveries. A snapshot and the events it
// produced are written in one transaction (the transactional outbox), so a
// crash at any point loses neither.
//
// Lookups that find nothing return the zero value and an error wrapping
// ErrNotFound.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/opencals-sync/opencals-sync/diff"
)

const (
	// busyTimeout bounds how long a statement waits for another process's
	// lock (the CLI next to the daemon) before failing with SQLITE_BUSY.
	busyTimeout = 5 * time.Second
	// defaultReadConns is the size of the read pool when Options leaves it 0.
	defaultReadConns = 4
	// fileMode is the mode of the database and its -wal and -shm files: the
	// file holds customers' tokens.
	fileMode os.FileMode = 0o600
)

// Policy is the part of the diff configuration that may change while the
// daemon runs (a config reload).
type Policy struct {
	// Baseline is the first-sight mode; "" means diff.BaselineSilent.
	Baseline diff.Baseline
	// CatchUp bounds how late a completion is still emitted; zero means no
	// bound.
	CatchUp time.Duration
	// VerifyLead, when positive, makes the completion sweep wait for a
	// successful look at the customer no earlier than VerifyLead before an
	// appointment's end; VerifyGrace after the end it stops waiting.
	VerifyLead, VerifyGrace time.Duration
}

// DefaultPolicy is a silent baseline and a 24-hour catch-up window.
func DefaultPolicy() Policy {
	return Policy{Baseline: diff.BaselineSilent, CatchUp: 24 * time.Hour}
}

// Options tune Open. The zero value is usable.
type Options struct {
	// Logger receives migration and file-mode notices; nil discards them.
	Logger *slog.Logger
	// Clock stamps customers' created_at and updated_at; nil means the
	// real clock. Apply and the sweep take their time as an argument.
	Clock clockwork.Clock
	// Policy is the initial diff policy; nil means DefaultPolicy().
	Policy *Policy
	// ReadConns is the size of the read-only pool; 0 means 4.
	ReadConns int
}

// DB is an open store. It is safe for concurrent use.
//
// It holds two pools on the same file. Every write goes through a single
// connection, so writers queue in Go instead of spinning on SQLite's lock,
// and each write transaction starts with BEGIN IMMEDIATE so that a reader
// never has to upgrade its lock (the usual source of SQLITE_BUSY). Reads
// outside a transaction use a separate read-only pool; in WAL mode they
// neither wait for the writer nor block it.
//
// Durability: synchronous=NORMAL. In WAL mode that keeps every commit
// atomic and survives a process crash; only a power loss or OS crash can
// undo the last commits, and then a snapshot and its events vanish
// together, so the next poll derives the same events, with the same ids,
// again.
type DB struct {
	w, r   *sql.DB
	cp     *checkpointer
	writes writeHealth
	stmts  writeStmts
	logger *slog.Logger
	clock  clockwork.Clock
	policy atomic.Pointer[Policy]
}

// Open opens the database at path, creating it with mode 0600 if needed,
// and brings its schema up to date. A database written by a newer version
// is refused, untouched, with an error wrapping ErrSchemaTooNew.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	db := &DB{logger: opts.Logger, clock: opts.Clock}
	if db.logger == nil {
		db.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	db.logger = db.logger.With("component", "store")
	if db.clock == nil {
		db.clock = clockwork.NewRealClock()
	}
	p := DefaultPolicy()
	if opts.Policy != nil {
		p = *opts.Policy
	}
	db.policy.Store(&p)
	if err := db.open(ctx, path, opts.ReadConns); err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, errors.Join(err, db.Close()))
	}
	return db, nil
}

// open does Open's work; on error the caller closes whatever was opened.
func (db *DB) open(ctx context.Context, path string, readConns int) error {
	path, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if err := db.prepareFile(path); err != nil {
		return err
	}

	// Writer first: it migrates, then turns WAL on for the file (after the
	// version check, so that a database it refuses stays as it was).
	if db.w, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return err
	}
	db.w.SetMaxOpenConns(1)
	if err := db.migrate(ctx); err != nil {
		return err
	}
	if err := db.enableWAL(ctx); err != nil {
		return err
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := db.restrictMode(path + suffix); err != nil {
			return err
		}
	}

	if readConns <= 0 {
		readConns = defaultReadConns
	}
	if db.r, err = sql.Open("sqlite", dsn(path, true)); err != nil {
		return err
	}
	db.r.SetMaxOpenConns(readConns)
	if err := db.startCheckpointer(path); err != nil {
		return err
	}
	return db.stmts.prepare(ctx, db.w)
}

// dsn builds the driver's data source name. The path goes in a file: URI so
// that no character of it can be taken for a parameter; mode=rw stops SQLite
// from creating a file we did not create with the right mode.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Set("mode", "rw")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "synchronous(NORMAL)")
		// Commits never checkpoint; the checkpointer does, in the background.
		q.Add("_pragma", "wal_autocheckpoint(0)")
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// enableWAL switches the file to WAL mode, which it keeps from then on.
func (db *DB) enableWAL(ctx context.Context) error {
	var mode string
	if err := db.w.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return fmt.Errorf("enabling WAL: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("enabling WAL: journal mode is still %q", mode)
	}
	return nil
}

// prepareFile creates the database file with mode 0600, or tightens the
// mode of an existing one, before SQLite opens it.
func (db *DB) prepareFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return fmt.Errorf("creating database file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("creating database file: %w", err)
	}
	return db.restrictMode(path)
}

// restrictMode makes sure a file, if it exists, is readable by its owner
// only. SQLite gives -wal and -shm the database's mode, so this is a check
// that rarely has anything to do.
func (db *DB) restrictMode(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("checking mode of %s: %w", path, err)
	}
	if fi.Mode().Perm() == fileMode {
		return nil
	}
	if err := os.Chmod(path, fileMode); err != nil {
		return fmt.Errorf("restricting mode of %s: %w", path, err)
	}
	db.logger.Warn("restricted database file mode", "path", path,
		"old_mode", fi.Mode().Perm().String(), "new_mode", fileMode.String())
	return nil
}

// Close closes both pools. The last connection to close checkpoints the
// WAL into the database file.
func (db *DB) Close() error {
	var errs []error
	if db.cp != nil {
		errs = append(errs, db.cp.close())
	}
	errs = append(errs, db.stmts.close())
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	if db.w != nil {
		errs = append(errs, db.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("closing database: %w", err)
	}
	return nil
}

// SetPolicy replaces the diff policy for the transactions that start after
// it returns.
func (db *DB) SetPolicy(p Policy) {
	db.policy.Store(&p)
}

// diffPolicy is the diff.Policy for one customer at one time.
func (db *DB) diffPolicy(storeID, customerID string, now time.Time) diff.Policy {
	p := db.policy.Load()
	return diff.Policy{
		StoreID: storeID, CustomerID: customerID, Now: now,
		Baseline: p.Baseline, CatchUp: p.CatchUp,
	}
}

// inTx runs fn in a write transaction and commits it, or rolls it back if
// fn or the commit fails: then nothing fn did is kept.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	err := db.runTx(ctx, fn)
	db.writes.note(err, db.clock.Now())
	return err
}

func (db *DB) runTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, rollback(tx))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing transaction: %w", err)
	}
	return nil
}

// rollback rolls tx back; a transaction the context already ended is not
// an error.
func rollback(tx *sql.Tx) error {
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("rolling back transaction: %w", err)
	}
	return nil
}
