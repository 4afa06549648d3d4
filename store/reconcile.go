package store

import (
	"context"
	_ "embed" // the query lives in sql/
	"fmt"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
)

//go:embed sql/reconcile_counts.sql
var sqlReconcileCounts string

// ReconcileCount says how one store's events of one type were seen in a
// time range, in hybrid mode: the operator's evidence that webhooks alone
// would have delivered everything polling found.
type ReconcileCount struct {
	StoreID string
	Type    event.Type
	// PollOnly counts events polling found that no webhook delivered.
	PollOnly int
	// WebhookOnly counts events a webhook delivered that polling never
	// found.
	WebhookOnly int
	// Matched counts events both sides saw, whichever came first.
	Matched int
}

// ReconcileCounts counts the events recorded from from to to (to
// excluded) by how they were seen, per store and type. Only events
// recorded since a store's first real webhook count: before it, no webhook
// could have delivered anything, so a store that never got one has no
// counts. Test events never count. The caller picks to a grace period
// before now, so that an event whose other side is merely late is not
// counted as unmatched yet. Types without events are absent.
func (db *DB) ReconcileCounts(ctx context.Context, from, to time.Time) ([]ReconcileCount, error) {
	rows, err := db.r.QueryContext(ctx, sqlReconcileCounts, toMS(from), toMS(to))
	if err != nil {
		return nil, fmt.Errorf("counting reconciled events: %w", err)
	}
	defer rows.Close()
	var counts []ReconcileCount
	for rows.Next() {
		var c ReconcileCount
		var typ string
		if err := rows.Scan(&c.StoreID, &typ, &c.PollOnly, &c.WebhookOnly, &c.Matched); err != nil {
			return nil, fmt.Errorf("counting reconciled events: %w", err)
		}
		c.Type = event.Type(typ)
		counts = append(counts, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting reconciled events: %w", err)
	}
	return counts, nil
}
