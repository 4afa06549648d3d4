-- What Apply needs of the customer row: has its first snapshot been stored,
-- and the next boundary it recorded (0 for none). No row: unknown customer.
SELECT baselined_at IS NOT NULL, coalesce(next_boundary_at, 0)
FROM customers
WHERE store_id = ?1 AND id = ?2;
