package opencals

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBackoffCeiling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		backoff Backoff
		retry   int
		want    time.Duration
	}{
		{name: "default first", backoff: Backoff{}, retry: 1, want: 500 * time.Millisecond},
		{name: "default second", backoff: Backoff{}, retry: 2, want: time.Second},
		{name: "default third", backoff: Backoff{}, retry: 3, want: 2 * time.Second},
		{name: "default sixth", backoff: Backoff{}, retry: 6, want: 16 * time.Second},
		{name: "default capped", backoff: Backoff{}, retry: 7, want: 30 * time.Second},
		{name: "default far", backoff: Backoff{}, retry: 500, want: 30 * time.Second},
		{name: "zero retry", backoff: Backoff{}, retry: 0, want: 500 * time.Millisecond},
		{
			name:    "custom",
			backoff: Backoff{Base: 100 * time.Millisecond, Cap: time.Second},
			retry:   4, want: 800 * time.Millisecond,
		},
		{
			name:    "custom capped",
			backoff: Backoff{Base: 100 * time.Millisecond, Cap: time.Second},
			retry:   5, want: time.Second,
		},
	}
	for _, tt := range tests {
		if got := tt.backoff.Ceiling(tt.retry); got != tt.want {
			t.Errorf("%s: %+v.Ceiling(%d) = %v; want %v",
				tt.name, tt.backoff, tt.retry, got, tt.want)
		}
	}
}

// TestBackoffDelayIsFullJitter pins the jitter: every draw lies in
// [0, Ceiling(n)], and draws cover the whole range rather than clustering
// near the ceiling (equal jitter) or sitting on it (no jitter).
func TestBackoffDelayIsFullJitter(t *testing.T) {
	t.Parallel()
	b := Backoff{}
	r := rand.New(rand.NewPCG(1, 2))
	for retry := 1; retry <= 8; retry++ {
		ceiling := b.Ceiling(retry)
		var low, high int
		for range 1000 {
			d := b.Delay(retry, r)
			if d < 0 || d > ceiling {
				t.Fatalf("Delay(%d) = %v; want within [0, %v]", retry, d, ceiling)
			}
			switch {
			case d < ceiling/4:
				low++
			case d > ceiling*3/4:
				high++
			}
		}
		if low < 150 || high < 150 {
			t.Errorf("Delay(%d): %d draws in the lowest quarter, %d in the highest; "+
				"want about 250 each", retry, low, high)
		}
	}
}

func TestBackoffDelayIsReproducible(t *testing.T) {
	t.Parallel()
	draw := func() []time.Duration {
		r := rand.New(rand.NewPCG(7, 7))
		var out []time.Duration
		for n := 1; n <= 5; n++ {
			out = append(out, Backoff{}.Delay(n, r))
		}
		return out
	}
	a, b := draw(), draw()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draws with the same seed differ: %v vs %v", a, b)
		}
	}
}
