-- What the dispatcher needs besides 0001's deliveries and attempts.

-- delivery_endpoints is one row per endpoint name the dispatcher has seen:
-- its fan-out cursor (last_seq: the last event seq considered for it), a
-- fingerprint of its target (URL or command) and whether a 410 Gone
-- disabled it. Rows outlive the config: an endpoint removed and added back
-- resumes at its cursor.
CREATE TABLE delivery_endpoints (
    name            TEXT    PRIMARY KEY,
    last_seq        INTEGER NOT NULL,
    fingerprint     TEXT    NOT NULL DEFAULT '',
    disabled_at     INTEGER,
    disabled_reason TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;

-- resource orders deliveries: one endpoint never gets an event while an
-- earlier pending event of the same resource ("<store>/<kind>/<id>") waits.
-- created_at is when the delivery was queued; first_attempt_at starts the
-- retry window (NULL until tried, and again after a resend).
ALTER TABLE deliveries ADD COLUMN resource TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN first_attempt_at INTEGER;

-- The claim reads one endpoint's pending deliveries in due order and stops
-- at its limit; without this index SQLite sorts every pending row (bodies
-- included) first. It supersedes 0001's deliveries_due.
CREATE INDEX deliveries_due_by_endpoint ON deliveries (endpoint, next_attempt_at, event_seq)
    WHERE state = 'pending';
DROP INDEX deliveries_due;

-- The head-of-line check: is an earlier event of this resource pending?
CREATE INDEX deliveries_pending_by_resource ON deliveries (endpoint, resource, event_seq)
    WHERE state = 'pending';

-- The CLI reads an event's deliveries (events show, events list).
CREATE INDEX deliveries_by_event ON deliveries (event_seq);

-- Dead letters and disabled rows, listed and resent by the CLI.
CREATE INDEX deliveries_by_state ON deliveries (state, event_seq)
    WHERE state IN ('failed', 'disabled');
