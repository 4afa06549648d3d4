-- The newest sequence number; 0 for an empty outbox.
SELECT coalesce(max(seq), 0) FROM events;
