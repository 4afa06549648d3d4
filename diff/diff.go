package diff

import (
	"errors"
	"time"
)

// ErrInvalidSnapshot marks a snapshot that must not be applied: an item
// without an id, or items from more than one store.
var ErrInvalidSnapshot = errors.New("invalid snapshot")

// Compute diffs a snapshot against the stored state of one customer.
func Compute(prior State, snap Snapshot, p Policy) (Result, error) {
	// TODO: body follows; the signature is committed first so store builds.
	_ = time.Time{}
	return Result{}, nil
}

// DueCompletions is the completion sweep for records the store found due
// (Created && !Completed && !Canceled && !Deleted && To <= p.Now) for a
// customer that was not polled; the catch-up rule is the same as Compute's.
func DueCompletions(records []AppointmentRecord, p Policy) (Result, error) {
	return Result{}, nil
}
