-- Booked appointments of a store whose end has passed and that are neither
-- completed nor canceled, oldest end first, skipping disabled customers and
-- appointments awaiting a look-up (missing). The appointment conditions
-- repeat the partial index's WHERE clause word for word so that SQLite uses
-- appointments_due_for_completion.
--
-- What webhooks reported since the last poll (webhook mode) wins: a
-- canceled appointment is skipped, a moved one completes at its new end.
--
-- With verification on (?4, the lead, > 0) an appointment also waits for a
-- successful look at its customer no earlier than the lead before its end,
-- so a last-minute cancellation is seen first; after ?5 past the end it is
-- completed anyway.
SELECT a.customer_id, a.id, a.status, a.from_ms, coalesce(a.webhook_to_ms, a.to_ms), a.deleted,
       a.updated_at, a.created, a.canceled, a.completed, a.missing, a.hash,
       a.body
FROM appointments AS a
JOIN customers AS c ON c.store_id = a.store_id AND c.id = a.customer_id
WHERE a.store_id = ?1 AND a.to_ms <= ?2
  AND a.created = 1 AND a.completed = 0 AND a.canceled = 0 AND a.deleted = 0
  AND a.missing = 0
  AND a.webhook_canceled = 0 AND coalesce(a.webhook_to_ms, a.to_ms) <= ?2
  AND c.state <> 'disabled'
  AND (?4 = 0 OR c.last_success_at >= a.to_ms - ?4 OR a.to_ms <= ?2 - ?5)
ORDER BY a.to_ms, a.customer_id, a.id
LIMIT ?3;
