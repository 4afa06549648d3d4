-- How many deliveries wait, and since when the oldest was queued, for the
-- endpoints in the JSON array ?1 (every endpoint when it is empty).
SELECT count(*), coalesce(min(created_at), 0)
FROM deliveries
WHERE state = 'pending'
  AND (json_array_length(?1) = 0 OR endpoint IN (SELECT value FROM json_each(?1)));
