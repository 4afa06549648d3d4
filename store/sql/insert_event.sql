-- The outbox is the final word on duplicates: an id already stored changes
-- nothing, and the caller learns it from the number of rows affected.
INSERT INTO events (id, store_id, customer_id, type, resource_id, source,
    created_at, occurred_at, test, body)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, CAST(?10 AS TEXT))
ON CONFLICT (id) DO NOTHING;
