UPDATE delivery_endpoints SET disabled_at = NULL, disabled_reason = '', updated_at = ?2
WHERE name = ?1;
