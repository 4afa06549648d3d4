-- A NULL body keeps the stored one: the diff may return a record whose body
-- it was not given (a flag change on an item absent from the snapshot).
-- Writing a record clears what webhooks reported: the record is newer.
INSERT INTO appointments (store_id, customer_id, id, status, from_ms, to_ms,
    deleted, updated_at, created, canceled, completed, missing, hash, body)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, CAST(?14 AS TEXT))
ON CONFLICT (store_id, customer_id, id) DO UPDATE SET
    status = excluded.status,
    from_ms = excluded.from_ms,
    to_ms = excluded.to_ms,
    deleted = excluded.deleted,
    updated_at = excluded.updated_at,
    created = excluded.created,
    canceled = excluded.canceled,
    completed = excluded.completed,
    missing = excluded.missing,
    hash = excluded.hash,
    body = coalesce(excluded.body, appointments.body),
    webhook_canceled = 0,
    webhook_to_ms = NULL;
