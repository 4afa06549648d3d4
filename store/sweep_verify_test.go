package store

import (
	"context"
	"testing"
	"time"
)

func TestSweepWaitsForTheVerifyingLook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	policy := DefaultPolicy()
	policy.VerifyLead, policy.VerifyGrace = 2*time.Minute, 10*time.Minute
	db := openTest(t, Options{Policy: &policy})
	addCustomer(t, db, "s1", "c1")
	end := t0.Add(time.Hour)
	apply(t, db, "s1", "c1", snapshot(t, "s1", "c1", []appt{booked("a1", end)}, nil), t0)
	record := func(at time.Time) {
		t.Helper()
		if err := db.RecordPoll(ctx, "s1", "c1", Poll{At: at, NextAt: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	sweep := func(at time.Time) int {
		t.Helper()
		res, err := db.SweepCompletions(ctx, "s1", at)
		if err != nil {
			t.Fatalf("SweepCompletions() = %v", err)
		}
		return len(res.Events)
	}
	tests := []struct {
		name       string
		lastLook   time.Time
		sweepAt    time.Time
		wantEvents int
	}{
		{name: "last look too early", lastLook: end.Add(-5 * time.Minute), sweepAt: end.Add(time.Minute)},
		{name: "verified within the lead", lastLook: end.Add(-time.Minute),
			sweepAt: end.Add(time.Minute), wantEvents: 1},
	}
	for _, tt := range tests {
		record(tt.lastLook)
		if got := sweep(tt.sweepAt); got != tt.wantEvents {
			t.Errorf("%s: sweep = %d events; want %d", tt.name, got, tt.wantEvents)
		}
	}

	// A customer never verified is completed once the grace has passed.
	addCustomer(t, db, "s1", "c2")
	apply(t, db, "s1", "c2", snapshot(t, "s1", "c2", []appt{booked("a2", end)}, nil), t0)
	if got := sweep(end.Add(9 * time.Minute)); got != 0 {
		t.Errorf("sweep within the grace = %d events; want 0", got)
	}
	if got := sweep(end.Add(10 * time.Minute)); got != 1 {
		t.Errorf("sweep after the grace = %d events; want 1", got)
	}
}
