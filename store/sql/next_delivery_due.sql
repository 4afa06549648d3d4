-- When the next pending delivery of endpoint ?1 after ?2 falls due; no row
-- when none is waiting.
SELECT next_attempt_at
FROM deliveries
WHERE endpoint = ?1 AND state = 'pending' AND next_attempt_at > ?2
ORDER BY next_attempt_at
LIMIT 1;
