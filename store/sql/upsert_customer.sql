-- A new customer is active and due for a look at once. Adding a known one
-- again (after a new sign-in) replaces its email and tokens and makes it
-- active again; its snapshots and schedule are kept.
INSERT INTO customers (store_id, id, email, state, access_token,
    refresh_token, next_poll_at, last_error, created_at, updated_at)
VALUES (?1, ?2, ?3, 'active', ?4, ?5, ?6, '', ?6, ?6)
ON CONFLICT (store_id, id) DO UPDATE SET
    email = excluded.email,
    state = 'active',
    access_token = excluded.access_token,
    refresh_token = excluded.refresh_token,
    last_error = '',
    updated_at = excluded.updated_at;
