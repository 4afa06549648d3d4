package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/event"
)

// TestCheckWritableSeesAFullDisk: a write that needs room the file cannot
// get fails readiness for a while, although the no-op probe itself still
// succeeds (it needs no new page).
func TestCheckWritableSeesAFullDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(t0)
	db := openTest(t, Options{Clock: clock})
	if err := db.CheckWritable(ctx); err != nil {
		t.Fatalf("CheckWritable() on a fresh database = %v", err)
	}

	// The writer is one connection: cap its file at the pages it has.
	var pages int
	if err := db.w.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.w.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages)); err != nil {
		t.Fatal(err)
	}
	big := event.Event{ID: "evt_big", Type: event.OrderPaid, StoreID: "s1", CustomerID: "c1",
		ResourceID: "o1", Data: event.Data{Object: []byte(`{"pad":"` + strings.Repeat("x", 64<<10) + `"}`)}}
	if _, err := db.InsertEvents(ctx, []event.Event{big}); err == nil {
		t.Fatal("InsertEvents() past max_page_count succeeded; the test cannot simulate a full disk")
	}
	err := db.CheckWritable(ctx)
	if err == nil || !strings.Contains(err.Error(), "full") {
		t.Errorf("CheckWritable() after a failed write = %v; want the full database named", err)
	}

	// Room again: writes work, and readiness returns once the last
	// failure is storageFailureHold old (small writes also work on a full
	// disk, so one success proves nothing).
	if _, err := db.w.ExecContext(ctx, "PRAGMA max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.InsertEvents(ctx, []event.Event{big}); err != nil {
		t.Fatalf("InsertEvents() with room = %v", err)
	}
	clock.Advance(storageFailureHold - time.Second)
	if err := db.CheckWritable(ctx); err == nil {
		t.Error("CheckWritable() within the hold after a failure = nil; want the failure")
	}
	clock.Advance(time.Second)
	if err := db.CheckWritable(ctx); err != nil {
		t.Errorf("CheckWritable() after the hold = %v", err)
	}
}
