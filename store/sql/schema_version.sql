-- Which migration was applied last? 0 for none.
SELECT coalesce(max(version), 0) FROM schema_migrations;
