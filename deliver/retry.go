package deliver

import "time"

// RetryPolicy says when a failed delivery is tried again.
//
// The first attempt is made at once. After the nth failed attempt the next
// one waits Schedule[n-1] (the last entry repeats), scaled by full jitter:
// the wait is drawn uniformly from [0, step), so endpoints that failed
// together do not retry together. The default schedule:
//
//	attempt  2: within  5 s of the 1st failing
//	attempt  3: within  5 min
//	attempt  4: within 30 min
//	attempt  5: within  2 h
//	attempt  6: within  5 h
//	attempt  7: within 10 h
//	attempt  8: within 10 h
//	attempt  9 and on: within 12 h each
//
// A Retry-After from the endpoint (429, 503) is a floor on the wait. The
// retry window, counted from the first attempt, bounds it all: the last
// attempt is made at the end of the window at the latest, and a delivery
// that fails then is failed for good (a dead letter, until resent).
type RetryPolicy struct {
	// Schedule holds the steps; empty means DefaultSchedule.
	Schedule []time.Duration
}

// DefaultSchedule is the schedule documented on RetryPolicy.
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 10 * time.Hour, 12 * time.Hour,
}

// Step is the un-jittered wait after the given number of failed attempts
// (from 1).
func (p RetryPolicy) Step(failures int) time.Duration {
	s := p.Schedule
	if len(s) == 0 {
		s = DefaultSchedule
	}
	i := min(max(failures, 1), len(s)) - 1
	return s[i]
}

// Delay is the wait after the given number of failed attempts: the step
// scaled by jitter, a number in [0, 1) from the caller's random source,
// and at least retryAfter.
func (p RetryPolicy) Delay(failures int, jitter float64, retryAfter time.Duration) time.Duration {
	jitter = min(max(jitter, 0), 1)
	d := time.Duration(float64(p.Step(failures)) * jitter)
	return max(d, retryAfter)
}

// Next decides what follows failed attempt number failures, which ended at
// now, of a delivery first attempted at firstAttempt: the time of the next
// attempt, or ok false when the window is over and the delivery is failed
// for good.
func (p RetryPolicy) Next(failures int, jitter float64, retryAfter time.Duration,
	firstAttempt, now time.Time, window time.Duration,
) (next time.Time, ok bool) {
	deadline := firstAttempt.Add(window)
	if !now.Before(deadline) {
		return time.Time{}, false
	}
	next = now.Add(p.Delay(failures, jitter, retryAfter))
	if next.After(deadline) {
		next = deadline
	}
	return next, true
}
