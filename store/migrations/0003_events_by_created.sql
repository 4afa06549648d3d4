-- What hybrid mode's reconciliation reads (sql/reconcile_counts.sql).

-- events_by_created covers the count of a store's events over a time
-- range, so that it never reads the bodies: confirmed_by sits after the
-- body in each row, and reaching it through the table would page in every
-- body.
CREATE INDEX events_by_created ON events
    (store_id, created_at, type, source, confirmed_by, test);

-- events_first_webhook finds when each store's first real webhook arrived.
-- The WHERE clause must stay word for word the one in
-- sql/reconcile_counts.sql, or SQLite will not use this index.
CREATE INDEX events_first_webhook ON events (store_id, created_at)
    WHERE source = 'webhook' AND test = 0;
