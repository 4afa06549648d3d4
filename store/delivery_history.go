package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Delivery is where one event stands with one endpoint.
type Delivery struct {
	Endpoint string
	Seq      int64
	State    DeliveryState
	Attempts int
	// NextAttemptAt is when a pending delivery is tried next.
	NextAttemptAt time.Time
	// LastStatus is the HTTP status of the last attempt, 0 when none.
	LastStatus     int
	LastError      string
	DeliveredAt    time.Time
	QueuedAt       time.Time
	FirstAttemptAt time.Time
}

// Attempt is one recorded try.
type Attempt struct {
	N       int
	At      time.Time
	Status  int
	Latency time.Duration
	Error   string
}

// EventDeliveries is an event and its deliveries, by endpoint name.
type EventDeliveries struct {
	Event      StoredEvent
	Deliveries []Delivery
}

// RecentFilter selects events for RecentEvents. The zero value lists the
// newest DefaultEventLimit events.
type RecentFilter struct {
	// State keeps events with a delivery in that state ("" keeps all);
	// Endpoint narrows that delivery to one endpoint.
	State    DeliveryState
	Endpoint string
	// Limit caps the number of events; 0 means DefaultEventLimit.
	Limit int
}

// RecentEvents returns the newest events the filter selects, newest first,
// each with its deliveries. No match is an empty list.
func (db *DB) RecentEvents(ctx context.Context, f RecentFilter) ([]EventDeliveries, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultEventLimit
	}
	rows, err := db.r.QueryContext(ctx, oneStatement(sqlRecentEvents), string(f.State),
		f.Endpoint, limit)
	if err != nil {
		return nil, fmt.Errorf("listing recent events: %w", err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("listing recent events: %w", err)
	}
	seqs := make([]int64, len(evs))
	for i, e := range evs {
		seqs[i] = e.Event.Seq
	}
	byEvent, err := db.deliveriesOf(ctx, seqs)
	if err != nil {
		return nil, err
	}
	for i := range evs {
		evs[i].Deliveries = byEvent[evs[i].Event.Seq]
	}
	return evs, nil
}

// scanEvents reads and closes rows of the columns of sql/event_by_id.sql.
func scanEvents(rows *sql.Rows) ([]EventDeliveries, error) {
	defer rows.Close()
	var evs []EventDeliveries
	for rows.Next() {
		var ed EventDeliveries
		if err := scanEvent(rows, &ed.Event); err != nil {
			return nil, err
		}
		evs = append(evs, ed)
	}
	return evs, rows.Err()
}

// EventDeliveries returns the event with that id and its deliveries, or
// ErrNotFound.
func (db *DB) EventDeliveries(ctx context.Context, id string) (EventDeliveries, error) {
	se, err := db.Event(ctx, id)
	if err != nil {
		return EventDeliveries{}, err
	}
	byEvent, err := db.deliveriesOf(ctx, []int64{se.Seq})
	if err != nil {
		return EventDeliveries{}, err
	}
	return EventDeliveries{Event: se, Deliveries: byEvent[se.Seq]}, nil
}

// deliveriesOf reads the deliveries of the given events, by event seq.
func (db *DB) deliveriesOf(ctx context.Context, seqs []int64) (map[int64][]Delivery, error) {
	byEvent := make(map[int64][]Delivery, len(seqs))
	if len(seqs) == 0 {
		return byEvent, nil
	}
	rows, err := db.r.QueryContext(ctx, oneStatement(sqlDeliveriesOfEvents), seqsJSON(seqs))
	if err != nil {
		return nil, fmt.Errorf("listing deliveries of %d events: %w", len(seqs), err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("listing deliveries of %d events: %w", len(seqs), err)
		}
		byEvent[d.Seq] = append(byEvent[d.Seq], d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing deliveries of %d events: %w", len(seqs), err)
	}
	return byEvent, nil
}

// seqsJSON encodes seqs as the JSON array the queries read with json_each.
func seqsJSON(seqs []int64) string {
	b := []byte{'['}
	for i, s := range seqs {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "%d", s)
	}
	return string(append(b, ']'))
}

// scanDelivery reads the columns of sql/deliveries_of_events.sql.
func scanDelivery(s scanner) (Delivery, error) {
	var (
		d                      Delivery
		state                  string
		next, delivered, first sql.NullInt64
		status                 sql.NullInt64
		lastError              sql.NullString
		queuedMS, attempts     int64
	)
	err := s.Scan(&d.Seq, &d.Endpoint, &state, &attempts, &next, &status, &lastError,
		&delivered, &queuedMS, &first)
	d.State, d.Attempts = DeliveryState(state), int(attempts)
	d.NextAttemptAt, d.DeliveredAt, d.FirstAttemptAt = nullMS(next), nullMS(delivered),
		nullMS(first)
	d.LastStatus, d.LastError = int(status.Int64), lastError.String
	d.QueuedAt = fromMS(queuedMS)
	return d, err
}

// DeliveryAttempts returns every recorded attempt at one event for one
// endpoint, first first; none is an empty list.
func (db *DB) DeliveryAttempts(ctx context.Context, endpoint string,
	seq int64,
) ([]Attempt, error) {
	rows, err := db.r.QueryContext(ctx, oneStatement(sqlDeliveryAttempts), endpoint, seq)
	if err != nil {
		return nil, fmt.Errorf("listing attempts at event %d for %s: %w", seq, endpoint, err)
	}
	defer rows.Close()
	var as []Attempt
	for rows.Next() {
		var (
			a         Attempt
			atMS, lat int64
			status    sql.NullInt64
			errText   sql.NullString
		)
		if err := rows.Scan(&a.N, &atMS, &status, &lat, &errText); err != nil {
			return nil, fmt.Errorf("listing attempts at event %d for %s: %w", seq, endpoint, err)
		}
		a.At, a.Status = fromMS(atMS), int(status.Int64)
		a.Latency, a.Error = time.Duration(lat)*time.Millisecond, errText.String
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing attempts at event %d for %s: %w", seq, endpoint, err)
	}
	return as, nil
}
