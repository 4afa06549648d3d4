package opencals

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Category is a rate-limit budget of the API. The API counts
// /storefront/auth/* separately from everything else.
type Category int

// The budgets of one API key.
const (
	General Category = iota
	Auth
)

// String names the category in logs and metrics.
func (c Category) String() string {
	if c == Auth {
		return "auth"
	}
	return "general"
}

// categoryOf maps a request path to its budget.
func categoryOf(path string) Category {
	if len(path) >= len(authPrefix) && path[:len(authPrefix)] == authPrefix {
		return Auth
	}
	return General
}

const authPrefix = "/storefront/auth/"

// Limits are the API's documented budgets per key and the share of them the
// client allows itself. Zero fields take the defaults (DefaultLimits).
type Limits struct {
	// Requests per Per for general requests. Default 100 per 60s.
	Requests int
	Per      time.Duration
	// AuthRequests per AuthPer for /storefront/auth/*. Default 20 per 10s.
	AuthRequests int
	AuthPer      time.Duration
	// Headroom is the share of each budget the client uses, in (0, 1]:
	// floor(Requests·Headroom) per window. Default 0.9, which leaves room
	// for other users of the key and for clock skew against the server.
	Headroom float64
}

// Default budgets: the API's documented limits, 90 % of which the client
// uses.
const (
	DefaultRequests     = 100
	DefaultPer          = time.Minute
	DefaultAuthRequests = 20
	DefaultAuthPer      = 10 * time.Second
	DefaultHeadroom     = 0.9
)

// DefaultLimits returns the API's documented budgets with 90 % headroom.
func DefaultLimits() Limits {
	return Limits{
		Requests: DefaultRequests, Per: DefaultPer,
		AuthRequests: DefaultAuthRequests, AuthPer: DefaultAuthPer,
		Headroom: DefaultHeadroom,
	}
}

// Validate reports the first field out of range. Zero fields are valid:
// they take the defaults.
func (l Limits) Validate() error {
	switch {
	case l.Requests < 0:
		return fmt.Errorf("rate limit requests %d: must not be negative", l.Requests)
	case l.Per < 0:
		return fmt.Errorf("rate limit per %v: must not be negative", l.Per)
	case l.AuthRequests < 0:
		return fmt.Errorf("rate limit auth_requests %d: must not be negative", l.AuthRequests)
	case l.AuthPer < 0:
		return fmt.Errorf("rate limit auth_per %v: must not be negative", l.AuthPer)
	case l.Headroom < 0 || l.Headroom > 1 || math.IsNaN(l.Headroom):
		return fmt.Errorf("rate limit headroom %v: must be in (0, 1]", l.Headroom)
	}
	return nil
}

// withDefaults replaces zero and invalid fields with the defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.Requests <= 0 {
		l.Requests = d.Requests
	}
	if l.Per <= 0 {
		l.Per = d.Per
	}
	if l.AuthRequests <= 0 {
		l.AuthRequests = d.AuthRequests
	}
	if l.AuthPer <= 0 {
		l.AuthPer = d.AuthPer
	}
	if !(l.Headroom > 0 && l.Headroom <= 1) {
		l.Headroom = d.Headroom
	}
	return l
}

// allowance is floor(requests·headroom), at least 1. The epsilon keeps
// 20·0.9 at 18 despite binary floating point.
func allowance(requests int, headroom float64) int {
	return max(1, int(math.Floor(float64(requests)*headroom+1e-9)))
}

// Limiter keeps one API key's requests within its budgets. Share one Limiter
// between every client and goroutine using the key.
//
// Each budget is an exact sliding-window log: a request is admitted only if
// fewer than the allowance were in flight or finished within the last
// window. A request counts from admission and stays counted until one window
// after its answer arrived, so the server, which saw it somewhere in
// between, never counts more than the allowance in any window of that
// length, whatever window algorithm it uses and however slow the network.
// A token bucket cannot promise that without a small burst.
//
// A 429 pauses only the budget it hit: the API counts the two budgets
// separately, so an exhausted general budget says nothing about sign-ins,
// and pausing them too would only delay onboarding customers.
type Limiter struct {
	clock   clockwork.Clock
	mu      sync.Mutex
	windows [2]*window
}

// window is the log of one budget. Guarded by Limiter.mu.
type window struct {
	allowed     int
	per         time.Duration
	done        []time.Time // answer times within the window, ascending
	inFlight    int
	pausedUntil time.Time
	streak      int           // consecutive 429s without Retry-After
	changed     chan struct{} // closed and replaced when a slot may free
	waiting     int
	granted     uint64
	throttled   uint64
}

// NewLimiter returns a limiter for l (zero fields take the defaults; call
// Limits.Validate first to reject bad input). A nil clock is the real clock.
func NewLimiter(l Limits, clock clockwork.Clock) *Limiter {
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	l = l.withDefaults()
	return &Limiter{
		clock: clock,
		windows: [2]*window{
			General: newWindow(allowance(l.Requests, l.Headroom), l.Per),
			Auth:    newWindow(allowance(l.AuthRequests, l.Headroom), l.AuthPer),
		},
	}
}

func newWindow(allowed int, per time.Duration) *window {
	return &window{allowed: allowed, per: per, changed: make(chan struct{})}
}

// Wait blocks until a request of category c may be sent, or ctx is done.
// The request counts as answered at once; the client itself uses a variant
// that keeps it counted until its answer arrives.
func (l *Limiter) Wait(ctx context.Context, c Category) error {
	release, err := l.acquire(ctx, c)
	if err != nil {
		return err
	}
	release(false)
	return nil
}

