package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

// migrationFS holds the schema as numbered, forward-only steps:
// migrations/NNNN_what.sql, numbered from 1 without gaps. A released file
// never changes; a schema change is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one step of the schema.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the embedded steps in order and checks their
// numbering.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("listing migrations: %w", err)
	}
	// Glob returns names sorted, and the numbers are zero-padded.
	ms := make([]migration, 0, len(names))
	for i, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version != i+1 {
			return nil, fmt.Errorf("migration %s: want number %d in a name like 0001_what.sql",
				base, i+1)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", base, err)
		}
		ms = append(ms, migration{version: version, name: base, sql: string(body)})
	}
	return ms, nil
}

// migrate applies the steps the database lacks, all in one transaction, and
// records each. A database already past the newest step is left untouched.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return err
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		current, err := schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		if latest := len(ms); current > latest {
			return fmt.Errorf("schema version %d, this binary knows up to %d: %w",
				current, latest, ErrSchemaTooNew)
		}
		if current == len(ms) {
			return nil
		}
		if err := applyMigrations(ctx, tx, ms[current:], db.clock.Now().UnixMilli()); err != nil {
			return err
		}
		db.logger.Info("migrated database schema", "from_version", current, "to_version", len(ms))
		return nil
	})
}

// schemaVersion reads the last applied step, 0 for a new database, and
// creates the table that records steps when it is missing.
func schemaVersion(ctx context.Context, tx *sql.Tx) (int, error) {
	var tables int
	if err := tx.QueryRowContext(ctx, sqlSchemaMigrationsExists).Scan(&tables); err != nil {
		return 0, fmt.Errorf("looking for schema_migrations: %w", err)
	}
	if tables == 0 {
		if _, err := tx.ExecContext(ctx, sqlCreateSchemaMigrations); err != nil {
			return 0, fmt.Errorf("creating schema_migrations: %w", err)
		}
		return 0, nil
	}
	var v int
	if err := tx.QueryRowContext(ctx, sqlSchemaVersion).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return v, nil
}

// applyMigrations runs steps in order and records each.
func applyMigrations(ctx context.Context, tx *sql.Tx, ms []migration, nowMS int64) error {
	for _, m := range ms {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("applying migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, sqlRecordMigration, m.version, m.name, nowMS); err != nil {
			return fmt.Errorf("recording migration %s: %w", m.name, err)
		}
	}
	return nil
}
