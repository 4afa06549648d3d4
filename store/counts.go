package store

import (
	"context"
	_ "embed" // the query lives in sql/
	"fmt"
)

//go:embed sql/customers_by_state.sql
var sqlCustomersByState string

// CustomerCount is the number of customers of one store in one state.
type CustomerCount struct {
	StoreID string
	State   CustomerState
	Count   int
}

// CountCustomers counts customers by store and state; states without
// customers are absent.
func (db *DB) CountCustomers(ctx context.Context) ([]CustomerCount, error) {
	rows, err := db.r.QueryContext(ctx, sqlCustomersByState)
	if err != nil {
		return nil, fmt.Errorf("counting customers: %w", err)
	}
	defer rows.Close()
	var counts []CustomerCount
	for rows.Next() {
		var c CustomerCount
		if err := rows.Scan(&c.StoreID, &c.State, &c.Count); err != nil {
			return nil, fmt.Errorf("counting customers: %w", err)
		}
		counts = append(counts, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting customers: %w", err)
	}
	return counts, nil
}
