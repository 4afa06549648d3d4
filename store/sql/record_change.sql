-- Events were recorded for this customer outside a poll (the sweep).
UPDATE customers SET last_change_at = ?3, updated_at = ?3
WHERE store_id = ?1 AND id = ?2;
