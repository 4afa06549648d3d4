-- The stored appointments of one customer. The body is read only where an
-- event may need it without a new item (?3: the snapshot names gone items;
-- missing items; booked items whose end has passed): the rest of the time
-- the snapshot brings the item, and reading every body would dominate.
SELECT id, status, from_ms, to_ms, deleted, updated_at,
       created, canceled, completed, missing, hash,
       CASE WHEN ?3 OR missing = 1
                 OR (to_ms <= ?4 AND completed = 0 AND canceled = 0)
            THEN body END
FROM appointments
WHERE store_id = ?1 AND customer_id = ?2;
