SELECT seq, id, store_id, customer_id, type, resource_id, source,
       created_at, occurred_at, test, confirmed_by, body
FROM events
WHERE id = ?1;
