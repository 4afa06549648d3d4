package sync

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// The simulation compares the adaptive planner with plain round-robin at the
// same request budget, on a fake timeline with one-second steps. Activity
// model: 1,000 customers, 10 % of them hot; hot customers start booking
// sessions 81 times as often as the others, so they make 90 % of the
// changes. A session is what a booking system sees: a booking, its payment
// minutes later, and sometimes a reschedule or a cancellation (with its
// refund) in the hours before the appointment. Changes cluster, which is
// what tiers exploit; a first change after a quiet spell cannot be seen
// sooner than the customer's dormant interval.
type simConfig struct {
	Customers  int
	HotShare   float64
	HotSession time.Duration // mean time between a hot customer's sessions
	Horizon    time.Duration
	Warmup     time.Duration // changes before this are not measured
	Budget     float64       // requests per second
	Seed       uint64
}

func defaultSimConfig() simConfig {
	return simConfig{
		Customers:  1000,
		HotShare:   0.1,
		HotSession: 12 * time.Hour,
		Horizon:    7 * 24 * time.Hour,
		Warmup:     24 * time.Hour,
		// The default key: 100 requests / 60 s at 90 % headroom.
		Budget: 100.0 / 60 * 0.9,
		Seed:   1,
	}
}

type simBooking struct {
	booked, start, end time.Time
	rescheduledAt      time.Time // zero if never
	newStart           time.Time
	canceledAt         time.Time // zero if never
}

type simCustomer struct {
	changes  []time.Time // sorted
	seen     int         // changes detected so far
	bookings []simBooking
	view     CustomerView
}

// simWorld is the generated activity, shared by both strategies.
type simWorld struct {
	cfg       simConfig
	start     time.Time
	customers []simCustomer
}

func newSimWorld(cfg simConfig) *simWorld {
	r := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))
	w := &simWorld{cfg: cfg, start: t0, customers: make([]simCustomer, cfg.Customers)}
	hot := int(float64(cfg.Customers) * cfg.HotShare)
	// 90 % of changes from hot customers: per customer, hot ones are
	// (0.9/hot) / (0.1/cold) times as active.
	cold := cfg.Customers - hot
	coldSession := time.Duration(float64(cfg.HotSession) * 9 * float64(cold) / float64(hot))
	for i := range w.customers {
		mean := coldSession
		if i < hot {
			mean = cfg.HotSession
		}
		w.generate(r, &w.customers[i], mean)
	}
	return w
}

func (w *simWorld) generate(r *rand.Rand, c *simCustomer, mean time.Duration) {
	end := w.start.Add(w.cfg.Horizon)
	for t := w.start.Add(expDuration(r, mean)); t.Before(end); t = t.Add(expDuration(r, mean)) {
		b := simBooking{booked: t, start: t.Add(uniform(r, 2*time.Hour, 72*time.Hour))}
		b.end = b.start.Add(time.Hour)
		c.changes = append(c.changes, t, t.Add(uniform(r, time.Minute, 15*time.Minute)))
		if r.Float64() < 0.3 {
			b.rescheduledAt = maxTime(t.Add(20*time.Minute), b.start.Add(-uniform(r, 30*time.Minute, 6*time.Hour)))
			b.newStart = b.start.Add(24 * time.Hour)
			c.changes = append(c.changes, b.rescheduledAt)
		}
		if r.Float64() < 0.2 {
			b.canceledAt = maxTime(t.Add(30*time.Minute), b.start.Add(-uniform(r, 30*time.Minute, 12*time.Hour)))
			c.changes = append(c.changes, b.canceledAt, b.canceledAt.Add(uniform(r, time.Minute, 30*time.Minute)))
		}
		c.bookings = append(c.bookings, b)
	}
	slices.SortFunc(c.changes, func(a, b time.Time) int { return a.Compare(b) })
}

func expDuration(r *rand.Rand, mean time.Duration) time.Duration {
	return time.Duration(r.ExpFloat64() * float64(mean))
}

func uniform(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.Int64N(int64(hi-lo)))
}

