//go:build faults

package faults

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// apiPhase is one stretch of the API-faults scenario: what the sandbox
// does wrong, and what the metrics must show for it.
type apiPhase struct {
	name   string
	faults apiFaults
	// storm keeps another client of the key spending its whole budget.
	storm bool
	// longer runs the phase twice as long: looks slow down a lot.
	longer bool
	// shows is the metric that must move, as a report row.
	shows func(w *world, before, after metrics, stats statsDelta) (check string, value any,
		want string, ok bool)
}

// statsDelta is what the sandbox counted during a phase.
type statsDelta struct{ faults int }

func metricDelta(before, after metrics, name string, keep func(map[string]string) bool) float64 {
	return after.sum(name, keep) - before.sum(name, keep)
}

func status5xx(l map[string]string) bool { return strings.HasPrefix(l["status"], "5") }

var apiPhases = []apiPhase{
	{name: "30% 5xx", faults: apiFaults{ErrorRate: 0.3},
		shows: func(_ *world, b, a metrics, _ statsDelta) (string, any, string, bool) {
			n := metricDelta(b, a, "opencals_sync_api_requests_total", status5xx)
			return "5xx answers counted (api_requests_total)", n, "> 0", n > 0
		}},
	{name: "2s latency", faults: apiFaults{Latency: "2s"},
		shows: func(_ *world, b, a metrics, _ statsDelta) (string, any, string, bool) {
			sum := metricDelta(b, a, "opencals_sync_api_request_duration_seconds_sum", nil)
			n := metricDelta(b, a, "opencals_sync_api_request_duration_seconds_count", nil)
			mean := sum / max(n, 1)
			// Requests already in flight when the phase began were fast.
			return "mean API latency in the phase (s, api_request_duration)",
				fmt.Sprintf("%.2f", mean), ">= 1.8", mean >= 1.8
		}},
	{name: "malformed and truncated bodies",
		faults: apiFaults{MalformedRate: 0.4, TruncateRate: 0.4},
		shows: func(w *world, b, a metrics, _ statsDelta) (string, any, string, bool) {
			n := metricDelta(b, a, "opencals_sync_polls_total", label("outcome", "error"))
			return "looks failed on bad bodies (polls_total outcome=error)", n, "> 0", n > 0
		}},
	{name: "items shifting between pages", faults: apiFaults{ShiftRate: 0.8},
		shows: func(_ *world, _, _ metrics, st statsDelta) (string, any, string, bool) {
			return "page shifts injected under a look (sandbox stats)", st.faults, "> 0",
				st.faults > 0
		}},
	{name: "all at once", longer: true, faults: apiFaults{ErrorRate: 0.3, Latency: "2s",
		MalformedRate: 0.1, TruncateRate: 0.1, ShiftRate: 0.5},
		shows: func(_ *world, b, a metrics, _ statsDelta) (string, any, string, bool) {
			n := metricDelta(b, a, "opencals_sync_polls_total", label("outcome", "ok"))
			return "looks that succeeded with every fault on", n, "> 0", n > 0
		}},
	// Last: the key's window takes a while to clear afterwards.
	{name: "429 storm", storm: true,
		shows: func(_ *world, b, a metrics, _ statsDelta) (string, any, string, bool) {
			n := metricDelta(b, a, "opencals_sync_api_requests_total", label("status", "429"))
			return "429 answers counted (api_requests_total)", n, "> 0", n > 0
		}},
}