// Pause stops every request of category c until the given time. Requests
// already admitted are not recalled.
func (l *Limiter) Pause(c Category, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pauseLocked(l.windows[c], until)
}

func (l *Limiter) pauseLocked(w *window, until time.Time) {
	if until.After(w.pausedUntil) {
		w.pausedUntil = until
		w.signal()
	}
}

// throttled records a 429 on category c and pauses it: for retryAfter when
// the server sent one, else for the backoff ceiling of the current streak
// of 429s, so a server that never says how long backs us off exponentially.
// It returns the end of the pause.
func (l *Limiter) throttled(c Category, retryAfter time.Duration, b Backoff) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[c]
	w.throttled++
	pause := retryAfter
	if pause <= 0 {
		w.streak++
		pause = b.Ceiling(w.streak)
	}
	until := l.clock.Now().Add(pause)
	l.pauseLocked(w, until)
	return until
}

// acquire admits one request of category c, waiting as long as needed. The
// caller must call release once the answer arrived (or the attempt failed),
// with throttled true if the answer was a 429.
func (l *Limiter) acquire(ctx context.Context, c Category) (func(throttled bool), error) {
	l.mu.Lock()
	w := l.windows[c]
	w.waiting++
	defer func() { w.waiting--; l.mu.Unlock() }()
	for {
		at, changed := w.next(l.clock.Now())
		if at.IsZero() {
			return l.admitLocked(w), nil
		}
		l.mu.Unlock()
		err := l.sleep(ctx, at, changed)
		l.mu.Lock()
		if err != nil {
			return nil, fmt.Errorf("waiting for %s rate limit: %w", c, err)
		}
	}
}

// try admits one request of category c if that is possible now.
func (l *Limiter) try(c Category) (func(throttled bool), bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[c]
	if at, _ := w.next(l.clock.Now()); !at.IsZero() {
		return nil, false
	}
	return l.admitLocked(w), true
}

func (l *Limiter) admitLocked(w *window) func(bool) {
	w.inFlight++
	w.granted++
	return l.releaser(w)
}

// sleep waits until at (a zero-length wait when at is the far future means
// "until changed"), changed is closed, or ctx is done.
func (l *Limiter) sleep(ctx context.Context, at time.Time, changed <-chan struct{}) error {
	var timeout <-chan time.Time
	if !at.Equal(forever) {
		t := l.clock.NewTimer(at.Sub(l.clock.Now()))
		defer t.Stop()
		timeout = t.Chan()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changed:
	case <-timeout:
	}
	return nil
}

// forever marks "no slot frees by time alone: wait for a release".
var forever = time.Unix(1<<62, 0)

// next returns the zero time when a request may go now, else when to look
// again and a channel closed earlier if something changes.
func (w *window) next(now time.Time) (time.Time, <-chan struct{}) {
	w.evict(now)
	switch {
	case now.Before(w.pausedUntil):
		return w.pausedUntil, w.changed
	case w.inFlight+len(w.done) < w.allowed:
		return time.Time{}, nil
	case len(w.done) > 0:
		return w.done[0].Add(w.per), w.changed
	default:
		return forever, w.changed
	}
}

// evict drops answers older than one window.
func (w *window) evict(now time.Time) {
	i := 0
	for i < len(w.done) && !now.Before(w.done[i].Add(w.per)) {
		i++
	}
	w.done = w.done[i:]
}

// signal wakes every waiter of the window so it looks again.
func (w *window) signal() {
	close(w.changed)
	w.changed = make(chan struct{})
}

func (l *Limiter) releaser(w *window) func(bool) {
	var once sync.Once
	return func(throttled bool) {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			w.inFlight--
			w.done = append(w.done, l.clock.Now())
			if !throttled {
				w.streak = 0
			}
			w.signal()
		})
	}
}

// LimitStats describes one budget at one instant, for metrics.
type LimitStats struct {
	// Allowed is the client's allowance per window (after headroom).
	Allowed int
	Per     time.Duration
	// InUse is the number of requests counted in the current window,
	// in-flight ones included.
	InUse    int
	InFlight int
	// Waiting is the number of goroutines blocked in Wait.
	Waiting int
	// Granted and Throttled count admissions and 429 answers since start.
	Granted   uint64
	Throttled uint64
	// PausedUntil is the end of the current 429 pause; zero or past when
	// the budget is not paused.
	PausedUntil time.Time
}

// Stats returns a snapshot of category c.
func (l *Limiter) Stats(c Category) LimitStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.windows[c]
	w.evict(l.clock.Now())
	return LimitStats{
		Allowed: w.allowed, Per: w.per,
		InUse: w.inFlight + len(w.done), InFlight: w.inFlight, Waiting: w.waiting,
		Granted: w.granted, Throttled: w.throttled, PausedUntil: w.pausedUntil,
	}
}

// InUse is the number of requests of category c counted in the current
// window; Stats(c).Allowed minus InUse is what may go now.
func (l *Limiter) InUse(c Category) int { return l.Stats(c).InUse }

// Rate is the number of category c requests per second the key sustains
// within its allowance: what a scheduler may plan with.
func (l *Limiter) Rate(c Category) float64 {
	w := l.windows[c] // allowed and per never change after NewLimiter
	return float64(w.allowed) / w.per.Seconds()
}
