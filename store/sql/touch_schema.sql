-- A write that changes nothing: proof that the database takes writes (the
-- file and its directory are writable, the disk has room for the WAL).
UPDATE schema_migrations SET applied_at = applied_at
WHERE version = (SELECT MAX(version) FROM schema_migrations);
