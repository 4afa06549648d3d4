-- One attempt; recording the same attempt twice keeps the first record.
INSERT INTO delivery_attempts (endpoint, event_seq, n, at, status, latency_ms, error)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
ON CONFLICT (endpoint, event_seq, n) DO NOTHING;
