package sync

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func testPlan() Plan {
	return Plan{
		Interval: 15 * time.Minute,
		MaxAge:   time.Hour,
		Tiers: []Tier{
			{Name: "imminent", BoundaryWithin: 2 * time.Hour, Interval: time.Minute},
			{Name: "recent", ChangedWithin: 24 * time.Hour, Interval: 5 * time.Minute},
		},
		Verify: true,
		Lead:   2 * time.Minute,
	}
}

func TestTierAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		view         CustomerView
		wantTier     string
		wantInterval time.Duration
	}{
		{name: "dormant", view: CustomerView{}, wantTier: "default", wantInterval: 15 * time.Minute},
		{name: "boundary soon", view: CustomerView{NextBoundary: t0.Add(90 * time.Minute)},
			wantTier: "imminent", wantInterval: time.Minute},
		{name: "boundary later", view: CustomerView{NextBoundary: t0.Add(3 * time.Hour)},
			wantTier: "default", wantInterval: 15 * time.Minute},
		{name: "boundary passed", view: CustomerView{NextBoundary: t0.Add(-time.Minute)},
			wantTier: "default", wantInterval: 15 * time.Minute},
		{name: "recent change", view: CustomerView{LastChange: t0.Add(-23 * time.Hour)},
			wantTier: "recent", wantInterval: 5 * time.Minute},
		{name: "old change", view: CustomerView{LastChange: t0.Add(-25 * time.Hour)},
			wantTier: "default", wantInterval: 15 * time.Minute},
		{name: "first tier wins", view: CustomerView{
			NextBoundary: t0.Add(time.Hour), LastChange: t0.Add(-time.Hour)},
			wantTier: "imminent", wantInterval: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tier, interval := testPlan().TierAt(tt.view, t0)
			if tier != tt.wantTier || interval != tt.wantInterval {
				t.Errorf("TierAt() = %s, %s; want %s, %s", tier, interval, tt.wantTier, tt.wantInterval)
			}
		})
	}
}

func TestTierNeverSlowerThanInterval(t *testing.T) {
	t.Parallel()
	p := testPlan()
	p.Interval = 30 * time.Second // shorter than the recent tier's 5m
	if _, got := p.TierAt(CustomerView{LastChange: t0.Add(-time.Hour)}, t0); got != 30*time.Second {
		t.Errorf("TierAt(recent) interval = %s; want sync.interval 30s", got)
	}
}

func TestTierAtCapsAtMaxAge(t *testing.T) {
	t.Parallel()
	p := testPlan()
	p.Interval = 3 * time.Hour
	if _, got := p.TierAt(CustomerView{}, t0); got != time.Hour {
		t.Errorf("TierAt() interval = %s; want max age 1h", got)
	}
}

func TestNextPoll(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		view    CustomerView
		stretch float64
		want    time.Time
	}{
		{name: "never polled is due now", view: CustomerView{}, stretch: 1, want: t0},
		{name: "dormant", view: CustomerView{LastPoll: t0}, stretch: 1, want: t0.Add(15 * time.Minute)},
		{name: "stretched", view: CustomerView{LastPoll: t0}, stretch: 2, want: t0.Add(30 * time.Minute)},
		{name: "boundary window opens before the dormant interval ends",
			view: CustomerView{LastPoll: t0, NextBoundary: t0.Add(2*time.Hour + 5*time.Minute)},
			// The verify look (boundary - 2m) is later; the window opens at +5m.
			stretch: 1, want: t0.Add(5 * time.Minute)},
		{name: "inside the window",
			view:    CustomerView{LastPoll: t0, NextBoundary: t0.Add(30 * time.Minute)},
			stretch: 1, want: t0.Add(time.Minute)},
		{name: "verify before the boundary",
			view: CustomerView{LastPoll: t0, NextBoundary: t0.Add(3 * time.Minute)},
			// The imminent tier (+1m) and the verify look (+3m-2m) agree.
			stretch: 1, want: t0.Add(time.Minute)},
		{name: "verify when stretched",
			view:    CustomerView{LastPoll: t0, NextBoundary: t0.Add(10 * time.Minute)},
			stretch: 20, want: t0.Add(8 * time.Minute)},
		{name: "no second verify once close",
			view:    CustomerView{LastPoll: t0, NextBoundary: t0.Add(90 * time.Second)},
			stretch: 20, want: t0.Add(20 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := testPlan().NextPoll(tt.view, t0, tt.stretch); !got.Equal(tt.want) {
				t.Errorf("NextPoll() = +%s; want +%s", got.Sub(t0), tt.want.Sub(t0))
			}
		})
	}
}

func TestDemandAndStretch(t *testing.T) {
	t.Parallel()
	p := testPlan()
	views := make([]CustomerView, 900) // dormant: 900 looks per 15 min = 1 look/s
	views = append(views, make([]CustomerView, 100)...)
	for i := 900; i < 1000; i++ {
		views[i].LastChange = t0.Add(-time.Hour) // recent: 100 per 5 min
	}
	demand := p.Demand(views, t0, 2)
	want := 2 * (900.0/900 + 100.0/300)
	if diff := demand - want; diff > 1e-9 || diff < -1e-9 {
		t.Fatalf("Demand() = %v; want %v", demand, want)
	}
	if got := Stretch(demand, 1.5); got < 1.77 || got > 1.78 {
		t.Errorf("Stretch(%v, 1.5) = %v; want %v", demand, got, demand/1.5)
	}
	if got := Stretch(1, 1.5); got != 1 {
		t.Errorf("Stretch under budget = %v; want 1", got)
	}
}
