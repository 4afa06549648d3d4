package store

import (
	"context"
	"database/sql"
	_ "embed" // the query lives in sql/
	"fmt"
)

//go:embed sql/touch_schema.sql
var sqlTouchSchema string

// CheckWritable commits a write that changes nothing, so readiness can tell
// a database that stopped taking writes (read-only file, full disk, lock
// held elsewhere beyond the busy timeout).
func (db *DB) CheckWritable(ctx context.Context) error {
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, sqlTouchSchema)
		return err
	})
	if err != nil {
		return fmt.Errorf("database not writable: %w", err)
	}
	return nil
}
