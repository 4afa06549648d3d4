package sandbox

import (
	"time"
)

// The sandbox serves one store and accepts one API key, so its two windows
// are that key's budgets.
// TODO: the password-reset (5/hour) and registration (10/minute) budgets
// are not enforced: the sandbox serves neither endpoint.

// window is a sliding-window log: at most limit.Requests requests in any
// interval of limit.Per. Refused requests are not logged, so a client that
// waits Retry-After always gets through.
type window struct {
	limit Limit
	log   []time.Time
}

// allow admits a request at now, or says how long until one would be.
func (w *window) allow(now time.Time) (bool, time.Duration) {
	if w.limit.Requests < 0 {
		return true, 0
	}
	start := now.Add(-w.limit.Per)
	i := 0
	for i < len(w.log) && !w.log[i].After(start) {
		i++
	}
	w.log = w.log[i:]
	if len(w.log) < w.limit.Requests {
		w.log = append(w.log, now)
		return true, 0
	}
	// The request that frees a slot is the one Requests places back.
	return false, w.log[len(w.log)-w.limit.Requests].Add(w.limit.Per).Sub(now)
}

// retryAfterSeconds rounds a wait up to whole seconds, at least one, as
// the Retry-After header carries it.
func retryAfterSeconds(d time.Duration) int {
	secs := int((d + time.Second - 1) / time.Second)
	return max(secs, 1)
}
