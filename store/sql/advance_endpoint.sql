-- Moves an endpoint's cursor forward, never back.
UPDATE delivery_endpoints SET last_seq = ?2, updated_at = ?3
WHERE name = ?1 AND last_seq < ?2;
