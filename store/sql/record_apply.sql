-- After a snapshot: the customer is baselined (again, when ?4 says the
-- stored state was rebuilt), its next boundary is known, and its last change
-- is now when ?6 says events were recorded.
UPDATE customers SET
    baselined_at = CASE WHEN ?4 OR baselined_at IS NULL THEN ?3 ELSE baselined_at END,
    next_boundary_at = ?5,
    last_change_at = CASE WHEN ?6 THEN ?3 ELSE last_change_at END,
    updated_at = ?3
WHERE store_id = ?1 AND id = ?2;
