-- The outcome of attempt ?3 at event ?2 for endpoint ?1; an attempt older
-- than the last one recorded changes nothing. A row a 410 Gone held
-- meanwhile (disabled) stays held rather than pending again.
UPDATE deliveries SET
    state = CASE WHEN state = 'disabled' AND ?4 = 'pending' THEN 'disabled' ELSE ?4 END,
    attempts = ?3,
    next_attempt_at = ?5,
    last_status = ?6,
    last_error = ?7,
    delivered_at = CASE WHEN ?4 = 'delivered' THEN ?8 ELSE delivered_at END,
    first_attempt_at = coalesce(first_attempt_at, ?9)
WHERE endpoint = ?1 AND event_seq = ?2 AND attempts < ?3;
