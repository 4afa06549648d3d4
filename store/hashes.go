package store

import (
	"context"
	_ "embed" // the query lives in sql/
	"fmt"
)

//go:embed sql/customer_order_hashes.sql
var sqlCustomerOrderHashes string

// OrderHashes returns the stored fingerprint (diff.Hash of the raw item) of
// each order of a customer that is not deleted, keyed by order id. A
// customer without orders, or unknown, gives an empty map.
func (db *DB) OrderHashes(ctx context.Context, storeID, customerID string) (map[string]uint64, error) {
	rows, err := db.r.QueryContext(ctx, sqlCustomerOrderHashes, storeID, customerID)
	if err != nil {
		return nil, fmt.Errorf("reading order hashes of customer %s: %w", customerID, err)
	}
	defer rows.Close()
	hashes := make(map[string]uint64)
	for rows.Next() {
		var id string
		var h int64
		if err := rows.Scan(&id, &h); err != nil {
			return nil, fmt.Errorf("reading order hashes of customer %s: %w", customerID, err)
		}
		hashes[id] = uint64(h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading order hashes of customer %s: %w", customerID, err)
	}
	return hashes, nil
}
