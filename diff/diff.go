package diff

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
)

// ErrInvalidSnapshot marks a snapshot that must not be applied: an item
// without an id or whose raw JSON does not parse, items of more than one
// store, or an empty id among the gone ones. A bad page must never be taken
// for "everything was deleted".
var ErrInvalidSnapshot = errors.New("invalid snapshot")

// Compute diffs a snapshot against the stored state of one customer.
//
// Items must carry Raw (opencals.Appointment.UnmarshalJSON fills it): it is
// hashed to skip unchanged items, and redacted into Body and data.object
// for the others. On error nothing is to be written. The rules are listed in
// README.md; the comments below say why each edge goes the way it does.
func Compute(prior State, snap Snapshot, p Policy) (Result, error) {
	if err := validate(snap); err != nil {
		return Result{}, fmt.Errorf("diffing snapshot of customer %s: %w", p.CustomerID, err)
	}
	r, err := newRun(prior, snap, p)
	if err != nil {
		return Result{}, fmt.Errorf("diffing snapshot of customer %s: %w", p.CustomerID, err)
	}
	if err := r.appointments(prior.Appointments, snap); err != nil {
		return Result{}, fmt.Errorf("diffing snapshot of customer %s: %w", p.CustomerID, err)
	}
	if err := r.orders(prior.Orders, snap); err != nil {
		return Result{}, fmt.Errorf("diffing snapshot of customer %s: %w", p.CustomerID, err)
	}
	r.nextBoundary(prior.Appointments)
	return r.res, nil
}

// DueCompletions is the completion sweep for records the store found due
// (Created && !Completed && !Canceled && !Deleted && To <= p.Now) for a
// customer that was not polled; the catch-up rule is the same as Compute's.
// Records that are not due are skipped, so the filter may be loose; so are
// Missing ones, which wait for their look-up. The
// result holds the completed records and their events; its NextBoundary
// stays zero, since it sees only some of the customer's appointments.
func DueCompletions(records []AppointmentRecord, p Policy) (Result, error) {
	r := run{p: p}
	for _, rec := range records {
		if rec.ID == "" {
			return Result{}, fmt.Errorf(
				"completing appointments of customer %s: %w: a record has no id",
				p.CustomerID, ErrInvalidSnapshot)
		}
		if r.completeStored(&rec) {
			r.res.Appointments = append(r.res.Appointments, rec)
		}
	}
	return r.res, nil
}

// run is one computation: the policy, how events are treated, and the
// result being built.
type run struct {
	p Policy
	// silent drops events but still sets the flags they would have set:
	// the silent baseline, after which nothing of the past fires.
	silent bool
	// backfill ignores the catch-up window: an emit baseline asks for the
	// history, old completions included.
	backfill bool
	res      Result
}

// newRun decides whether this look is a baseline, and of which kind.
func newRun(prior State, snap Snapshot, p Policy) (*run, error) {
	r := &run{p: p}
	mode := p.Baseline
	if mode == "" {
		mode = BaselineSilent
	}
	if mode != BaselineSilent && mode != BaselineEmit && mode != BaselineWhenNeeded {
		return nil, fmt.Errorf("unknown baseline mode %q", mode)
	}
	switch {
	case !prior.Baselined:
		r.res.Baseline = true
		r.silent = mode != BaselineEmit
		r.backfill = mode == BaselineEmit
	case mode == BaselineWhenNeeded && len(prior.Appointments)+len(prior.Orders) == 0 &&
		len(snap.Appointments)+len(snap.Orders) > 0:
		// A baselined customer with nothing stored while the API lists
		// items means the stored state was lost: replaying it all as new
		// would flood the handlers with history.
		r.res.Baseline, r.res.Rebaselined, r.silent = true, true, true
	}
	return r, nil
}

// validate rejects a snapshot that must not be applied.
func validate(snap Snapshot) error {
	v := storeCheck{}
	for i, a := range snap.Appointments {
		if err := v.check("appointment", i, a.ID, a.StoreID); err != nil {
			return err
		}
	}
	for i, o := range snap.Orders {
		if err := v.check("order", i, o.ID, o.StoreID); err != nil {
			return err
		}
	}
	for _, ids := range [][]string{snap.GoneAppointments, snap.GoneOrders} {
		for _, id := range ids {
			if id == "" {
				return fmt.Errorf("%w: an empty id among the gone items", ErrInvalidSnapshot)
			}
		}
	}
	return nil
}

