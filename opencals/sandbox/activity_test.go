package sandbox

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
)

// runSteps seeds a sandbox and runs n activity steps, one every two
// seconds of fake time, and returns the change log.
func runSteps(t *testing.T, seed int64, n int) []Change {
	t.Helper()
	clock := clockwork.NewFakeClockAt(testStart)
	s, err := New(Config{Customers: 3, Seed: seed, Clock: clock})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0xac7))
	for range n {
		s.activityStep(rng)
		clock.Advance(2 * time.Second)
	}
	return s.Changes(0)
}

func TestActivityIsDeterministic(t *testing.T) {
	t.Parallel()
	a, b := runSteps(t, 7, 300), runSteps(t, 7, 300)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different changes (-first +second):\n%s", diff)
	}
	if other := runSteps(t, 8, 300); cmp.Equal(a, other) {
		t.Error("seeds 7 and 8 gave the same changes; want different")
	}
}

func TestActivityMix(t *testing.T) {
	t.Parallel()
	changes := runSteps(t, 3, 400)
	count := map[string]int{}
	var short, fullRefunds, partialRefunds int
	booked := map[string]int64{}
	for _, c := range changes {
		count[c.Kind]++
		switch c.Kind {
		case KindBooked:
			booked[c.OrderID] = c.Amount
			if c.From.Sub(c.At) <= 15*time.Second && c.To.Sub(c.From) <= time.Minute {
				short++
			}
		case KindRefunded:
			if c.Amount == booked[c.OrderID] {
				fullRefunds++
			} else {
				partialRefunds++
			}
		}
	}
	for _, kind := range []string{KindHold, KindBooked, KindPaid, KindAddOn, KindCanceled,
		KindRescheduled, KindRefunded, KindCompleted} {
		if count[kind] == 0 {
			t.Errorf("400 steps made no %q change; want some (counts %v)", kind, count)
		}
	}
	if short == 0 || fullRefunds == 0 || partialRefunds == 0 {
		t.Errorf("%d short bookings, %d full and %d partial refunds; want some of each",
			short, fullRefunds, partialRefunds)
	}
}

func TestRunActivity(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(testStart)
	s, err := New(Config{Customers: 2, Clock: clock})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	steps := make(chan struct{}, 1)
	s.stepHook = func() { steps <- struct{}{} }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.RunActivity(ctx, time.Second)
	for i := range 3 {
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatalf("waiting for the ticker: %v", err)
		}
		clock.Advance(time.Second)
		select {
		case <-steps:
		case <-ctx.Done():
			t.Fatalf("step %d never ran", i)
		}
	}
	if got := len(s.Changes(0)); got < 3 {
		t.Errorf("3 steps recorded %d changes; want at least 3", got)
	}
	if err := s.Close(); err != nil { // stops the loop and waits for it
		t.Errorf("Close() = %v", err)
	}
	s.RunActivity(ctx, time.Second) // after Close: does nothing
}
