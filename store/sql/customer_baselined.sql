-- Has this customer's first snapshot been stored? No row: unknown customer.
SELECT baselined_at IS NOT NULL FROM customers WHERE store_id = ?1 AND id = ?2;
