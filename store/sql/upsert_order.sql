-- A NULL body keeps the stored one (see upsert_appointment.sql).
INSERT INTO orders (store_id, customer_id, id, payment_status, paid_total,
    refunded_total, refunds, deleted, updated_at, missing, hash, body)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, CAST(?12 AS TEXT))
ON CONFLICT (store_id, customer_id, id) DO UPDATE SET
    payment_status = excluded.payment_status,
    paid_total = excluded.paid_total,
    refunded_total = excluded.refunded_total,
    refunds = excluded.refunds,
    deleted = excluded.deleted,
    updated_at = excluded.updated_at,
    missing = excluded.missing,
    hash = excluded.hash,
    body = coalesce(excluded.body, orders.body);
