-- Pending deliveries of endpoint ?1 due by ?2, each the earliest pending
-- event of its resource for the endpoint (the rest wait their turn),
-- soonest due first, with what sending needs; the events whose seqs are in
-- the JSON array ?4 are left out (the caller is attempting them). The
-- order is the index deliveries_due_by_endpoint's, so the scan stops at
-- the limit (?3) and reads no body it does not return.
SELECT d.endpoint, d.event_seq, d.resource, d.attempts, d.first_attempt_at, d.created_at,
       d.next_attempt_at,
       e.id, e.type, e.store_id, e.customer_id, e.resource_id, e.test, e.body
FROM deliveries AS d
JOIN events AS e ON e.seq = d.event_seq
WHERE d.endpoint = ?1 AND d.state = 'pending' AND d.next_attempt_at <= ?2
  AND d.event_seq NOT IN (SELECT value FROM json_each(?4))
  AND NOT EXISTS (
      SELECT 1 FROM deliveries AS p
      WHERE p.endpoint = d.endpoint AND p.resource = d.resource
        AND p.state = 'pending' AND p.event_seq < d.event_seq)
ORDER BY d.next_attempt_at, d.event_seq
LIMIT ?3;
