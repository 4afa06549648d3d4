package store

import "errors"

// Errors callers branch on. Every error the package returns wraps one of
// these when the condition applies; test with errors.Is. sql.ErrNoRows never
// leaves the package: a missing row is ErrNotFound.
var (
	// ErrNotFound means the customer or event asked for does not exist. The
	// value returned alongside it is the zero value.
	ErrNotFound = errors.New("not found")
	// ErrSchemaTooNew means the database was written by a newer version of
	// opencals-sync; it was left untouched.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
	// ErrInvalidEvent means an event handed to InsertEvents lacks an id, a
	// store id or a known type; nothing of that call was stored.
	ErrInvalidEvent = errors.New("invalid event")
	// ErrInvalidState means a customer state other than the three known.
	ErrInvalidState = errors.New("invalid customer state")
)
