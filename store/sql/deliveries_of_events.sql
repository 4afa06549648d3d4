-- The deliveries of the events whose seqs are in the JSON array ?1.
SELECT event_seq, endpoint, state, attempts, next_attempt_at, last_status, last_error,
       delivered_at, created_at, first_attempt_at
FROM deliveries
WHERE event_seq IN (SELECT value FROM json_each(?1))
ORDER BY event_seq, endpoint;
