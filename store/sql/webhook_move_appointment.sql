-- A webhook said the appointment moved: the sweep completes it at its new
-- end. An older message (out of order, or retried) never undoes a newer one.
UPDATE appointments SET from_ms = ?4, to_ms = ?5, updated_at = ?6
WHERE store_id = ?1 AND customer_id = ?2 AND id = ?3 AND updated_at <= ?6;
