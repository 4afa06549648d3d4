-- The pending deliveries of one event, with what sending needs (the
-- columns of due_deliveries.sql).
SELECT d.endpoint, d.event_seq, d.resource, d.attempts, d.first_attempt_at, d.created_at,
       d.next_attempt_at,
       e.id, e.type, e.store_id, e.customer_id, e.resource_id, e.test, e.body
FROM deliveries AS d
JOIN events AS e ON e.seq = d.event_seq
WHERE d.event_seq = ?1 AND d.state = 'pending'
ORDER BY d.endpoint;
