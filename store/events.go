package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
)

// DefaultEventLimit is how many events ListEvents returns when the filter
// sets no limit.
const DefaultEventLimit = 100

// StoredEvent is an event as the outbox holds it.
type StoredEvent struct {
	// Seq orders the outbox: later events have higher numbers. There may be
	// gaps (a duplicate insert still uses up a number).
	Seq        int64
	ID         string
	Type       event.Type
	StoreID    string
	CustomerID string
	ResourceID string
	Source     event.Source
	CreatedAt  time.Time
	OccurredAt time.Time
	Test       bool
	// ConfirmedBy is the other source that saw the same event later; ""
	// when none did.
	ConfirmedBy event.Source
	// Body is the JSON handlers receive, byte for byte.
	Body json.RawMessage
}

// EventFilter selects events for ListEvents. The zero value lists the first
// DefaultEventLimit events of every store.
type EventFilter struct {
	// StoreID keeps one store's events; "" keeps all.
	StoreID string
	// Type keeps one type; "" keeps all.
	Type event.Type
	// AfterSeq keeps events whose Seq is greater.
	AfterSeq int64
	// Limit caps the number of events; 0 means DefaultEventLimit.
	Limit int
}

// insertEvents adds events to the outbox inside tx and returns those that
// were new: an id already stored is skipped (and, seen by another source,
// recorded in confirmed_by).
func (db *DB) insertEvents(ctx context.Context, tx *sql.Tx,
	evs []event.Event,
) ([]event.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	insert := tx.StmtContext(ctx, db.stmts.insertEvent)
	var inserted []event.Event
	for _, ev := range evs {
		isNew, err := insertEvent(ctx, insert, ev)
		if err != nil {
			return nil, fmt.Errorf("inserting event %s: %w", ev.ID, err)
		}
		if isNew {
			inserted = append(inserted, ev)
			continue
		}
		confirm := tx.StmtContext(ctx, db.stmts.confirmEvent)
		if _, err := confirm.ExecContext(ctx, ev.ID, string(ev.Source)); err != nil {
			return nil, fmt.Errorf("confirming event %s: %w", ev.ID, err)
		}
	}
	return inserted, nil
}

// insertEvent encodes one event, once, and inserts it unless its id is
// stored; it reports whether a row was added.
func insertEvent(ctx context.Context, insert *sql.Stmt, ev event.Event) (bool, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return false, fmt.Errorf("encoding: %w", err)
	}
	res, err := insert.ExecContext(ctx, ev.ID, ev.StoreID, ev.CustomerID, string(ev.Type),
		ev.ResourceID, string(ev.Source), toMS(ev.CreatedAt), toMS(ev.OccurredAt), ev.Test, body)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// InsertEvents records events learnt elsewhere (a real webhook) in the
// outbox, in one transaction, and returns the ones that were new; ids
// already stored are skipped. An event without an id, a store id or a known
// type fails the whole call with ErrInvalidEvent. An empty ResourceID is
// taken from data.object.id.
func (db *DB) InsertEvents(ctx context.Context, evs []event.Event) ([]event.Event, error) {
	evs = append([]event.Event(nil), evs...)
	for i := range evs {
		if err := completeEvent(&evs[i]); err != nil {
			return nil, fmt.Errorf("inserting event %q: %w", evs[i].ID, err)
		}
	}
	var inserted []event.Event
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		inserted, err = db.insertEvents(ctx, tx, evs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("inserting %d events: %w", len(evs), err)
	}
	return inserted, nil
}

// completeEvent checks an incoming event and fills its resource id.
func completeEvent(ev *event.Event) error {
	switch {
	case ev.ID == "":
		return fmt.Errorf("no id: %w", ErrInvalidEvent)
	case ev.StoreID == "":
		return fmt.Errorf("no store id: %w", ErrInvalidEvent)
	case !ev.Type.Valid():
		return fmt.Errorf("unknown type %q: %w", ev.Type, ErrInvalidEvent)
	}
	if ev.ResourceID != "" || len(ev.Data.Object) == 0 {
		return nil
	}
	var obj struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(ev.Data.Object, &obj); err != nil {
		return fmt.Errorf("reading data.object.id: %w: %w", ErrInvalidEvent, err)
	}
	ev.ResourceID = obj.ID
	return nil
}

// Event returns the stored event with that id, or ErrNotFound.
func (db *DB) Event(ctx context.Context, id string) (StoredEvent, error) {
	var se StoredEvent
	err := scanEvent(db.r.QueryRowContext(ctx, sqlEventByID, id), &se)
	if errors.Is(err, sql.ErrNoRows) {
		return StoredEvent{}, fmt.Errorf("reading event %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return StoredEvent{}, fmt.Errorf("reading event %s: %w", id, err)
	}
	return se, nil
}

// ListEvents returns the events the filter selects, in outbox order. No
// match is an empty list, not an error.
func (db *DB) ListEvents(ctx context.Context, f EventFilter) ([]StoredEvent, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultEventLimit
	}
	rows, err := db.r.QueryContext(ctx, sqlEventsAfterSeq,
		f.AfterSeq, f.StoreID, string(f.Type), limit)
	if err != nil {
		return nil, fmt.Errorf("listing events after %d: %w", f.AfterSeq, err)
	}
	defer rows.Close()
	var evs []StoredEvent
	for rows.Next() {
		var se StoredEvent
		if err := scanEvent(rows, &se); err != nil {
			return nil, fmt.Errorf("listing events after %d: %w", f.AfterSeq, err)
		}
		evs = append(evs, se)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing events after %d: %w", f.AfterSeq, err)
	}
	return evs, nil
}

// MaxEventSeq returns the newest sequence number, 0 for an empty outbox.
func (db *DB) MaxEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := db.r.QueryRowContext(ctx, sqlMaxEventSeq).Scan(&seq); err != nil {
		return 0, fmt.Errorf("reading newest event sequence: %w", err)
	}
	return seq, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanEvent reads the columns of sql/event_by_id.sql.
func scanEvent(s scanner, se *StoredEvent) error {
	var (
		typ, source          string
		confirmed            sql.NullString
		createdMS, occuredMS int64
		body                 []byte
	)
	err := s.Scan(&se.Seq, &se.ID, &se.StoreID, &se.CustomerID, &typ, &se.ResourceID,
		&source, &createdMS, &occuredMS, &se.Test, &confirmed, &body)
	if err != nil {
		return err
	}
	se.Type, se.Source = event.Type(typ), event.Source(source)
	se.ConfirmedBy = event.Source(confirmed.String)
	se.CreatedAt, se.OccurredAt = fromMS(createdMS), fromMS(occuredMS)
	se.Body = body
	return nil
}