// storeCheck checks that every item has an id and the same store id.
type storeCheck struct {
	storeID string
	seen    bool
}

func (c *storeCheck) check(kind string, i int, id, storeID string) error {
	if id == "" {
		return fmt.Errorf("%w: %s %d of the snapshot has no id", ErrInvalidSnapshot, kind, i)
	}
	if c.seen && storeID != c.storeID {
		return fmt.Errorf("%w: %s %s belongs to store %q, the items before it to %q",
			ErrInvalidSnapshot, kind, id, storeID, c.storeID)
	}
	c.storeID, c.seen = storeID, true
	return nil
}

// emit appends an event, unless the run is silent.
func (r *run) emit(t event.Type, resourceID, discriminator string, occurred time.Time,
	object []byte, previous map[string]any,
) {
	if r.silent {
		return
	}
	r.res.Events = append(r.res.Events, event.Event{
		ID:         event.ID(r.p.StoreID, t, resourceID, discriminator),
		Type:       t,
		CreatedAt:  r.p.Now,
		OccurredAt: r.orNow(occurred),
		StoreID:    r.p.StoreID,
		CustomerID: r.p.CustomerID,
		Source:     event.SourcePoll,
		Data:       event.Data{Object: object, Previous: previous},
		ResourceID: resourceID,
	})
}

// orNow is t, or the detection time when the API gave no time.
func (r *run) orNow(t time.Time) time.Time {
	if t.IsZero() {
		return r.p.Now
	}
	return t
}

// late reports whether a completion at end falls before the catch-up
// window, and counts it if so.
func (r *run) late(end time.Time) bool {
	if r.backfill || r.p.CatchUp <= 0 || !end.Before(r.p.Now.Add(-r.p.CatchUp)) {
		return false
	}
	if !r.silent {
		r.res.LateCompletions++
	}
	return true
}

// storedObject is data.object for an event that comes without a new item:
// the stored body, or, if the store kept none, an object with just the id,
// since handlers find the resource through data.object.id.
func storedObject(id string, body []byte) json.RawMessage {
	if body != nil {
		return body
	}
	// Encoding a string cannot fail.
	quoted, _ := json.Marshal(id)
	return append(append([]byte(`{"id":`), quoted...), '}')
}

// apiTime formats a time as the API does, for data.previous.
func apiTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// appointmentBooked is an appointment that may still produce an event
// through the passing of time.
func appointmentBooked(rec AppointmentRecord) bool {
	return rec.Created && !rec.Canceled && !rec.Completed && !rec.Deleted
}

// nextBoundary sets NextBoundary over the records after this look: those
// written, and the stored ones not rewritten.
func (r *run) nextBoundary(prior map[string]AppointmentRecord) {
	written := make(map[string]struct{}, len(r.res.Appointments))
	for _, rec := range r.res.Appointments {
		written[rec.ID] = struct{}{}
		r.boundary(rec)
	}
	for id, rec := range prior {
		if _, ok := written[id]; !ok {
			r.boundary(rec)
		}
	}
}

func (r *run) boundary(rec AppointmentRecord) {
	if !appointmentBooked(rec) {
		return
	}
	for _, t := range [...]time.Time{rec.From, rec.To} {
		if t.After(r.p.Now) && (r.res.NextBoundary.IsZero() || t.Before(r.res.NextBoundary)) {
			r.res.NextBoundary = t
		}
	}
}

// isAppointmentCanceled says whether an item is canceled or deleted.
func isAppointmentCanceled(a *opencals.Appointment) bool {
	return a.Status == opencals.AppointmentCanceled || a.DeletedAt != nil
}

// latest drops repeats of an id (pages shift while they are read), keeping
// the most recently updated copy at the place of the first. It returns the
// ids it saw. The usual page, without repeats, is returned as it is.
func latest[T any](items []T, key func(*T) (string, time.Time)) ([]T, map[string]struct{}) {
	listed := make(map[string]struct{}, len(items))
	for i := range items {
		id, _ := key(&items[i])
		listed[id] = struct{}{}
	}
	if len(listed) == len(items) {
		return items, listed
	}
	out := make([]T, 0, len(listed))
	at := make(map[string]int, len(listed))
	for i := range items {
		id, updated := key(&items[i])
		j, dup := at[id]
		if !dup {
			at[id] = len(out)
			out = append(out, items[i])
			continue
		}
		if _, kept := key(&out[j]); !updated.Before(kept) {
			out[j] = items[i]
		}
	}
	return out, listed
}
