package diff

import (
	"fmt"
	"slices"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
)

// orders applies the snapshot's orders, then the gone ones, then marks the
// unlisted ones missing.
func (r *run) orders(prior map[string]OrderRecord, snap Snapshot) error {
	items, listed := latest(snap.Orders, func(o *opencals.Order) (string, time.Time) {
		return o.ID, o.UpdatedAt
	})
	for i := range items {
		if err := r.orderItem(prior, &items[i]); err != nil {
			return err
		}
	}
	gone := make(map[string]struct{}, len(snap.GoneOrders))
	for _, id := range snap.GoneOrders {
		old, ok := prior[id]
		_, isListed := listed[id]
		_, dup := gone[id]
		gone[id] = struct{}{}
		if ok && !isListed && !dup && (!old.Deleted || old.Missing) {
			old.Deleted, old.Missing = true, false
			r.res.Orders = append(r.res.Orders, old)
		}
	}
	if snap.Complete {
		r.unlistedOrders(prior, listed, gone)
	}
	return nil
}

// orderItem applies one listed order.
func (r *run) orderItem(prior map[string]OrderRecord, o *opencals.Order) error {
	old, known := prior[o.ID]
	h := Hash(o.Raw)
	if known && old.Hash == h {
		if old.Missing {
			old.Missing = false
			r.res.Orders = append(r.res.Orders, old)
		}
		return nil
	}
	body, err := event.Redact(o.Raw)
	if err != nil {
		return fmt.Errorf("%w: order %s: %w", ErrInvalidSnapshot, o.ID, err)
	}
	rec := OrderRecord{
		ID: o.ID, PaymentStatus: o.PaymentStatus, PaidTotal: o.PaidTotal,
		RefundedTotal: o.RefundedTotal, Refunds: slices.Clone(old.Refunds),
		Deleted: o.DeletedAt != nil, UpdatedAt: o.UpdatedAt, Hash: h, Body: body,
	}
	r.paid(old, known, o, &rec)
	r.refunds(old, known, o, &rec)
	r.res.Orders = append(r.res.Orders, rec)
	return nil
}

// paid fires order.paid when the order becomes paid, and again when the
// paid total rises while it stays paid: an add-on paid between two looks
// shows only as a higher total, and it is a new payment all the same.
func (r *run) paid(old OrderRecord, known bool, o *opencals.Order, rec *OrderRecord) {
	if o.PaymentStatus != opencals.PaymentPaid {
		return
	}
	wasPaid := known && old.PaymentStatus == opencals.PaymentPaid
	if wasPaid && o.PaidTotal <= old.PaidTotal {
		return
	}
	var prev map[string]any
	if known {
		prev = map[string]any{"paidTotal": old.PaidTotal}
		if !wasPaid {
			prev["paymentStatus"] = string(old.PaymentStatus)
		}
	}
	r.emit(event.OrderPaid, o.ID, event.PaidDiscriminator(o.PaidTotal), o.UpdatedAt,
		rec.Body, prev)
}

// refunds fires order.refunded once per successful refund transaction not
// reported before. An order whose refunds left no transaction fires it when
// refundedTotal rises. refund-owed alone is a debt, not a refund: nothing.
func (r *run) refunds(old OrderRecord, known bool, o *opencals.Order, rec *OrderRecord) {
	before := int64(0)
	if known {
		before = old.RefundedTotal
	}
	anyTransaction := false
	var running int64
	for _, t := range o.Transactions {
		if t.Type != opencals.TransactionRefund || t.Status != opencals.TransactionSuccess {
			continue
		}
		anyTransaction = true
		// Without any id, the refunded total this transaction led to tells
		// it apart from the others.
		running += t.Amount
		id := t.RefundID
		if id == "" {
			id = t.ExternalID
		}
		r.refund(rec, event.RefundDiscriminator(id, running), t.CreatedAt, known, before)
	}
	// TODO: a refund first seen as a bare rise of refundedTotal, whose
	// transaction the API lists only later, is reported twice (by total,
	// then by refund id).
	if !anyTransaction && o.RefundedTotal > before {
		r.refund(rec, event.RefundDiscriminator("", o.RefundedTotal), o.UpdatedAt, known, before)
	}
}

// refund fires one order.refunded unless its discriminator was reported.
func (r *run) refund(rec *OrderRecord, discriminator string, at time.Time, known bool,
	before int64,
) {
	if slices.Contains(rec.Refunds, discriminator) {
		return
	}
	rec.Refunds = append(rec.Refunds, discriminator)
	var prev map[string]any
	if known {
		prev = map[string]any{"refundedTotal": before}
	}
	r.emit(event.OrderRefunded, rec.ID, discriminator, at, rec.Body, prev)
}

// unlistedOrders marks missing the stored orders a complete listing did
// not name. A deleted order can produce no event, so it needs no look-up.
func (r *run) unlistedOrders(prior map[string]OrderRecord, listed, gone map[string]struct{}) {
	var missing []string
	for id, rec := range prior {
		_, isListed := listed[id]
		_, isGone := gone[id]
		if !isListed && !isGone && !rec.Deleted {
			missing = append(missing, id)
		}
	}
	// Map order is random; keep results reproducible.
	slices.Sort(missing)
	for _, id := range missing {
		r.res.MissingOrders = append(r.res.MissingOrders, id)
		if rec := prior[id]; !rec.Missing {
			rec.Missing = true
			r.res.Orders = append(r.res.Orders, rec)
		}
	}
}
