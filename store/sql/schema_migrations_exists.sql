-- Does the database already track its schema version?
SELECT count(*) FROM sqlite_master
WHERE type = 'table' AND name = 'schema_migrations';
