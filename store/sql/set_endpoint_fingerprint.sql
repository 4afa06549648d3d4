-- The endpoint's target changed; a changed target is enabled again (a 410
-- Gone said the old one is gone, not the new one).
UPDATE delivery_endpoints
SET fingerprint = ?2, disabled_at = NULL, disabled_reason = '', updated_at = ?3
WHERE name = ?1;
