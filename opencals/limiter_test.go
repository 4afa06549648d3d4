package opencals

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"pgregory.net/rapid"
)

var epoch = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func TestAllowance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		requests int
		headroom float64
		want     int
	}{
		{requests: 100, headroom: 0.9, want: 90},
		{requests: 20, headroom: 0.9, want: 18},
		{requests: 10, headroom: 0.7, want: 7},
		{requests: 3, headroom: 1, want: 3},
		{requests: 7, headroom: 0.5, want: 3},
		{requests: 1, headroom: 0.5, want: 1},
	}
	for _, tt := range tests {
		if got := allowance(tt.requests, tt.headroom); got != tt.want {
			t.Errorf("allowance(%d, %v) = %d; want %d", tt.requests, tt.headroom, got, tt.want)
		}
	}
}

func TestNewLimiterDefaults(t *testing.T) {
	t.Parallel()
	l := NewLimiter(Limits{}, clockwork.NewFakeClockAt(epoch))
	tests := []struct {
		cat         Category
		wantAllowed int
		wantPer     time.Duration
		wantRate    float64
	}{
		{cat: General, wantAllowed: 90, wantPer: time.Minute, wantRate: 1.5},
		{cat: Auth, wantAllowed: 18, wantPer: 10 * time.Second, wantRate: 1.8},
	}
	for _, tt := range tests {
		st := l.Stats(tt.cat)
		if st.Allowed != tt.wantAllowed || st.Per != tt.wantPer {
			t.Errorf("Stats(%v) allows %d per %v; want %d per %v",
				tt.cat, st.Allowed, st.Per, tt.wantAllowed, tt.wantPer)
		}
		if got := l.Rate(tt.cat); got != tt.wantRate {
			t.Errorf("Rate(%v) = %v; want %v", tt.cat, got, tt.wantRate)
		}
	}
}

func TestLimitsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		limits  Limits
		wantErr bool
	}{
		{name: "zero takes defaults", limits: Limits{}},
		{name: "defaults", limits: DefaultLimits()},
		{name: "full headroom", limits: Limits{Headroom: 1}},
		{name: "negative requests", limits: Limits{Requests: -1}, wantErr: true},
		{name: "negative per", limits: Limits{Per: -time.Second}, wantErr: true},
		{name: "negative auth", limits: Limits{AuthRequests: -1}, wantErr: true},
		{name: "negative auth per", limits: Limits{AuthPer: -1}, wantErr: true},
		{name: "headroom above one", limits: Limits{Headroom: 1.1}, wantErr: true},
		{name: "negative headroom", limits: Limits{Headroom: -0.1}, wantErr: true},
	}
	for _, tt := range tests {
		if err := tt.limits.Validate(); (err != nil) != tt.wantErr {
			t.Errorf("%s: Validate() = %v; want error %v", tt.name, err, tt.wantErr)
		}
	}
}

func TestCategoryOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path string
		want Category
	}{
		{path: "/storefront/auth/sign-in", want: Auth},
		{path: "/storefront/auth/refresh", want: Auth},
		{path: "/storefront/appointments", want: General},
		{path: "/storefront/authors", want: General},
	}
	for _, tt := range tests {
		if got := categoryOf(tt.path); got != tt.want {
			t.Errorf("categoryOf(%q) = %v; want %v", tt.path, got, tt.want)
		}
	}
}

// TestLimiterSlidingWindow pins the window: a slot frees exactly one
// window after the request that held it, not at a fixed boundary.
func TestLimiterSlidingWindow(t *testing.T) {
	t.Parallel()
	fc := clockwork.NewFakeClockAt(epoch)
	l := NewLimiter(Limits{Requests: 4, Per: 10 * time.Second, Headroom: 1}, fc)
	steps := []struct {
		at        time.Duration // since epoch
		tries     int
		wantAdmit int
	}{
		{at: 0, tries: 2, wantAdmit: 2},
		{at: 4 * time.Second, tries: 3, wantAdmit: 2},
		{at: 6 * time.Second, tries: 1, wantAdmit: 0},
		{at: 10*time.Second - time.Millisecond, tries: 1, wantAdmit: 0},
		{at: 10 * time.Second, tries: 3, wantAdmit: 2}, // a fixed window would admit 4
		{at: 14*time.Second - time.Millisecond, tries: 1, wantAdmit: 0},
		{at: 14 * time.Second, tries: 3, wantAdmit: 2},
	}
	for _, st := range steps {
		fc.Advance(epoch.Add(st.at).Sub(fc.Now()))
		admitted := 0
		for range st.tries {
			if release, ok := l.try(General); ok {
				release(false)
				admitted++
			}
		}
		if admitted != st.wantAdmit {
			t.Errorf("at +%v: admitted %d of %d; want %d", st.at, admitted, st.tries, st.wantAdmit)
		}
	}
}

