-- The first schema. Conventions: every time is INTEGER unix milliseconds
-- (columns ending in _at, plus from_ms/to_ms), flags are INTEGER 0/1, JSON
-- is TEXT so that SQLite's json functions can read it, and every row of a
-- customer's data is keyed by store id first so that several stores can
-- share one file.

-- customers holds who is polled and with which tokens.
-- TODO: access_token and refresh_token are stored in plaintext, protected
-- only by the database file's mode (0600); encrypt them at rest.
CREATE TABLE customers (
    store_id         TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    email            TEXT    NOT NULL DEFAULT '',
    state            TEXT    NOT NULL DEFAULT 'active'
                     CHECK (state IN ('active', 'needs_reauth', 'disabled')),
    access_token     TEXT    NOT NULL DEFAULT '',
    refresh_token    TEXT    NOT NULL DEFAULT '',
    baselined_at     INTEGER,
    next_poll_at     INTEGER NOT NULL DEFAULT 0,
    last_poll_at     INTEGER,
    last_success_at  INTEGER,
    last_change_at   INTEGER,
    next_boundary_at INTEGER,
    last_error       TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (store_id, id)
) STRICT;

-- The scheduler asks for active customers whose next look is due.
CREATE INDEX customers_due_for_poll ON customers (store_id, next_poll_at)
    WHERE state = 'active';

-- appointments is the last look at each appointment of a customer: the
-- columns of diff.AppointmentRecord plus the redacted item.
CREATE TABLE appointments (
    store_id    TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    from_ms     INTEGER NOT NULL,
    to_ms       INTEGER NOT NULL,
    deleted     INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    created     INTEGER NOT NULL DEFAULT 0,
    canceled    INTEGER NOT NULL DEFAULT 0,
    completed   INTEGER NOT NULL DEFAULT 0,
    missing     INTEGER NOT NULL DEFAULT 0,
    hash        INTEGER NOT NULL,
    body        TEXT,
    PRIMARY KEY (store_id, customer_id, id),
    FOREIGN KEY (store_id, customer_id) REFERENCES customers (store_id, id)
        ON DELETE CASCADE
) STRICT;

-- The completion sweep reads booked appointments by end time. The WHERE
-- clause must stay word for word the one in sql/due_completions.sql, or
-- SQLite will not use this index.
CREATE INDEX appointments_due_for_completion ON appointments (store_id, to_ms)
    WHERE created = 1 AND completed = 0 AND canceled = 0 AND deleted = 0;

-- orders is the last look at each order of a customer: the columns of
-- diff.OrderRecord plus the redacted item. refunds is a JSON array of the
-- refund discriminators already reported.
CREATE TABLE orders (
    store_id       TEXT    NOT NULL,
    customer_id    TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    payment_status TEXT    NOT NULL,
    paid_total     INTEGER NOT NULL,
    refunded_total INTEGER NOT NULL,
    refunds        TEXT    NOT NULL DEFAULT '[]',
    deleted        INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL,
    missing        INTEGER NOT NULL DEFAULT 0,
    hash           INTEGER NOT NULL,
    body           TEXT,
    PRIMARY KEY (store_id, customer_id, id),
    FOREIGN KEY (store_id, customer_id) REFERENCES customers (store_id, id)
        ON DELETE CASCADE
) STRICT;

-- events is the outbox. seq is monotonic (AUTOINCREMENT never reuses a
-- value), id is the deterministic event id, body the exact JSON handlers
-- receive. Events outlive their customer: no foreign key. confirmed_by names
-- the other source that later saw the same event (hybrid mode).
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT    NOT NULL UNIQUE,
    store_id     TEXT    NOT NULL,
    customer_id  TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    resource_id  TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    occurred_at  INTEGER NOT NULL,
    test         INTEGER NOT NULL DEFAULT 0,
    body         TEXT    NOT NULL,
    confirmed_by TEXT
) STRICT;

CREATE INDEX events_by_store ON events (store_id, seq);
CREATE INDEX events_by_resource ON events (store_id, resource_id, seq);

-- deliveries is the state of one event at one endpoint; delivery_attempts
-- records every try. The dispatcher fills both.
CREATE TABLE deliveries (
    endpoint        TEXT    NOT NULL,
    event_seq       INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'failed', 'disabled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    INTEGER,
    PRIMARY KEY (endpoint, event_seq)
) STRICT;

CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
    WHERE state = 'pending';

CREATE TABLE delivery_attempts (
    endpoint   TEXT    NOT NULL,
    event_seq  INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    status     INTEGER,
    latency_ms INTEGER NOT NULL,
    error      TEXT,
    PRIMARY KEY (endpoint, event_seq, n),
    FOREIGN KEY (endpoint, event_seq) REFERENCES deliveries (endpoint, event_seq)
        ON DELETE CASCADE
) STRICT;
