-- Every customer of a store, or of every store when ?1 is empty.
SELECT store_id, id, email, state, access_token, refresh_token,
       baselined_at, next_poll_at, last_poll_at, last_success_at,
       last_change_at, next_boundary_at, last_error, created_at, updated_at
FROM customers
WHERE ?1 = '' OR store_id = ?1
ORDER BY store_id, id;
