-- The fingerprint of each live order of one customer, for a light look:
-- an unchanged order listing needs no diff.
SELECT id, hash
FROM orders
WHERE store_id = ?1 AND customer_id = ?2 AND deleted = 0;
