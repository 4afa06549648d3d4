package daemon

import (
	"strings"
	"testing"
	"time"
)

func TestHealthFacts(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	healthy := healthFacts{now: now, started: now.Add(-time.Hour), resolved: true, polling: true,
		lastTick: now.Add(-time.Second), lastSuccess: now.Add(-time.Minute), active: true,
		limit: 2 * time.Hour}
	tests := []struct {
		name    string
		change  func(*healthFacts)
		wantErr string
	}{
		{name: "healthy", change: func(*healthFacts) {}},
		{name: "store id pending at start", change: func(f *healthFacts) {
			f.resolved, f.started = false, now.Add(-30*time.Second)
		}},
		{name: "store id never found", change: func(f *healthFacts) { f.resolved = false },
			wantErr: "store id still unknown"},
		{name: "scheduler stopped", change: func(f *healthFacts) { f.lastTick = now.Add(-2 * time.Minute) },
			wantErr: "scheduler not ticking"},
		{name: "webhook mode does not poll", change: func(f *healthFacts) {
			f.polling, f.lastSuccess = false, now.Add(-24*time.Hour)
		}},
		{name: "customer overdue", change: func(f *healthFacts) { f.oldestDue = now.Add(-3 * time.Hour) },
			wantErr: "a customer is overdue by 3h0m0s"},
		{name: "customer due within the limit", change: func(f *healthFacts) { f.oldestDue = now.Add(-time.Hour) }},
		{name: "every look failing", change: func(f *healthFacts) { f.lastSuccess = now.Add(-3 * time.Hour) },
			wantErr: "no successful look for 3h0m0s"},
		{name: "nothing succeeded since start", change: func(f *healthFacts) {
			f.lastSuccess, f.started = time.Time{}, now.Add(-3*time.Hour)
		}, wantErr: "no successful look"},
		{name: "no customers to look at", change: func(f *healthFacts) {
			f.lastSuccess, f.active = time.Time{}, false
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := healthy
			tt.change(&f)
			err := f.check()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("check() = %v; want %q", err, tt.wantErr)
			}
		})
	}
}
