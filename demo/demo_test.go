package demo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/opencals-sync/opencals-sync/event"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// lockedBuffer collects what the demo writes from several goroutines.
type lockedBuffer struct {
	mu  gosync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) types(t *testing.T) map[event.Type]int {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := make(map[event.Type]int)
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
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
	events, out := &lockedBuffer{}, &lockedBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Data: data, EventsOut: events, Out: out, Logs: out,
			Activity: 300 * time.Millisecond, Seed: 42, Version: "test"})
	}()

	ticker := time.NewTicker(200 * time.Millisecond)
	defer ticker.Stop()
	for len(events.types(t)) < len(event.Types) {
		select {
		case err := <-done:
			t.Fatalf("demo ended early: %v; output:\n%s", err, out.buf.String())
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
	t.Logf("received %v", events.types(t))
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
