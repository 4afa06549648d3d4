-- A webhook said the appointment was canceled: the completion sweep must
-- skip it until a poll says otherwise.
UPDATE appointments SET webhook_canceled = 1
WHERE store_id = ?1 AND customer_id = ?2 AND id = ?3;