// TestLimiterCountsUntilAnswered pins that a request holds its slot while in
// flight and for one window after its answer, not after its admission.
func TestLimiterCountsUntilAnswered(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fc := clockwork.NewFakeClockAt(epoch)
	l := NewLimiter(Limits{Requests: 1, Per: 10 * time.Second, Headroom: 1}, fc)
	release, ok := l.try(General)
	if !ok {
		t.Fatal("try() on an empty limiter = false; want true")
	}
	admitted := make(chan error, 1)
	go func() { admitted <- l.Wait(ctx, General) }()

	fc.Advance(5 * time.Second) // answer arrives at +5s
	release(false)
	if err := fc.BlockUntilContext(ctx, 1); err != nil {
		t.Fatalf("waiting for the limiter's timer: %v", err)
	}
	fc.Advance(10*time.Second - time.Millisecond)
	select {
	case err := <-admitted:
		t.Fatalf("Wait returned %v at +14.999s; want it to wait until +15s", err)
	default:
	}
	fc.Advance(time.Millisecond)
	if err := <-admitted; err != nil {
		t.Fatalf("Wait() = %v; want nil", err)
	}
}

func TestLimiterPauseHoldsOnlyItsCategory(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	fc := clockwork.NewFakeClockAt(epoch)
	l := NewLimiter(Limits{}, fc)
	l.Pause(General, epoch.Add(30*time.Second))

	if _, ok := l.try(General); ok {
		t.Fatal("try(General) during a pause = true; want false")
	}
	if release, ok := l.try(Auth); !ok {
		t.Fatal("try(Auth) during a general pause = false; want true")
	} else {
		release(false)
	}
	const waiters = 3
	done := make(chan error, waiters)
	for range waiters {
		go func() { done <- l.Wait(ctx, General) }()
	}
	if err := fc.BlockUntilContext(ctx, waiters); err != nil {
		t.Fatalf("waiting for the waiters' timers: %v", err)
	}
	fc.Advance(30 * time.Second)
	for range waiters {
		if err := <-done; err != nil {
			t.Errorf("Wait() after the pause = %v; want nil", err)
		}
	}
}

func TestLimiterThrottledBacksOffWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	fc := clockwork.NewFakeClockAt(epoch)
	l := NewLimiter(Limits{}, fc)
	b := Backoff{}
	steps := []struct {
		name       string
		retryAfter time.Duration
		wantPause  time.Duration
	}{
		{name: "first 429", wantPause: 500 * time.Millisecond},
		{name: "second 429", wantPause: time.Second},
		{name: "with Retry-After", retryAfter: 7 * time.Second, wantPause: 7 * time.Second},
		{name: "third 429", wantPause: 2 * time.Second},
	}
	for _, st := range steps {
		until := l.throttled(General, st.retryAfter, b)
		if got := until.Sub(fc.Now()); got != st.wantPause {
			t.Errorf("%s: paused for %v; want %v", st.name, got, st.wantPause)
		}
		fc.Advance(st.wantPause)
	}
	release, ok := l.try(General)
	if !ok {
		t.Fatal("try() after the pauses = false; want true")
	}
	release(false) // a success ends the streak
	if got := l.throttled(General, 0, b).Sub(fc.Now()); got != 500*time.Millisecond {
		t.Errorf("pause after a success = %v; want the streak to restart at 500ms", got)
	}
	if got := l.Stats(General).Throttled; got != 5 {
		t.Errorf("Stats().Throttled = %d; want 5", got)
	}
}

func TestLimiterWaitHonoursContext(t *testing.T) {
	t.Parallel()
	fc := clockwork.NewFakeClockAt(epoch)
	l := NewLimiter(Limits{Requests: 1, Headroom: 1}, fc)
	if err := l.Wait(t.Context(), General); err != nil {
		t.Fatalf("first Wait() = %v; want nil", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- l.Wait(ctx, General) }()
	if err := fc.BlockUntilContext(t.Context(), 1); err != nil {
		t.Fatalf("waiting for the limiter's timer: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Wait() after cancel = %v; want context.Canceled", err)
	}
	if st := l.Stats(General); st.Waiting != 0 || st.Granted != 1 {
		t.Errorf("Stats() = %+v; want no waiter and one grant", st)
	}
}

// TestLimiterNeverExceedsAndNeverStalls checks, against an independent
// model, that the limiter admits a request exactly when fewer than the
// allowance were in flight or answered within the last window.
func TestLimiterNeverExceedsAndNeverStalls(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		allowed := rapid.IntRange(1, 5).Draw(rt, "allowed")
		per := 5 * time.Second
		fc := clockwork.NewFakeClockAt(epoch)
		l := NewLimiter(Limits{Requests: allowed, Per: per, Headroom: 1}, fc)
		type held struct {
			release  func(bool)
			answered time.Time // zero while in flight
		}
		var log []*held
		steps := rapid.IntRange(1, 60).Draw(rt, "steps")
		for range steps {
			switch rapid.IntRange(0, 2).Draw(rt, "op") {
			case 0:
				ms := rapid.IntRange(0, 3000).Draw(rt, "ms")
				fc.Advance(time.Duration(ms) * time.Millisecond)
			case 1:
				inUse := 0
				for _, h := range log {
					if h.answered.IsZero() || fc.Now().Before(h.answered.Add(per)) {
						inUse++
					}
				}
				release, ok := l.try(General)
				if want := inUse < allowed; ok != want {
					rt.Fatalf("try() with %d of %d in use = %v; want %v", inUse, allowed, ok, want)
				}
				if ok {
					log = append(log, &held{release: release})
				}
			case 2:
				for _, h := range log {
					if h.answered.IsZero() {
						h.release(false)
						h.answered = fc.Now()
						break
					}
				}
			}
		}
	})
}
