-- A disabled endpoint's pending deliveries wait, marked disabled.
UPDATE deliveries SET state = 'disabled'
WHERE endpoint = ?1 AND state = 'pending';
