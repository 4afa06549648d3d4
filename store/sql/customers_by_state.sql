-- How many customers each store has in each state, for metrics.
SELECT store_id, state, count(*)
FROM customers
GROUP BY store_id, state;
