-- The newest events, or only those with a delivery in state ?1 (for
-- endpoint ?2 or any when empty), newest first.
SELECT seq, id, store_id, customer_id, type, resource_id, source,
       created_at, occurred_at, test, confirmed_by, body
FROM events
WHERE ?1 = '' OR seq IN (
    SELECT event_seq FROM deliveries WHERE state = ?1 AND (?2 = '' OR endpoint = ?2))
ORDER BY seq DESC
LIMIT ?3;
