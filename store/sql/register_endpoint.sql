-- A new endpoint starts at the newest event (?2): history does not flood
-- it. A known one keeps its cursor.
INSERT INTO delivery_endpoints (name, last_seq, fingerprint, created_at, updated_at)
VALUES (?1, ?2, ?3, ?4, ?4)
ON CONFLICT (name) DO NOTHING;
