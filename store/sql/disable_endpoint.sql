UPDATE delivery_endpoints SET disabled_at = ?2, disabled_reason = ?3, updated_at = ?2
WHERE name = ?1;
