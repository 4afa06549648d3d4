-- Every endpoint the dispatcher has registered, by name.
SELECT name, last_seq, fingerprint, disabled_at, disabled_reason
FROM delivery_endpoints
ORDER BY name;