// testAPIFaults runs the daemon through phases of API misbehaviour, with
// two customers' tokens revoked from the start and two others holding more
// than a page of items (so that pages can shift): the daemon must keep
// running, keep syncing the healthy customers, show each fault in its
// metrics, and deliver no event the change log does not explain.
func testAPIFaults(t *testing.T, s *suite) {
	phaseFor := time.Duration(s.scaled(20, 12)) * time.Second
	w := newWorld(t, s, "api_faults", worldOptions{customers: 8, tokenTTL: 30 * time.Second,
		requests: 300, per: 30 * time.Second})
	for _, c := range w.customers[:2] {
		w.bookPages(c.ID, 110)
	}
	w.registerAll()
	w.startDaemon()
	w.waitBaselined(time.Minute)
	admin := w.adminURL()
	since := w.sb.startActivity(t, 400*time.Millisecond)
	start := w.startState()

	revoked := map[string]bool{}
	for _, c := range w.customers[len(w.customers)-2:] {
		w.sb.revoke(t, c.ID)
		revoked[c.ID] = true
	}
	synced := map[string]bool{}
	last := w.successes()
	for _, p := range apiPhases {
		w.runPhase(p, admin, phaseFor)
		now := w.successes()
		for id, at := range now {
			if !revoked[id] && at.After(last[id]) {
				synced[id] = true
			}
		}
		last = now
	}
	w.sb.setFaults(t, apiFaults{})
	eventually(t, 2*time.Minute, "readiness after the faults", func() bool {
		code, _ := readyz(admin)
		return code == 200
	})
	final := w.scrape(admin)
	stopped := w.sb.stopActivity(t)
	opts := Options{CompletedBy: stopped.At, Unobservable: revoked}
	o := w.settle(start, since, opts, 2*time.Minute)
	w.finish(o, opts, since)

	reauth := final.sum("opencals_sync_customers", label("state", "needs_reauth"))
	errs := final.sum("opencals_sync_polls_total", label("outcome", "error"))
	s.report.Equal(w.name, "customers{state=needs_reauth} (2 revoked)", reauth, 2)
	s.report.Check(w.name, "failed looks counted (polls_total outcome=error)", errs, "> 0",
		errs > 0)
	s.report.Equal(w.name, "healthy customers that synced during the faults", len(synced),
		len(w.customers)-len(revoked))
	if reauth != 2 || errs == 0 || len(synced) != len(w.customers)-len(revoked) {
		t.Errorf("needs_reauth = %v, failed looks = %v, healthy customers synced = %d; "+
			"want 2, > 0, %d", reauth, errs, len(synced), len(w.customers)-len(revoked))
	}
}

// bookPages gives a customer n more bookings, weeks ahead, so that its
// listings span pages and can shift while read.
func (w *world) bookPages(customerID string, n int) {
	w.t.Helper()
	from := time.Now().UTC().Add(40 * 24 * time.Hour).Truncate(time.Hour)
	for i := range n {
		at := from.Add(time.Duration(i) * time.Hour)
		w.sb.book(w.t, customerID, at, at.Add(30*time.Minute))
	}
}

// successes maps customers to their last successful look.
func (w *world) successes() map[string]time.Time {
	out := map[string]time.Time{}
	for _, c := range w.customerRows() {
		out[c.ID] = c.LastSuccess
	}
	return out
}

// runPhase turns one phase's faults on for d, then reports what the
// metrics showed and whether the daemon still runs.
func (w *world) runPhase(p apiPhase, admin string, d time.Duration) {
	w.t.Helper()
	before, stats := w.scrape(admin), w.sb.stats(w.t)
	w.sb.setFaults(w.t, p.faults)
	if p.longer {
		d *= 2
	}
	end := time.Now().Add(d)
	burnt := 0
	for time.Now().Before(end) {
		if p.storm {
			burnt += w.sb.burn(1000)
		}
		<-time.After(250 * time.Millisecond)
	}
	w.sb.setFaults(w.t, apiFaults{})
	after, statsAfter := w.scrape(admin), w.sb.stats(w.t)
	delta := statsDelta{faults: statsAfter.Faults - stats.Faults}
	check, value, want, ok := p.shows(w, before, after, delta)
	w.s.report.Check(w.name, p.name+": "+check, value, want, ok)
	w.s.report.Check(w.name, p.name+": daemon still running", w.daemon.running(), "true",
		w.daemon.running())
	if !ok || !w.daemon.running() {
		w.t.Errorf("phase %q: %s = %v (want %s), daemon running %v", p.name, check, value, want,
			w.daemon.running())
	}
	if p.storm {
		w.s.report.Info(w.name, p.name+": requests another client made", burnt)
	}
}
