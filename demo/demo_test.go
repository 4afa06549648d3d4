package demo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/internal/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// eventTypes counts the events in --events-out lines by type.
func eventTypes(t *testing.T, lines []byte) map[event.Type]int {
	t.Helper()
	seen := make(map[event.Type]int)
	sc := bufio.NewScanner(bytes.NewReader(lines))
	for sc.Scan() {
		var ev event.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("events-out line is not an event: %v: %s", err, sc.Text())
		}
		seen[ev.Type]++
	}
	return seen
}

// TestDemoShowsEverySixTypes runs the demo as `demo --events-out` does
// until every type has been received and verified, well within a minute.
func TestDemoShowsEverySixTypes(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	events, out := &testutil.Buffer{}, &testutil.Buffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Data: data, EventsOut: events, Out: out, Logs: out,
			Activity: 300 * time.Millisecond, Seed: 42, Version: "test"})
	}()

	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for len(eventTypes(t, events.Bytes())) < len(event.Types) {
		select {
		case err := <-done:
			t.Fatalf("demo ended early: %v; output:\n%s", err, out.String())
		case <-ticker.C:
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "state.db")); err != nil {
		t.Errorf("--data kept no database: %v", err)
	}
	t.Logf("received %v", eventTypes(t, events.Bytes()))
}

func TestDemoRemovesItsTemporaryDirectory(t *testing.T) {
	t.Parallel()
	dir, cleanup, err := dataDir("")
	if err != nil {
		t.Fatal(err)
	}
	if err := cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("temporary directory %s still exists (%v)", dir, err)
	}
}