// look is one poll of customer i at now: it detects every change so far,
// records latencies, and refreshes what a poll would teach the planner. It
// reports whether anything changed.
func (w *simWorld) look(i int, now time.Time, latencies *[]time.Duration) bool {
	c := &w.customers[i]
	detected := false
	for c.seen < len(c.changes) && !c.changes[c.seen].After(now) {
		if !c.changes[c.seen].Before(w.start.Add(w.cfg.Warmup)) {
			*latencies = append(*latencies, now.Sub(c.changes[c.seen]))
		}
		c.seen++
		detected = true
	}
	c.view.LastPoll = now
	if detected {
		c.view.LastChange = now
	}
	c.view.NextBoundary = time.Time{}
	for _, b := range c.bookings {
		if b.booked.After(now) || (!b.canceledAt.IsZero() && !b.canceledAt.After(now)) {
			continue
		}
		start := b.start
		if !b.rescheduledAt.IsZero() && !b.rescheduledAt.After(now) {
			start = b.newStart
		}
		for _, edge := range []time.Time{start, start.Add(time.Hour)} {
			if edge.After(now) && (c.view.NextBoundary.IsZero() || edge.Before(c.view.NextBoundary)) {
				c.view.NextBoundary = edge
			}
		}
	}
	return detected
}

// chooser picks which customer to look at when the budget allows one look;
// -1 means nobody is due.
type chooser interface {
	next(now time.Time) int
	looked(i int, now time.Time)
	// cost is the requests a look took.
	cost(changed bool) float64
}

func (w *simWorld) run(ch chooser) []time.Duration {
	var latencies []time.Duration
	tokens := 0.0
	end := w.start.Add(w.cfg.Horizon)
	for now := w.start; now.Before(end); now = now.Add(time.Second) {
		tokens = min(tokens+w.cfg.Budget, 4)
		for tokens >= 2 {
			i := ch.next(now)
			if i < 0 {
				break
			}
			tokens -= ch.cost(w.look(i, now, &latencies))
			ch.looked(i, now)
		}
	}
	return latencies
}

type roundRobin struct {
	n, at int
}

func (r *roundRobin) next(time.Time) int    { i := r.at; r.at = (r.at + 1) % r.n; return i }
func (r *roundRobin) looked(int, time.Time) {}
func (r *roundRobin) cost(bool) float64     { return 2 }

// adaptive drives the real planner: due times from Plan.NextPoll, the
// stretch recomputed every minute from Plan.Demand against the budget.
type adaptive struct {
	w       *simWorld
	plan    Plan
	stretch float64
	due     dueHeap
	planned time.Time
	// fullEvery, as Settings.FullEvery: between full looks, light looks
	// list orders only (one request) unless something changed. Zero makes
	// every look full.
	fullEvery time.Duration
	lastFull  []time.Time
	perLook   ewma
	pending   bool // the look being costed was full
}

// cost mirrors the scheduler: a full look, or a light one that found a
// change, lists orders and appointments; a quiet light look, orders only.
func (a *adaptive) cost(changed bool) float64 {
	c := 2.0
	if !a.pending && !changed {
		c = 1
	}
	a.perLook.add(c)
	return c
}

func newAdaptive(w *simWorld, plan Plan) *adaptive {
	a := &adaptive{w: w, plan: plan, stretch: 1, perLook: ewma{value: 2},
		lastFull: make([]time.Time, len(w.customers))}
	for i := range w.customers {
		a.due = append(a.due, dueItem{customer: i, at: w.start})
	}
	heap.Init(&a.due)
	return a
}

func (a *adaptive) next(now time.Time) int {
	if now.Sub(a.planned) >= time.Minute {
		views := make([]CustomerView, len(a.w.customers))
		for i := range a.w.customers {
			views[i] = a.w.customers[i].view
		}
		a.stretch = Stretch(a.plan.Demand(views, now, a.perLook.get()), a.w.cfg.Budget)
		a.planned = now
	}
	if len(a.due) == 0 || a.due[0].at.After(now) {
		return -1
	}
	i := heap.Pop(&a.due).(dueItem).customer
	a.pending = a.fullEvery <= 0 || now.Sub(a.lastFull[i]) >= a.fullEvery
	if a.pending {
		a.lastFull[i] = now
	}
	return i
}

