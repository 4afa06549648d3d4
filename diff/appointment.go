package diff

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
)

// appointments applies the snapshot's appointments, then the gone ones,
// then the stored ones the snapshot did not name.
func (r *run) appointments(prior map[string]AppointmentRecord, snap Snapshot) error {
	items, listed := latest(snap.Appointments, func(a *opencals.Appointment) (string, time.Time) {
		return a.ID, a.UpdatedAt
	})
	for i := range items {
		if err := r.appointmentItem(prior, &items[i]); err != nil {
			return err
		}
	}
	gone := make(map[string]struct{}, len(snap.GoneAppointments))
	for _, id := range snap.GoneAppointments {
		if _, ok := listed[id]; ok {
			continue // the item itself is better evidence than a 404
		}
		if _, dup := gone[id]; dup {
			continue
		}
		gone[id] = struct{}{}
		if old, ok := prior[id]; ok {
			r.goneAppointment(old)
		}
	}
	r.unlistedAppointments(prior, listed, gone, snap.Complete)
	return nil
}

// appointmentItem applies one listed appointment.
func (r *run) appointmentItem(prior map[string]AppointmentRecord, a *opencals.Appointment) error {
	old, known := prior[a.ID]
	h := Hash(a.Raw)
	if known && old.Hash == h {
		// The hot path: the same bytes as last time, so nothing but the
		// clock can have changed, and the stored body is still right.
		rec := old
		changed := rec.Missing
		rec.Missing = false
		if r.completeStored(&rec) || changed {
			r.res.Appointments = append(r.res.Appointments, rec)
		}
		return nil
	}
	body, err := event.Redact(a.Raw)
	if err != nil {
		return fmt.Errorf("%w: appointment %s: %w", ErrInvalidSnapshot, a.ID, err)
	}
	rec := old
	rec.ID, rec.Status, rec.From, rec.To = a.ID, a.Status, a.From, a.To
	rec.Deleted, rec.UpdatedAt = a.DeletedAt != nil, a.UpdatedAt
	rec.Missing, rec.Hash, rec.Body = false, h, body
	r.lookAtAppointment(old, known, a, &rec)
	r.res.Appointments = append(r.res.Appointments, rec)
	return nil
}

// lookAtAppointment applies the rules to a new item. old is the stored
// record (zero when !known); rec is old with the item's fields, and gets the
// flags of the events that fire. Events go in the order they happened:
// created, rescheduled, canceled, completed.
func (r *run) lookAtAppointment(old AppointmentRecord, known bool, a *opencals.Appointment,
	rec *AppointmentRecord,
) {
	canceled := isAppointmentCanceled(a)
	// A canceled hold stays canceled: nothing fires for it later.
	if !rec.Created && !rec.Canceled && isBooking(a) {
		rec.Created = true
		r.emit(event.AppointmentCreated, a.ID, "", createdAt(a), rec.Body,
			statusBefore(old, known, a.Status))
	}
	// A move seen together with a cancel is not reported: the canceled
	// booking has no slot left to move to, and handlers that act on the
	// move (calendars, reminders) would only have to undo it.
	// TODO: a move back to a slot already reported (A→B→A) gets the id of
	// the first move to A, so the outbox drops it as a repeat; the id
	// scheme (new slot as discriminator) cannot tell the two apart.
	if known && old.Created && !old.Canceled && !canceled && slotMoved(old, *rec) {
		r.emit(event.AppointmentRescheduled, a.ID, event.SlotDiscriminator(rec.From, rec.To),
			a.UpdatedAt, rec.Body, map[string]any{"from": apiTime(old.From), "to": apiTime(old.To)})
	}
	if canceled && !rec.Canceled {
		rec.Canceled = true
		if rec.Created {
			r.emit(event.AppointmentCanceled, a.ID, "", a.UpdatedAt, rec.Body,
				cancelBefore(old, known, a))
		}
	}
	byStatus := a.Status == opencals.AppointmentCompleted
	if r.complete(rec, byStatus) {
		// data.previous names the status only when it is what completed.
		var prev map[string]any
		if byStatus {
			prev = statusBefore(old, known, a.Status)
		}
		r.emitCompleted(*rec, a.UpdatedAt, rec.Body, prev)
	}
}

// isBooking says whether an item shows a booking rather than a hold. A
// pending item is a hold (a cart not checked out). A scheduled or completed
// one is a booking. A canceled one is ambiguous: holds that expire end up
// canceled too. It counts as a booking only when it went through checkout,
// which links it to an order (orderLineItem, or an external shop's order):
// a hold never has one, while a real booking canceled before the first look
// does, so handlers hear of it (created, then canceled) and an abandoned
// cart stays silent.
func isBooking(a *opencals.Appointment) bool {
	switch a.Status {
	case opencals.AppointmentScheduled, opencals.AppointmentCompleted:
		return true
	case opencals.AppointmentCanceled:
		return a.OrderLineItem != nil || a.ExternalOrderID != ""
	}
	return false
}

