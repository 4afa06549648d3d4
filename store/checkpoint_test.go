package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/event"
)

// TestCheckpointerCopiesTheWALInTheBackground: commits never checkpoint,
// even past SQLite's automatic threshold (1,000 pages); the background loop
// does, within a tick. The database file only grows when pages are copied
// back from the WAL, so its size tells which happened.
func TestCheckpointerCopiesTheWALInTheBackground(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(t0)
	path := filepath.Join(t.TempDir(), "state.db")
	db := openAt(t, path, Options{Clock: clock})
	before := fileSize(t, path)

	// About 1,500 pages of events, in 20 commits.
	pad := strings.Repeat("x", 3000)
	for batch := range 20 {
		var evs []event.Event
		for i := range 100 {
			evs = append(evs, event.Event{ID: fmt.Sprintf("evt_%d_%d", batch, i),
				Type: event.OrderPaid, StoreID: "s1", CustomerID: "c1", ResourceID: "o1",
				Data: event.Data{Object: []byte(`{"id":"o1","pad":"` + pad + `"}`)}})
		}
		if _, err := db.InsertEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
	}
	if got := fileSize(t, path); got != before {
		t.Fatalf("database file grew from %d to %d bytes: a commit checkpointed", before, got)
	}

	if err := clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(checkpointEvery)
	deadline := time.Now().Add(5 * time.Second)
	for fileSize(t, path) < before+4<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("database file is %d bytes a tick later; want the WAL copied back",
				fileSize(t, path))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
