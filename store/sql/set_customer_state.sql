UPDATE customers SET state = ?3, last_error = ?4, updated_at = ?5
WHERE store_id = ?1 AND id = ?2;