// createdAt estimates when a booking was made: updatedAt, unless a later
// change in the same look (a cancel, a completion) already moved it; then
// the item's creation time is the better guess.
func createdAt(a *opencals.Appointment) time.Time {
	if a.Status == opencals.AppointmentScheduled && a.DeletedAt == nil {
		return a.UpdatedAt
	}
	return a.CreatedAt
}

// slotMoved reports whether the slot differs between two records.
func slotMoved(old, rec AppointmentRecord) bool {
	return !old.From.Equal(rec.From) || !old.To.Equal(rec.To)
}

// statusBefore is data.previous for a status change, nil if the status did
// not change or nothing was known before.
func statusBefore(old AppointmentRecord, known bool,
	status opencals.AppointmentStatus,
) map[string]any {
	if !known || old.Status == status {
		return nil
	}
	return map[string]any{"status": string(old.Status)}
}

// cancelBefore is data.previous for a cancel: the old status and, for a
// soft delete, the deletedAt that was null.
func cancelBefore(old AppointmentRecord, known bool, a *opencals.Appointment) map[string]any {
	prev := statusBefore(old, known, a.Status)
	if known && a.DeletedAt != nil && !old.Deleted {
		if prev == nil {
			prev = map[string]any{}
		}
		prev["deletedAt"] = nil
	}
	return prev
}

// complete marks a booking completed when its status says so or its end
// has passed, once. It reports whether an event is due: a completion older
// than the catch-up window is recorded without one.
func (r *run) complete(rec *AppointmentRecord, byStatus bool) bool {
	if !appointmentBooked(*rec) || !byStatus && rec.To.After(r.p.Now) {
		return false
	}
	rec.Completed = true
	return !r.late(rec.To)
}

// completeStored completes a stored record whose end has passed, with the
// stored body as data.object. It reports whether rec changed. A record
// missing from the last listing waits for its look-up: it may have been
// deleted before its end, and absence is evidence neither way.
func (r *run) completeStored(rec *AppointmentRecord) bool {
	if !appointmentBooked(*rec) || rec.Missing || rec.To.After(r.p.Now) {
		return false
	}
	if r.complete(rec, false) {
		r.emitCompleted(*rec, rec.UpdatedAt, storedObject(rec.ID, rec.Body), nil)
	}
	return true
}

// emitCompleted sends appointment.completed. It occurred at the end time,
// unless the status said completed before the end: then at the change.
func (r *run) emitCompleted(rec AppointmentRecord, updatedAt time.Time, object []byte,
	prev map[string]any,
) {
	at := rec.To
	if at.After(r.p.Now) {
		at = updatedAt
	}
	r.emit(event.AppointmentCompleted, rec.ID, "", at, object, prev)
}

// goneAppointment applies a 404 from a direct look-up: the appointment is
// deleted, and a booking not yet canceled is canceled now.
func (r *run) goneAppointment(old AppointmentRecord) {
	if old.Deleted && old.Canceled && !old.Missing {
		return
	}
	rec := old
	rec.Deleted, rec.Missing = true, false
	if !rec.Canceled {
		rec.Canceled = true
		if rec.Created {
			r.emit(event.AppointmentCanceled, rec.ID, "", r.p.Now,
				storedObject(rec.ID, rec.Body), nil)
		}
	}
	r.res.Appointments = append(r.res.Appointments, rec)
}

// unlistedAppointments handles the stored appointments the snapshot did
// not name: a complete listing marks them missing, and the clock may
// complete the others. Only records that could still produce an event are
// marked missing, since each costs a direct look-up from the rate budget.
func (r *run) unlistedAppointments(prior map[string]AppointmentRecord,
	listed, gone map[string]struct{}, complete bool,
) {
	var unlisted []AppointmentRecord
	for id, rec := range prior {
		_, isListed := listed[id]
		_, isGone := gone[id]
		if !isListed && !isGone {
			unlisted = append(unlisted, rec)
		}
	}
	// Map order is random; completions go oldest first.
	slices.SortFunc(unlisted, func(a, b AppointmentRecord) int {
		return cmp.Or(a.To.Compare(b.To), cmp.Compare(a.ID, b.ID))
	})
	for _, rec := range unlisted {
		changed := false
		if complete && !rec.Deleted && !rec.Canceled {
			changed = !rec.Missing
			rec.Missing = true
			r.res.MissingAppointments = append(r.res.MissingAppointments, rec.ID)
		}
		if r.completeStored(&rec) || changed {
			r.res.Appointments = append(r.res.Appointments, rec)
		}
	}
}
