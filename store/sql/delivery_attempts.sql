-- Every attempt at one event for one endpoint, first first.
SELECT n, at, status, latency_ms, error
FROM delivery_attempts
WHERE endpoint = ?1 AND event_seq = ?2
ORDER BY n;
