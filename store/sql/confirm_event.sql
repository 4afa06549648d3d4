-- A stored event seen again by another source records that source once.
UPDATE events SET confirmed_by = ?2
WHERE id = ?1 AND source <> ?2 AND confirmed_by IS NULL;
