-- How each store's events of each type, recorded from ?1 to ?2 (unix ms,
-- ?2 excluded), were seen: by polling only, by a webhook only, or by both
-- (confirmed_by set). Only events recorded since the store's first webhook
-- count, since before it no webhook could have delivered anything; test
-- events never count. A store that never got a webhook has no rows.
WITH first_webhook AS (
    SELECT store_id, MIN(created_at) AS at
    FROM events
    WHERE source = 'webhook' AND test = 0
    GROUP BY store_id
)
SELECT e.store_id, e.type,
       SUM(e.source = 'poll' AND e.confirmed_by IS NULL),
       SUM(e.source = 'webhook' AND e.confirmed_by IS NULL),
       SUM(e.confirmed_by IS NOT NULL)
FROM first_webhook AS f
JOIN events AS e ON e.store_id = f.store_id
WHERE e.created_at >= MAX(?1, f.at) AND e.created_at < ?2 AND e.test = 0
GROUP BY e.store_id, e.type
ORDER BY e.store_id, e.type;
