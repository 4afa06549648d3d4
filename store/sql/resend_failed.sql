-- Dead letters of events recorded since ?1, for endpoint ?2 or every
-- endpoint when empty, are due again at ?3 with a fresh retry window.
UPDATE deliveries SET state = 'pending', next_attempt_at = ?3, first_attempt_at = NULL
WHERE state = 'failed' AND (?2 = '' OR endpoint = ?2)
  AND event_seq IN (SELECT seq FROM events WHERE created_at >= ?1);
