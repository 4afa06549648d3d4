-- A webhook said the appointment was completed: the sweep has nothing left
-- to do for it.
UPDATE appointments SET completed = 1
WHERE store_id = ?1 AND customer_id = ?2 AND id = ?3;
