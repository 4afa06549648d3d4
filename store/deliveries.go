package store

import (
	"cmp"
	"context"
	"database/sql"
	_ "embed" // the delivery queries live in sql/, like the others
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
)

// The delivery side of the outbox: per-endpoint cursors, the deliveries
// queued from them, every attempt, dead letters and disabled endpoints.
// The dispatcher (package deliver) drives it; retry state lives here only.

var (
	//go:embed sql/delivery_endpoints.sql
	sqlDeliveryEndpoints string
	//go:embed sql/endpoint_by_name.sql
	sqlEndpointByName string
	//go:embed sql/register_endpoint.sql
	sqlRegisterEndpoint string
	//go:embed sql/set_endpoint_fingerprint.sql
	sqlSetEndpointFingerprint string
	//go:embed sql/fan_out.sql
	sqlFanOut string
	//go:embed sql/advance_endpoint.sql
	sqlAdvanceEndpoint string
	//go:embed sql/due_deliveries.sql
	sqlDueDeliveries string
	//go:embed sql/next_delivery_due.sql
	sqlNextDeliveryDue string
	//go:embed sql/record_attempt.sql
	sqlRecordAttempt string
	//go:embed sql/insert_attempt.sql
	sqlInsertAttempt string
	//go:embed sql/disable_endpoint.sql
	sqlDisableEndpoint string
	//go:embed sql/hold_endpoint_deliveries.sql
	sqlHoldEndpointDeliveries string
	//go:embed sql/enable_endpoint.sql
	sqlEnableEndpoint string
	//go:embed sql/release_endpoint_deliveries.sql
	sqlReleaseEndpointDeliveries string
	//go:embed sql/queue_delivery.sql
	sqlQueueDelivery string
	//go:embed sql/resend_failed.sql
	sqlResendFailed string
	//go:embed sql/pending_of_event.sql
	sqlPendingOfEvent string
	//go:embed sql/delivery_backlog.sql
	sqlDeliveryBacklog string
	//go:embed sql/deliveries_of_events.sql
	sqlDeliveriesOfEvents string
	//go:embed sql/delivery_attempts.sql
	sqlDeliveryAttempts string
	//go:embed sql/recent_events.sql
	sqlRecentEvents string
)

// DeliveryState is where one event stands with one endpoint.
type DeliveryState string

// The delivery states.
const (
	// DeliveryPending deliveries wait for their next attempt.
	DeliveryPending DeliveryState = "pending"
	// DeliveryDelivered deliveries got a success; they are never retried
	// unless resent.
	DeliveryDelivered DeliveryState = "delivered"
	// DeliveryFailed deliveries outlived their retry window: dead letters,
	// until resent.
	DeliveryFailed DeliveryState = "failed"
	// DeliveryDisabled deliveries wait for their endpoint, disabled by a
	// 410 Gone, to be enabled again.
	DeliveryDisabled DeliveryState = "disabled"
)

// EndpointTarget is an endpoint as the configuration describes it to the
// store.
type EndpointTarget struct {
	Name string
	// Fingerprint identifies where deliveries go (URL or command). A
	// change enables an endpoint a 410 Gone disabled.
	Fingerprint string
	// Types are the event types the endpoint's filter accepts.
	Types []event.Type
}

// EndpointState is the stored state of one endpoint.
type EndpointState struct {
	Name string
	// LastSeq is the fan-out cursor: events up to it were considered.
	LastSeq     int64
	Fingerprint string
	// DisabledAt is when a 410 Gone disabled the endpoint; zero when
	// enabled.
	DisabledAt     time.Time
	DisabledReason string
}

// Disabled reports whether the endpoint is disabled.
func (s EndpointState) Disabled() bool { return !s.DisabledAt.IsZero() }

// PendingDelivery is one delivery ready to be attempted, with the event's
// stored body: the bytes that are signed and sent.
type PendingDelivery struct {
	Endpoint string
	Seq      int64
	// Resource keys the ordering: "<store>/<appointment|order>/<id>".
	Resource string
	// Attempts made so far; the next attempt is number Attempts+1.
	Attempts int
	// FirstAttemptAt starts the retry window; zero before the first
	// attempt (and after a resend).
	FirstAttemptAt time.Time
	// QueuedAt is when the delivery was queued; DueAt when it falls due.
	QueuedAt   time.Time
	DueAt      time.Time
	EventID    string
	Type       event.Type
	StoreID    string
	CustomerID string
	ResourceID string
	Test       bool
	Body       json.RawMessage
}

