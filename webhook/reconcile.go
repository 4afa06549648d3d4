package webhook

import "time"

// ReconcileWindow is how far back hybrid mode's reconciliation counts
// events: a week shows the weekly rhythm of a store's bookings.
const ReconcileWindow = 7 * 24 * time.Hour

// minReconcileGrace is the shortest grace period: Opencals retries a
// failed delivery with backoff, so a webhook may come well after the change.
const minReconcileGrace = time.Hour

// ReconcileGrace is how long an event waits for the other side before it
// counts as unmatched: twice the longest time between two looks at a
// customer (sync.max_age), and at least an hour.
func ReconcileGrace(maxAge time.Duration) time.Duration {
	return max(2*maxAge, minReconcileGrace)
}

// ReconcileRange is the range of creation times reconciliation counts at
// now: the window, less the grace period at its end.
func ReconcileRange(now time.Time, grace time.Duration) (from, to time.Time) {
	return now.Add(-ReconcileWindow), now.Add(-grace)
}
