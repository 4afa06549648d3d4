package deliver

import (
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
)

func TestDefaultScheduleSteps(t *testing.T) {
	t.Parallel()
	want := []time.Duration{
		5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
		10 * time.Hour, 10 * time.Hour, 12 * time.Hour, 12 * time.Hour, 12 * time.Hour,
	}
	var p RetryPolicy
	for i, w := range want {
		if got := p.Step(i + 1); got != w {
			t.Errorf("Step(%d) = %s; want %s", i+1, got, w)
		}
	}
}

func TestDelayIsFullJitterWithAFloor(t *testing.T) {
	t.Parallel()
	var p RetryPolicy
	tests := []struct {
		name       string
		failures   int
		jitter     float64
		retryAfter time.Duration
		want       time.Duration
	}{
		{name: "no jitter draws zero", failures: 2, jitter: 0, want: 0},
		{name: "half", failures: 2, jitter: 0.5, want: 150 * time.Second},
		{name: "almost the step", failures: 1, jitter: 0.999, want: 4995 * time.Millisecond},
		{name: "retry-after floor wins", failures: 1, jitter: 0.5,
			retryAfter: time.Minute, want: time.Minute},
		{name: "jitter wins over small floor", failures: 3, jitter: 0.5,
			retryAfter: time.Minute, want: 15 * time.Minute},
		{name: "out of range jitter clamped", failures: 1, jitter: 7, want: 5 * time.Second},
	}
	for _, tt := range tests {
		if got := p.Delay(tt.failures, tt.jitter, tt.retryAfter); got != tt.want {
			t.Errorf("Delay(%s) = %s; want %s", tt.name, got, tt.want)
		}
	}
}

func TestNextStopsAtTheWindow(t *testing.T) {
	t.Parallel()
	var p RetryPolicy
	first := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	window := 72 * time.Hour
	tests := []struct {
		name     string
		failures int
		now      time.Time
		wantNext time.Time
		wantOK   bool
	}{
		{name: "early", failures: 1, now: first, wantNext: first.Add(2500 * time.Millisecond),
			wantOK: true},
		{name: "clamped to the window's end", failures: 9, now: first.Add(70 * time.Hour),
			wantNext: first.Add(window), wantOK: true},
		{name: "at the end", failures: 10, now: first.Add(window)},
		{name: "after the end", failures: 10, now: first.Add(window + time.Second)},
	}
	for _, tt := range tests {
		next, ok := p.Next(tt.failures, 0.5, 0, first, tt.now, window)
		if !next.Equal(tt.wantNext) || ok != tt.wantOK {
			t.Errorf("Next(%s) = %v, %v; want %v, %v", tt.name, next, ok, tt.wantNext, tt.wantOK)
		}
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		patterns []string
		want     []event.Type
	}{
		{name: "none accepts all", want: event.Types},
		{name: "exact", patterns: []string{"order.paid"}, want: []event.Type{event.OrderPaid}},
		{name: "glob", patterns: []string{"appointment.*"}, want: []event.Type{
			event.AppointmentCreated, event.AppointmentCanceled, event.AppointmentRescheduled,
			event.AppointmentCompleted,
		}},
		{name: "glob and exact", patterns: []string{"order.*", "appointment.created"},
			want: []event.Type{event.AppointmentCreated, event.OrderPaid, event.OrderRefunded}},
		{name: "class", patterns: []string{"order.[pr]*"},
			want: []event.Type{event.OrderPaid, event.OrderRefunded}},
	}
	for _, tt := range tests {
		f, err := NewFilter(tt.patterns)
		if err != nil {
			t.Fatalf("NewFilter(%v) = %v", tt.patterns, err)
		}
		got := f.Types()
		if len(got) != len(tt.want) {
			t.Errorf("Filter(%s).Types() = %v; want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("Filter(%s).Types() = %v; want %v", tt.name, got, tt.want)
				break
			}
		}
	}
	if _, err := NewFilter([]string{"order.[paid"}); err == nil {
		t.Errorf("NewFilter(bad glob) = nil error; want one")
	}
}