// AttemptRecord is the outcome of one attempt and the delivery's next
// state, decided by the dispatcher.
type AttemptRecord struct {
	Endpoint string
	Seq      int64
	// N is the attempt's number, from 1.
	N  int
	At time.Time
	// Status is the HTTP status; 0 when there was none (exec, network
	// error).
	Status  int
	Latency time.Duration
	// Error describes a failure, bounded and free of secrets; "" on
	// success.
	Error string
	// State, NextAttemptAt and FirstAttemptAt are the delivery's new
	// state; a delivery already held by a disabled endpoint stays held.
	State          DeliveryState
	NextAttemptAt  time.Time
	FirstAttemptAt time.Time
}

// Backlog is what waits to be delivered.
type Backlog struct {
	Pending int
	// Oldest is when the oldest pending delivery was queued; zero when
	// none waits.
	Oldest time.Time
}

// oneStatement strips what follows a query's final semicolon. The driver
// caches a prepared statement only when nothing follows it; with the
// newline that ends every file in sql/, it parses the SQL again on every
// execution, which costs more than most of these queries take to run.
func oneStatement(query string) string {
	return strings.TrimRight(query, " \t\r\n")
}

// namesJSON encodes names as the JSON array the queries read with
// json_each.
func namesJSON[T ~string](names []T) string {
	b, err := json.Marshal(names)
	if err != nil || names == nil {
		return "[]" // a []string always encodes
	}
	return string(b)
}

// EndpointStates returns every endpoint the store knows, by name.
func (db *DB) EndpointStates(ctx context.Context) ([]EndpointState, error) {
	rows, err := db.r.QueryContext(ctx, oneStatement(sqlDeliveryEndpoints))
	if err != nil {
		return nil, fmt.Errorf("listing delivery endpoints: %w", err)
	}
	defer rows.Close()
	var states []EndpointState
	for rows.Next() {
		s, err := scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("listing delivery endpoints: %w", err)
		}
		states = append(states, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing delivery endpoints: %w", err)
	}
	return states, nil
}

func scanEndpoint(s scanner) (EndpointState, error) {
	var (
		es       EndpointState
		disabled sql.NullInt64
	)
	err := s.Scan(&es.Name, &es.LastSeq, &es.Fingerprint, &disabled, &es.DisabledReason)
	es.DisabledAt = nullMS(disabled)
	return es, err
}

// RegisterEndpoints makes sure every target has a cursor, in one
// transaction: a new endpoint starts at the newest event, so history does
// not flood it (resend exists for that); a known one keeps its cursor. A
// target whose fingerprint changed is recorded, and enabled again if a
// 410 Gone had disabled it, its held deliveries due at once. It returns
// the targets' states in the order given.
func (db *DB) RegisterEndpoints(ctx context.Context, targets []EndpointTarget,
	now time.Time,
) ([]EndpointState, error) {
	states := make([]EndpointState, len(targets))
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var maxSeq int64
		if err := tx.QueryRowContext(ctx, oneStatement(sqlMaxEventSeq)).Scan(&maxSeq); err != nil {
			return fmt.Errorf("reading newest event sequence: %w", err)
		}
		for i, t := range targets {
			s, err := registerEndpoint(ctx, tx, t, maxSeq, now)
			if err != nil {
				return fmt.Errorf("registering endpoint %s: %w", t.Name, err)
			}
			states[i] = s
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("registering %d endpoints: %w", len(targets), err)
	}
	return states, nil
}

func registerEndpoint(ctx context.Context, tx *sql.Tx, t EndpointTarget, maxSeq int64,
	now time.Time,
) (EndpointState, error) {
	nowMS := now.UnixMilli()
	if _, err := tx.ExecContext(ctx, oneStatement(sqlRegisterEndpoint), t.Name, maxSeq,
		t.Fingerprint, nowMS); err != nil {
		return EndpointState{}, err
	}
	s, err := scanEndpoint(tx.QueryRowContext(ctx, oneStatement(sqlEndpointByName), t.Name))
	if err != nil || s.Fingerprint == t.Fingerprint {
		return s, err
	}
	if _, err := tx.ExecContext(ctx, oneStatement(sqlSetEndpointFingerprint), t.Name,
		t.Fingerprint, nowMS); err != nil {
		return EndpointState{}, err
	}
	if s.Disabled() {
		if _, err := tx.ExecContext(ctx, oneStatement(sqlReleaseEndpointDeliveries), t.Name,
			nowMS); err != nil {
			return EndpointState{}, err
		}
	}
	s.Fingerprint, s.DisabledAt, s.DisabledReason = t.Fingerprint, time.Time{}, ""
	return s, nil
}

