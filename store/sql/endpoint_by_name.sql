SELECT name, last_seq, fingerprint, disabled_at, disabled_reason
FROM delivery_endpoints
WHERE name = ?1;
