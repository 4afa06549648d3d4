package config

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"

	"github.com/opencals-sync/opencals-sync/internal/testutil"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// watchBundle runs a Watcher on a fake clock over a real directory.
type watchBundle struct {
	path    string
	clock   *clockwork.FakeClock
	watcher *Watcher
	applied chan *Config
	logs    *testutil.Buffer
}

func startWatcher(t *testing.T, initial string) *watchBundle {
	t.Helper()
	dir := t.TempDir()
	b := &watchBundle{
		path:    filepath.Join(dir, "config.yaml"),
		clock:   clockwork.NewFakeClock(),
		applied: make(chan *Config, 10),
		logs:    &testutil.Buffer{},
	}
	writeFile(t, b.path, initial)
	logger := slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	load := func(p string) (*Config, error) { return Load(p, nil) }
	w, err := NewWatcher(b.path, []byte(initial), load,
		func(c *Config) { b.applied <- c }, logger)
	if err != nil {
		t.Fatal(err)
	}
	w.Clock = b.clock
	b.watcher = w

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.watcher.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
	return b
}

// settle waits until the watcher has armed its debounce timer for a file
// event, then fires it.
func (b *watchBundle) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatalf("the watcher never saw the file change: %v", err)
	}
	b.clock.Advance(time.Second)
}

func (b *watchBundle) wantApplied(t *testing.T, interval time.Duration) {
	t.Helper()
	select {
	case c := <-b.applied:
		if c.Sync.Interval != interval {
			t.Errorf("applied interval = %s; want %s", c.Sync.Interval, interval)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no config applied; logs:\n%s", b.logs)
	}
}

func (b *watchBundle) wantNothingApplied(t *testing.T) {
	t.Helper()
	select {
	case c := <-b.applied:
		t.Fatalf("applied %+v; want the edit rejected", c.Sync)
	default:
	}
}

func withInterval(d string) string { return minimal + "sync: {interval: " + d + "}\n" }

func TestWatcherAppliesValidEditsAndRejectsInvalidOnes(t *testing.T) {
	t.Parallel()
	b := startWatcher(t, withInterval("1m"))

	writeFile(t, b.path, withInterval("2m"))
	b.settle(t)
	b.wantApplied(t, 2*time.Minute)

	writeFile(t, b.path, withInterval("2s"))
	b.settle(t)
	waitForLog(t, b.logs, "config edit rejected")
	b.wantNothingApplied(t)
	if !strings.Contains(b.logs.String(), "sync.interval: must be at least 10s, got 2s") {
		t.Errorf("rejection does not name the key:\n%s", b.logs)
	}

	// An emptied file is invalid, not "all defaults".
	writeFile(t, b.path, "")
	b.settle(t)
	waitForLog(t, b.logs, "stores: at least one store is required")
	b.wantNothingApplied(t)

	writeFile(t, b.path, withInterval("3m"))
	b.settle(t)
	b.wantApplied(t, 3*time.Minute)
}

func TestWatcherSurvivesRenameAndReplace(t *testing.T) {
	t.Parallel()
	b := startWatcher(t, withInterval("1m"))
	for i, interval := range []string{"4m", "5m"} {
		// What vim and ConfigMap updates do: write elsewhere, rename over.
		tmp := filepath.Join(filepath.Dir(b.path), ".config.yaml.swp")
		writeFile(t, tmp, withInterval(interval))
		if err := os.Rename(tmp, b.path); err != nil {
			t.Fatal(err)
		}
		b.settle(t)
		b.wantApplied(t, time.Duration(4+i)*time.Minute)
	}
}

func TestWatcherDebouncesSplitWrites(t *testing.T) {
	t.Parallel()
	b := startWatcher(t, withInterval("1m"))

	// A truncate then a write, both inside one debounce window: only the
	// final content is loaded, once.
	writeFile(t, b.path, "")
	writeFile(t, b.path, withInterval("6m"))
	b.settle(t)
	b.wantApplied(t, 6*time.Minute)
	if strings.Contains(b.logs.String(), "rejected") {
		t.Errorf("the intermediate empty file was loaded:\n%s", b.logs)
	}
}

func TestWatcherIgnoresOtherFiles(t *testing.T) {
	t.Parallel()
	b := startWatcher(t, withInterval("1m"))
	writeFile(t, filepath.Join(filepath.Dir(b.path), "state.db-wal"), "noise")
	// Kubernetes swaps a "..data" symlink; that must count.
	writeFile(t, b.path, withInterval("7m"))
	writeFile(t, filepath.Join(filepath.Dir(b.path), "..data"), "swap")
	b.settle(t)
	b.wantApplied(t, 7*time.Minute)
	if strings.Contains(b.logs.String(), "state.db-wal") {
		t.Errorf("an unrelated file was considered:\n%s", b.logs)
	}
}

func TestWatcherReloadOnSignal(t *testing.T) {
	t.Parallel()
	b := startWatcher(t, withInterval("1m"))
	b.watcher.Reload()
	b.wantApplied(t, time.Minute)
}

func waitForLog(t *testing.T, logs *testutil.Buffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log never contained %q:\n%s", want, logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