// FanOut queues, in one transaction, the events recorded since each
// target's cursor that its types accept (test events excepted: their
// trigger queues them), due at now, and moves the cursors to the newest
// event. Targets the store has not registered are skipped. It returns how
// many deliveries were queued.
func (db *DB) FanOut(ctx context.Context, targets []EndpointTarget,
	now time.Time,
) (int, error) {
	queued := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		queued = 0
		var maxSeq int64
		if err := tx.QueryRowContext(ctx, oneStatement(sqlMaxEventSeq)).Scan(&maxSeq); err != nil {
			return fmt.Errorf("reading newest event sequence: %w", err)
		}
		for _, t := range targets {
			n, err := fanOutOne(ctx, tx, t, maxSeq, now)
			if err != nil {
				return fmt.Errorf("queueing events for endpoint %s: %w", t.Name, err)
			}
			queued += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("fanning out events: %w", err)
	}
	return queued, nil
}

func fanOutOne(ctx context.Context, tx *sql.Tx, t EndpointTarget, maxSeq int64,
	now time.Time,
) (int, error) {
	s, err := scanEndpoint(tx.QueryRowContext(ctx, oneStatement(sqlEndpointByName), t.Name))
	if errors.Is(err, sql.ErrNoRows) || err == nil && s.LastSeq >= maxSeq {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, oneStatement(sqlFanOut), t.Name, s.LastSeq, maxSeq,
		now.UnixMilli(), namesJSON(t.Types))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, oneStatement(sqlAdvanceEndpoint), t.Name, maxSeq, now.UnixMilli())
	return int(n), err
}

// DeliveryKey names one delivery.
type DeliveryKey struct {
	Endpoint string
	Seq      int64
}

// DueDeliveries returns up to limit pending deliveries of the named
// endpoints that are due at now, soonest first, leaving out those in skip
// (the caller's attempts in flight: they stay pending until recorded). Of
// the pending deliveries of one resource for one endpoint only the
// earliest event is returned: the later ones wait until it is delivered or
// given up.
func (db *DB) DueDeliveries(ctx context.Context, endpoints []string, now time.Time,
	limit int, skip []DeliveryKey,
) ([]PendingDelivery, error) {
	skipped := make(map[string][]int64)
	for _, k := range skip {
		skipped[k.Endpoint] = append(skipped[k.Endpoint], k.Seq)
	}
	// One query per endpoint follows an index and stops at the limit; one
	// query over all of them would sort every pending row first.
	var all []PendingDelivery
	for _, ep := range endpoints {
		rows, err := db.r.QueryContext(ctx, oneStatement(sqlDueDeliveries), ep,
			now.UnixMilli(), limit, seqsJSON(skipped[ep]))
		if err != nil {
			return nil, fmt.Errorf("listing due deliveries of %s: %w", ep, err)
		}
		pds, err := scanPending(rows)
		if err != nil {
			return nil, fmt.Errorf("listing due deliveries of %s: %w", ep, err)
		}
		all = append(all, pds...)
	}
	if len(endpoints) > 1 {
		slices.SortStableFunc(all, func(a, b PendingDelivery) int {
			return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.Seq, b.Seq),
				strings.Compare(a.Endpoint, b.Endpoint))
		})
	}
	return all[:min(limit, len(all))], nil
}

// scanPending reads and closes rows of the columns of
// sql/due_deliveries.sql.
func scanPending(rows *sql.Rows) ([]PendingDelivery, error) {
	defer rows.Close()
	var pds []PendingDelivery
	for rows.Next() {
		var (
			pd                     PendingDelivery
			first                  sql.NullInt64
			queuedMS, dueMS, tries int64
			typ                    string
			body                   []byte
		)
		if err := rows.Scan(&pd.Endpoint, &pd.Seq, &pd.Resource, &tries, &first, &queuedMS,
			&dueMS, &pd.EventID, &typ, &pd.StoreID, &pd.CustomerID, &pd.ResourceID, &pd.Test,
			&body); err != nil {
			return nil, err
		}
		pd.Attempts, pd.FirstAttemptAt = int(tries), nullMS(first)
		pd.QueuedAt, pd.DueAt, pd.Type = fromMS(queuedMS), fromMS(dueMS), event.Type(typ)
		pd.Body = body
		pds = append(pds, pd)
	}
	return pds, rows.Err()
}

