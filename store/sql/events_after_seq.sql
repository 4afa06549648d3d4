-- Events after a sequence number, oldest first, optionally of one store
-- (?2) and one type (?3); empty means any.
SELECT seq, id, store_id, customer_id, type, resource_id, source,
       created_at, occurred_at, test, confirmed_by, body
FROM events
WHERE seq > ?1 AND (?2 = '' OR store_id = ?2) AND (?3 = '' OR type = ?3)
ORDER BY seq
LIMIT ?4;
