package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// checkpointEvery is how often the WAL is copied back into the database
// file. Commits no longer do it themselves (wal_autocheckpoint is off on
// the writer), so a commit never waits for a checkpoint's disk writes.
const checkpointEvery = time.Second

// checkpointer copies the WAL into the database file in the background, on
// its own connection, so that the writer's commits stay short: with
// SQLite's automatic checkpoint, the commit that crosses the threshold
// pays for copying the whole WAL (tens of milliseconds), a p99 every
// caller would feel. A PASSIVE checkpoint waits for nobody: readers and
// the writer go on while it copies.
type checkpointer struct {
	conn *sql.DB
	stop context.CancelFunc
	done chan struct{}
}

// startCheckpointer opens the checkpoint connection and starts its loop.
func (db *DB) startCheckpointer(path string) error {
	conn, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return err
	}
	conn.SetMaxOpenConns(1)
	ctx, stop := context.WithCancel(context.Background())
	db.cp = &checkpointer{conn: conn, stop: stop, done: make(chan struct{})}
	go db.checkpointLoop(ctx)
	return nil
}

func (db *DB) checkpointLoop(ctx context.Context) {
	defer close(db.cp.done)
	ticker := db.clock.NewTicker(checkpointEvery)
	defer ticker.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.Chan():
			_, err := db.checkpoint(ctx)
			switch {
			case ctx.Err() != nil:
				return
			case err != nil:
				// A full disk shows here first: commits still fit in the
				// WAL's space while the database file cannot grow.
				db.writes.note(err, db.clock.Now())
				if !failing {
					db.logger.Warn("WAL checkpoint failed; retrying every second", "err", err)
				}
				failing = true
			case failing:
				db.logger.Info("WAL checkpoint works again")
				failing = false
			}
		}
	}
}

// checkpoint runs one PASSIVE checkpoint and returns the WAL frames it left
// behind (frames a reader still needed).
func (db *DB) checkpoint(ctx context.Context) (int, error) {
	var busy, logFrames, done int
	err := db.cp.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").
		Scan(&busy, &logFrames, &done)
	if err != nil {
		return 0, fmt.Errorf("checkpointing WAL: %w", err)
	}
	return logFrames - done, nil
}

// close stops the loop and closes its connection.
func (c *checkpointer) close() error {
	c.stop()
	<-c.done
	return c.conn.Close()
}
