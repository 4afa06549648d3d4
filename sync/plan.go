// Package sync decides which customer to look at next, within the request
// budget of the store's API key, and runs those looks: fetch, apply, record.
//
// It shadows the standard library's sync: importers needing both alias one.
package sync

import (
	"math"
	"time"
)

// Tier is a class of customers polled at their own interval: those with an
// appointment starting or ending within BoundaryWithin, or with a change
// within ChangedWithin. A tier with neither window matches everyone.
type Tier struct {
	Name           string
	BoundaryWithin time.Duration
	ChangedWithin  time.Duration
	Interval       time.Duration
}

// Plan is the polling policy: how often each customer should be looked at
// when the budget allows.
type Plan struct {
	// Interval applies to customers no tier claims.
	Interval time.Duration
	// MaxAge caps every interval (before any stretch for budget).
	MaxAge time.Duration
	Tiers  []Tier
	// Verify schedules a look Lead before each boundary, so a last-minute
	// cancellation or reschedule is seen before appointment.completed.
	Verify bool
	Lead   time.Duration
}

// CustomerView is what planning needs to know about a customer.
type CustomerView struct {
	// LastPoll is the last look, successful or not; zero if never.
	LastPoll time.Time
	// NextBoundary is the earliest start or end of a live booking after the
	// last look; zero if none.
	NextBoundary time.Time
	// LastChange is when the last event for the customer was recorded;
	// zero if never.
	LastChange time.Time
}

// TierAt returns the tier a customer is in at time now and its interval;
// the name is "default" when no tier claims the customer. Tiers only ever
// speed a customer up: a tier's interval longer than Interval counts as
// Interval, and MaxAge caps everything.
func (p Plan) TierAt(c CustomerView, now time.Time) (string, time.Duration) {
	for _, t := range p.Tiers {
		if t.matches(c, now) {
			return t.Name, p.capped(min(t.Interval, p.Interval))
		}
	}
	return "default", p.capped(p.Interval)
}

func (t Tier) matches(c CustomerView, now time.Time) bool {
	if t.BoundaryWithin == 0 && t.ChangedWithin == 0 {
		return true
	}
	if t.BoundaryWithin > 0 && !c.NextBoundary.IsZero() &&
		!c.NextBoundary.Before(now) && c.NextBoundary.Sub(now) <= t.BoundaryWithin {
		return true
	}
	return t.ChangedWithin > 0 && !c.LastChange.IsZero() && now.Sub(c.LastChange) <= t.ChangedWithin
}

func (p Plan) capped(d time.Duration) time.Duration {
	if p.MaxAge > 0 && d > p.MaxAge {
		return p.MaxAge
	}
	return d
}

// NextPoll is when a customer just looked at (at now) should be looked at
// again, with every interval multiplied by stretch (≥ 1 when the budget is
// short). A customer never looked at is due now.
//
// Tiers can only claim a customer sooner as time passes through a known
// boundary's window, so the next look is the earliest of: the interval of
// the customer's tier now; the moment its boundary window opens, plus that
// tier's interval from the last look (not before the window opens); and,
// with Verify, Lead before the boundary unless the last look was already
// that close.
func (p Plan) NextPoll(c CustomerView, now time.Time, stretch float64) time.Time {
	if c.LastPoll.IsZero() {
		return now
	}
	_, interval := p.TierAt(c, now)
	next := c.LastPoll.Add(scale(interval, stretch))
	if c.NextBoundary.IsZero() || c.NextBoundary.Before(now) {
		return next
	}
	for _, t := range p.Tiers {
		if t.BoundaryWithin <= 0 {
			continue
		}
		opens := c.NextBoundary.Add(-t.BoundaryWithin)
		at := maxTime(opens, c.LastPoll.Add(scale(p.capped(min(t.Interval, p.Interval)), stretch)))
		next = minTime(next, at)
	}
	if verifyAt := c.NextBoundary.Add(-p.Lead); p.Verify && c.LastPoll.Before(verifyAt) {
		next = minTime(next, verifyAt)
	}
	return maxTime(next, now)
}

// Demand is the request rate, per second, that looking at every customer at
// its tier's interval needs, each look costing costPerLook requests.
func (p Plan) Demand(customers []CustomerView, now time.Time, costPerLook float64) float64 {
	var looksPerSecond float64
	for _, c := range customers {
		_, interval := p.TierAt(c, now)
		looksPerSecond += 1 / interval.Seconds()
	}
	return looksPerSecond * costPerLook
}

// Stretch is the factor every interval must grow by so that demand fits the
// budget (requests per second); 1 when it already fits. Stretching all
// intervals alike slows everyone evenly instead of starving anyone.
func Stretch(demand, budget float64) float64 {
	if budget <= 0 || demand <= budget {
		return 1
	}
	return demand / budget
}

func scale(d time.Duration, f float64) time.Duration {
	return time.Duration(math.Round(float64(d) * f))
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
