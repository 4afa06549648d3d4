-- Queues, for endpoint ?1, the events after its cursor (?2) up to ?3 whose
-- type is in the JSON array ?5, due at once (?4). Test events are queued
-- only by the trigger that made them. The resource key orders deliveries
-- (see 0002_delivery_cursors.sql); resend_event.sql builds it the same way.
INSERT INTO deliveries (endpoint, event_seq, resource, next_attempt_at, created_at)
SELECT ?1, e.seq,
       e.store_id || '/' || substr(e.type, 1, instr(e.type, '.') - 1) || '/' || e.resource_id,
       ?4, ?4
FROM events AS e
WHERE e.seq > ?2 AND e.seq <= ?3 AND e.test = 0
  AND e.type IN (SELECT value FROM json_each(?5))
ON CONFLICT (endpoint, event_seq) DO NOTHING;
