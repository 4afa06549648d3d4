//go:build faults

package faults

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// settle waits, once the activity has stopped, until the receiver holds
// everything the oracle requires and the outbox has nothing left to
// deliver, or until within has passed. The daemon keeps running.
func (w *world) settle(start Start, since int64, opts Options, within time.Duration) *Oracle {
	w.t.Helper()
	o := NewOracle(start, w.sb.changes(w.t, since))
	deadline := time.Now().Add(within)
	for {
		opts.Now = time.Now()
		v := Judge(o, opts, w.recv.Deliveries(), nil)
		if len(v.Missing) == 0 && w.pendingDeliveries() == 0 {
			return o
		}
		if time.Now().After(deadline) {
			w.t.Logf("%s: still %d events missing and %d deliveries pending after %s",
				w.name, len(v.Missing), w.pendingDeliveries(), within)
			return o
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// finish stops the daemon (SIGTERM), checks its exit and its database,
// judges what was delivered, and reports it all. since is the last change
// before the activity.
func (w *world) finish(o *Oracle, opts Options, since int64) Verdict {
	w.t.Helper()
	code := w.stopDaemon()
	w.customerRows() // the last tokens, for the secrets check
	opts.Now = time.Now()
	v := Judge(o, opts, w.recv.Deliveries(), w.outbox())
	w.dumpBodies()

	r, name := w.s.report, w.name
	r.Info(name, "changes in the sandbox's log", len(w.sb.changes(w.t, since)))
	r.Info(name, "events required", len(v.Must))
	r.Info(name, "events delivered (distinct ids)", v.Distinct)
	r.Zero(name, "missing events", len(v.Missing))
	r.Zero(name, "conflicting payloads for one id", len(v.Conflicting))
	r.Info(name, "duplicate deliveries (allowed)", v.Duplicates)
	r.Zero(name, "wrong events (no change explains them)", len(v.Unexplained))
	r.Zero(name, "deliveries out of per-resource order", len(v.OutOfOrder))
	r.Zero(name, "rejected deliveries (bad signature)", w.recv.Rejected())
	r.Equal(name, "daemon exit status on SIGTERM", code, 0)
	r.Equal(name, "PRAGMA integrity_check", integrity(w.t, w.conf.Database), "ok")
	r.Zero(name, "data races reported by the daemon", w.countLogLines("DATA RACE"))

	if len(v.Missing) > 0 {
		w.t.Errorf("%d events missing; first: %s", len(v.Missing), list(v.Missing, 10))
	}
	if len(v.Conflicting) > 0 {
		w.t.Errorf("ids delivered with different bodies: %v", v.Conflicting)
	}
	if len(v.Unexplained) > 0 {
		w.t.Errorf("%d wrong events: %+v", len(v.Unexplained), v.Unexplained)
	}
	if len(v.OutOfOrder) > 0 {
		w.t.Errorf("events delivered before the previous event of their resource: %v",
			v.OutOfOrder)
	}
	if n := w.recv.Rejected(); n > 0 {
		w.t.Errorf("%d deliveries failed verification", n)
	}
	if code != 0 {
		w.t.Errorf("daemon exit status on SIGTERM = %d; want 0; see %s", code,
			filepath.Join(w.logs, "daemon-*.log"))
	}
	if got := integrity(w.t, w.conf.Database); got != "ok" {
		w.t.Errorf("PRAGMA integrity_check = %q; want ok", got)
	}
	if n := w.countLogLines("DATA RACE"); n > 0 {
		w.t.Errorf("the daemon reported %d data races; see %s", n, w.logs)
	}
	return v
}

func list[T fmt.Stringer](xs []T, max int) string {
	var parts []string
	for i, x := range xs {
		if i == max {
			parts = append(parts, fmt.Sprintf("… %d more", len(xs)-max))
			break
		}
		parts = append(parts, x.String())
	}
	return strings.Join(parts, "; ")
}