// NextDeliveryDue returns when the next pending delivery of the named
// endpoints falls due after the given time; zero when none waits.
func (db *DB) NextDeliveryDue(ctx context.Context, endpoints []string,
	after time.Time,
) (time.Time, error) {
	var next time.Time
	for _, ep := range endpoints {
		var ms int64
		err := db.r.QueryRowContext(ctx, oneStatement(sqlNextDeliveryDue), ep,
			after.UnixMilli()).Scan(&ms)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return time.Time{}, fmt.Errorf("reading next due delivery of %s: %w", ep, err)
		}
		if t := fromMS(ms); next.IsZero() || t.Before(next) {
			next = t
		}
	}
	return next, nil
}

// RecordAttempts records attempts and the deliveries' new states, all in
// one transaction (the dispatcher batches them: one commit for many
// attempts). Recording an attempt twice keeps the first record.
func (db *DB) RecordAttempts(ctx context.Context, recs []AttemptRecord) error {
	if len(recs) == 0 {
		return nil
	}
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		update, err := tx.PrepareContext(ctx, oneStatement(sqlRecordAttempt))
		if err != nil {
			return err
		}
		defer update.Close()
		insert, err := tx.PrepareContext(ctx, oneStatement(sqlInsertAttempt))
		if err != nil {
			return err
		}
		defer insert.Close()
		for _, r := range recs {
			if err := recordAttempt(ctx, update, insert, r); err != nil {
				return fmt.Errorf("recording attempt %d at event %d for endpoint %s: %w",
					r.N, r.Seq, r.Endpoint, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("recording %d delivery attempts: %w", len(recs), err)
	}
	return nil
}

func recordAttempt(ctx context.Context, update, insert *sql.Stmt, r AttemptRecord) error {
	status, errText := nullInt(r.Status), nullString(r.Error)
	if _, err := update.ExecContext(ctx, r.Endpoint, r.Seq, r.N, string(r.State),
		msOrNull(r.NextAttemptAt), status, errText, r.At.UnixMilli(),
		msOrNull(r.FirstAttemptAt)); err != nil {
		return err
	}
	_, err := insert.ExecContext(ctx, r.Endpoint, r.Seq, r.N, r.At.UnixMilli(), status,
		r.Latency.Milliseconds(), errText)
	return err
}

// nullInt binds 0 as NULL.
func nullInt(v int) any {
	if v == 0 {
		return nil
	}
	return v
}

// nullString binds "" as NULL.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// DisableEndpoint disables an endpoint (after a 410 Gone) and holds its
// pending deliveries; it returns how many it held. They wait until the
// endpoint's target changes (RegisterEndpoints) or EnableEndpoint. An
// unknown endpoint is ErrNotFound.
func (db *DB) DisableEndpoint(ctx context.Context, name, reason string,
	now time.Time,
) (int, error) {
	held, err := db.switchEndpoint(ctx, name, func(tx *sql.Tx) (sql.Result, error) {
		if _, err := tx.ExecContext(ctx, oneStatement(sqlDisableEndpoint), name, now.UnixMilli(),
			reason); err != nil {
			return nil, err
		}
		return tx.ExecContext(ctx, oneStatement(sqlHoldEndpointDeliveries), name)
	})
	if err != nil {
		return 0, fmt.Errorf("disabling endpoint %s: %w", name, err)
	}
	return held, nil
}

// EnableEndpoint enables an endpoint a 410 Gone disabled and makes its held
// deliveries due at now, each with a fresh retry window; it returns how
// many it released. An unknown endpoint is ErrNotFound.
func (db *DB) EnableEndpoint(ctx context.Context, name string, now time.Time) (int, error) {
	released, err := db.switchEndpoint(ctx, name, func(tx *sql.Tx) (sql.Result, error) {
		if _, err := tx.ExecContext(ctx, oneStatement(sqlEnableEndpoint), name,
			now.UnixMilli()); err != nil {
			return nil, err
		}
		return tx.ExecContext(ctx, oneStatement(sqlReleaseEndpointDeliveries), name,
			now.UnixMilli())
	})
	if err != nil {
		return 0, fmt.Errorf("enabling endpoint %s: %w", name, err)
	}
	return released, nil
}

// switchEndpoint runs fn for a known endpoint in a transaction and returns
// the rows its last statement changed.
func (db *DB) switchEndpoint(ctx context.Context, name string,
	fn func(tx *sql.Tx) (sql.Result, error),
) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		_, err := scanEndpoint(tx.QueryRowContext(ctx, oneStatement(sqlEndpointByName), name))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		res, err := fn(tx)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// DeliveryBacklog counts the pending deliveries of the named endpoints
// (every endpoint when none is named) and dates the oldest.
func (db *DB) DeliveryBacklog(ctx context.Context, endpoints []string) (Backlog, error) {
	var (
		b        Backlog
		oldestMS int64
	)
	err := db.r.QueryRowContext(ctx, oneStatement(sqlDeliveryBacklog), namesJSON(endpoints)).
		Scan(&b.Pending, &oldestMS)
	if err != nil {
		return Backlog{}, fmt.Errorf("measuring delivery backlog: %w", err)
	}
	b.Oldest = fromMS(oldestMS)
	return b, nil
}

// InsertTestEvent records a sample event (`opencals-sync trigger`) and
// queues it for the named endpoints only, in one transaction, and returns
// its deliveries. They are due at holdUntil: the caller attempts them at
// once itself, and the daemon takes over only if that caller never records
// an outcome. The event must be marked Test; an id already stored is
// ErrInvalidEvent.
func (db *DB) InsertTestEvent(ctx context.Context, ev event.Event, endpoints []string,
	holdUntil, now time.Time,
) ([]PendingDelivery, error) {
	if err := completeEvent(&ev); err != nil || !ev.Test {
		return nil, fmt.Errorf("inserting test event %q: %w", ev.ID,
			errors.Join(ErrInvalidEvent, err))
	}
	var pds []PendingDelivery
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		inserted, err := db.insertEvents(ctx, tx, []event.Event{ev})
		if err != nil {
			return err
		}
		if len(inserted) == 0 {
			return fmt.Errorf("id already stored: %w", ErrInvalidEvent)
		}
		var seq int64
		err = tx.QueryRowContext(ctx, oneStatement(sqlEventSeqByID), ev.ID).Scan(&seq)
		if err != nil {
			return err
		}
		for _, name := range endpoints {
			if err := queueDelivery(ctx, tx, name, seq, holdUntil, now); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, oneStatement(sqlPendingOfEvent), seq)
		if err != nil {
			return err
		}
		pds, err = scanPending(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("inserting test event %s: %w", ev.ID, err)
	}
	return pds, nil
}

// sqlEventSeqByID is too small for a file of its own to be worth reading.
const sqlEventSeqByID = `SELECT seq FROM events WHERE id = ?1`

func queueDelivery(ctx context.Context, tx *sql.Tx, endpoint string, seq int64,
	due, now time.Time,
) error {
	if _, err := tx.ExecContext(ctx, oneStatement(sqlQueueDelivery), endpoint, seq,
		due.UnixMilli(), now.UnixMilli()); err != nil {
		return fmt.Errorf("queueing event %d for endpoint %s: %w", seq, endpoint, err)
	}
	return nil
}

// Resend queues the events with the given ids again, due at now with a
// fresh retry window, for every target whose types accept them, whatever
// their delivery state (delivered, failed, or never queued because the
// endpoint came later). It works in one transaction and returns how many
// deliveries it queued; an unknown id is ErrNotFound and queues nothing.
func (db *DB) Resend(ctx context.Context, ids []string, targets []EndpointTarget,
	now time.Time,
) (int, error) {
	queued := 0
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		queued = 0
		for _, id := range ids {
			n, err := resendOne(ctx, tx, id, targets, now)
			if err != nil {
				return err
			}
			queued += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("resending %d events: %w", len(ids), err)
	}
	return queued, nil
}

func resendOne(ctx context.Context, tx *sql.Tx, id string, targets []EndpointTarget,
	now time.Time,
) (int, error) {
	var se StoredEvent
	err := scanEvent(tx.QueryRowContext(ctx, oneStatement(sqlEventByID), id), &se)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("event %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("reading event %s: %w", id, err)
	}
	n := 0
	for _, t := range targets {
		if !acceptsType(t.Types, se.Type) {
			continue
		}
		if err := queueDelivery(ctx, tx, t.Name, se.Seq, now, now); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

func acceptsType(types []event.Type, t event.Type) bool {
	for _, a := range types {
		if a == t {
			return true
		}
	}
	return false
}

// ResendFailed makes the dead letters of events recorded since the given
// time due again at now, with a fresh retry window, for one endpoint or
// every one when endpoint is "". It returns how many it queued.
func (db *DB) ResendFailed(ctx context.Context, since time.Time, endpoint string,
	now time.Time,
) (int, error) {
	var n int64
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, oneStatement(sqlResendFailed), toMS(since), endpoint,
			now.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("resending failed deliveries since %s: %w",
			since.Format(time.RFC3339), err)
	}
	return int(n), nil
}
