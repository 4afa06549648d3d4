-- Removes a customer and, by cascade, its snapshots; its events stay.
DELETE FROM customers WHERE store_id = ?1 AND id = ?2;
