UPDATE customers SET access_token = ?3, refresh_token = ?4, updated_at = ?5
WHERE store_id = ?1 AND id = ?2;
