-- One customer, tokens included.
SELECT store_id, id, email, state, access_token, refresh_token,
       baselined_at, next_poll_at, last_poll_at, last_success_at,
       last_change_at, next_boundary_at, last_error, created_at, updated_at
FROM customers
WHERE store_id = ?1 AND id = ?2;
