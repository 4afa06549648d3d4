-- A webhook said the appointment was canceled: the completion sweep must
-- not complete it (webhook mode, where no poll updates the snapshot).
UPDATE appointments SET canceled = 1
WHERE store_id = ?1 AND customer_id = ?2 AND id = ?3;
