-- A webhook said the appointment moved: the sweep completes it at its new
-- end, not before.
UPDATE appointments SET webhook_to_ms = ?4
WHERE store_id = ?1 AND customer_id = ?2 AND id = ?3;
