-- One look at a customer ended; an empty error (?4) means it succeeded.
UPDATE customers SET
    last_poll_at = ?3,
    last_success_at = CASE WHEN ?4 = '' THEN ?3 ELSE last_success_at END,
    last_error = ?4,
    next_poll_at = ?5,
    updated_at = ?6
WHERE store_id = ?1 AND id = ?2;