func (a *adaptive) looked(i int, now time.Time) {
	at := a.plan.NextPoll(a.w.customers[i].view, now, a.stretch)
	heap.Push(&a.due, dueItem{customer: i, at: at})
}

type dueItem struct {
	customer int
	at       time.Time
}

type dueHeap []dueItem

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].customer < h[j].customer
	}
	return h[i].at.Before(h[j].at)
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(dueItem)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[int(p*float64(len(sorted)-1))]
}

// simResult holds detection latencies, p50 and p95, of three strategies at
// one budget: round-robin with full looks (the baseline), the adaptive
// planner with full looks, and the adaptive planner with light looks as the
// scheduler runs by default.
type simResult struct {
	changes         int
	roundRobin      [2]time.Duration
	adaptiveFull    [2]time.Duration
	adaptiveDefault [2]time.Duration
}

func simulate(cfg simConfig, plan Plan, fullEvery time.Duration) simResult {
	run := func(ch func(*simWorld) chooser) [2]time.Duration {
		w := newSimWorld(cfg)
		lat := w.run(ch(w))
		slices.Sort(lat)
		return [2]time.Duration{percentile(lat, 0.5), percentile(lat, 0.95)}
	}
	var res simResult
	res.changes = len(newSimWorld(cfg).run(&roundRobin{n: cfg.Customers}))
	res.roundRobin = run(func(*simWorld) chooser { return &roundRobin{n: cfg.Customers} })
	res.adaptiveFull = run(func(w *simWorld) chooser { return newAdaptive(w, plan) })
	res.adaptiveDefault = run(func(w *simWorld) chooser {
		a := newAdaptive(w, plan)
		a.fullEvery = fullEvery
		return a
	})
	return res
}

func (r simResult) ratio(p [2]time.Duration) float64 {
	return p[1].Seconds() / r.roundRobin[1].Seconds()
}

func (r simResult) String() string {
	f := func(name string, p [2]time.Duration) string {
		return fmt.Sprintf("%s p50 %s p95 %s (p95 ratio %.2f)", name,
			p[0].Round(time.Second), p[1].Round(time.Second), r.ratio(p))
	}
	return fmt.Sprintf("%d changes; %s; %s; %s", r.changes,
		f("round-robin", r.roundRobin), f("adaptive, full looks", r.adaptiveFull),
		f("adaptive with light looks (default)", r.adaptiveDefault))
}

func TestAdaptiveBeatsRoundRobin(t *testing.T) {
	t.Parallel()
	res := simulate(defaultSimConfig(), testPlan(), testPlan().MaxAge)
	t.Log(res)
	if res.changes < 1000 {
		t.Fatalf("only %d changes simulated; the model is too quiet to compare", res.changes)
	}
	if res.ratio(res.adaptiveDefault) > 0.5 {
		t.Errorf("adaptive p95 is %.2f of round-robin's; want at most 0.5", res.ratio(res.adaptiveDefault))
	}
	if res.ratio(res.adaptiveFull) >= 1 {
		t.Errorf("the planner alone does no better than round-robin: %s", res)
	}
}

// BenchmarkDetectionLatency reports the simulation's figures; the
// simulated week is the work, b.N is irrelevant.
func BenchmarkDetectionLatency(b *testing.B) {
	var res simResult
	for b.Loop() {
		res = simulate(defaultSimConfig(), testPlan(), testPlan().MaxAge)
	}
	b.ReportMetric(res.roundRobin[1].Seconds(), "rr-p95-s")
	b.ReportMetric(res.adaptiveFull[1].Seconds(), "adaptive-full-p95-s")
	b.ReportMetric(res.adaptiveDefault[1].Seconds(), "adaptive-p95-s")
	b.ReportMetric(res.ratio(res.adaptiveDefault), "p95-ratio")
}
