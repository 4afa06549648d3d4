-- The stored orders of one customer; bodies only where an event may need
-- them without a new item (see customer_appointments.sql).
SELECT id, payment_status, paid_total, refunded_total, refunds, deleted,
       updated_at, missing, hash,
       CASE WHEN ?3 OR missing = 1 THEN body END
FROM orders
WHERE store_id = ?1 AND customer_id = ?2;
