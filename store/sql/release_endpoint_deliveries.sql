-- An endpoint enabled again gets its held deliveries at once, each with a
-- fresh retry window.
UPDATE deliveries SET state = 'pending', next_attempt_at = ?2, first_attempt_at = NULL
WHERE endpoint = ?1 AND state = 'disabled';
