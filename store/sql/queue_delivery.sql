-- Queues event ?2 for endpoint ?1 due at ?3, or queues it again whatever
-- its state (a resend), with a fresh retry window. The resource key is
-- built as in fan_out.sql.
INSERT INTO deliveries (endpoint, event_seq, resource, next_attempt_at, created_at)
SELECT ?1, e.seq,
       e.store_id || '/' || substr(e.type, 1, instr(e.type, '.') - 1) || '/' || e.resource_id,
       ?3, ?4
FROM events AS e
WHERE e.seq = ?2
ON CONFLICT (endpoint, event_seq) DO UPDATE SET
    state = 'pending',
    next_attempt_at = excluded.next_attempt_at,
    first_attempt_at = NULL;
