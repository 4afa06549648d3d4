package opencals

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Default retry schedule.
const (
	DefaultBackoffBase = 500 * time.Millisecond
	DefaultBackoffCap  = 30 * time.Second
)

// Backoff is the retry schedule: exponential with full jitter. Before retry
// n (n = 1 after the first failed attempt) the client waits a duration drawn
// uniformly from [0, min(Cap, Base·2^(n-1))]. With the defaults (Base 500ms,
// Cap 30s) the ceilings are 0.5s, 1s, 2s, 4s, …, 16s, then 30s. Full jitter
// spreads the retries of many goroutines that failed together, so they do
// not hit a recovering server in lockstep. Zero fields take the defaults.
type Backoff struct {
	Base time.Duration
	Cap  time.Duration
}

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = DefaultBackoffBase
	}
	if b.Cap <= 0 {
		b.Cap = DefaultBackoffCap
	}
	return b
}

// Ceiling is the longest wait before retry n (1-based): min(Cap,
// Base·2^(n-1)). The client also pauses for it, without jitter, after the
// n-th consecutive 429 that carried no Retry-After.
func (b Backoff) Ceiling(n int) time.Duration {
	b = b.withDefaults()
	d := b.Base
	for i := 1; i < n && d < b.Cap; i++ {
		d *= 2
	}
	return min(d, b.Cap)
}

// Delay draws the wait before retry n from [0, Ceiling(n)] using r.
func (b Backoff) Delay(n int, r *rand.Rand) time.Duration {
	return time.Duration(r.Int64N(int64(b.Ceiling(n)) + 1))
}

// lockedRand makes one *rand.Rand safe for the client's goroutines.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) delay(b Backoff, n int) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return b.Delay(n, l.r)
}
