package config

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/jonboulle/clockwork"
)

// Watcher reloads the config file when it changes and hands every new,
// valid, different configuration to Apply.
//
// viper's own WatchConfig is not used: it does not debounce (an editor's
// split write fires several times, the first on an empty file), calls back
// for invalid YAML, stops for good when an editor replaces the file by
// rename, and races Get against the reload. Instead the directory is
// watched (so rename-and-replace saves, vim's and Kubernetes ConfigMaps'
// symlink swaps included, keep being seen), events are debounced, and every
// candidate is loaded whole and validated before Apply sees it.
type Watcher struct {
	// Path is the config file.
	Path string
	// Load reads and validates the file; typically Load with os.Environ().
	Load func(path string) (*Config, error)
	// Apply receives each accepted configuration. It runs on the watcher's
	// goroutine, one call at a time.
	Apply func(*Config)
	// Debounce is the quiet time after the last file event before a reload.
	// Default 200ms.
	Debounce time.Duration
	// Clock drives the debounce timer. Default the real clock.
	Clock  clockwork.Clock
	Logger *slog.Logger

	fs       *fsnotify.Watcher
	reload   chan struct{}
	lastHash [sha256.Size]byte
}

// NewWatcher starts watching path's directory at once, so no edit made
// after it returns is missed. The current content counts as applied; only
// later changes reach apply. Run must follow to consume events.
func NewWatcher(path string, current []byte, load func(string) (*Config, error),
	apply func(*Config), logger *slog.Logger) (*Watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watching config: %w", err)
	}
	dir := filepath.Dir(path)
	if err := fw.Add(dir); err != nil {
		fw.Close()
		return nil, fmt.Errorf("watching config directory %s: %w", dir, err)
	}
	return &Watcher{
		Path:     path,
		Load:     load,
		Apply:    apply,
		Logger:   logger.With("component", "config"),
		fs:       fw,
		reload:   make(chan struct{}, 1),
		lastHash: sha256.Sum256(current),
	}, nil
}

// Close stops watching without running; Run closes by itself when it ends.
func (w *Watcher) Close() error { return w.fs.Close() }

// Reload asks for a reload now, as SIGHUP does. It never blocks.
func (w *Watcher) Reload() {
	select {
	case w.reload <- struct{}{}:
	default:
	}
}

// Run consumes file events and reload requests until ctx ends, then stops
// watching.
func (w *Watcher) Run(ctx context.Context) error {
	defer w.fs.Close()
	clock := w.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	debounce := w.Debounce
	if debounce <= 0 {
		debounce = 200 * time.Millisecond
	}
	var (
		timer clockwork.Timer
		fire  <-chan time.Time // nil until the first event
	)
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case ev, ok := <-w.fs.Events:
			if !ok {
				return nil
			}
			if !w.concerns(ev.Name) {
				continue
			}
			w.Logger.Debug("config file event", "name", ev.Name, "op", ev.Op.String())
			if timer == nil {
				timer = clock.NewTimer(debounce)
				fire = timer.Chan()
			} else {
				timer.Reset(debounce)
			}
		case err, ok := <-w.fs.Errors:
			if !ok {
				return nil
			}
			w.Logger.Warn("config watch error", "err", err)
		case <-fire:
			w.check(false)
		case <-w.reload:
			w.check(true)
		}
	}
}

// concerns says whether a file event in the directory may change the
// config: the file itself, or the "..data" symlink swaps by which
// Kubernetes updates a mounted ConfigMap. Other files (logs, the database)
// are ignored.
func (w *Watcher) concerns(name string) bool {
	base := filepath.Base(name)
	return base == filepath.Base(w.Path) || strings.HasPrefix(base, "..")
}

// check loads the file if its content changed (or always, when forced by a
// signal), applies it if valid, and logs the outcome either way.
func (w *Watcher) check(forced bool) {
	raw, err := os.ReadFile(w.Path)
	if err != nil {
		w.Logger.Error("config reload failed; keeping the running config", "path", w.Path, "err", err)
		return
	}
	sum := sha256.Sum256(raw)
	if sum == w.lastHash && !forced {
		return
	}
	cfg, err := w.Load(w.Path)
	if err != nil {
		w.Logger.Error("config edit rejected; keeping the running config", "path", w.Path, "err", err)
		w.lastHash = sum // report each bad version once
		return
	}
	w.lastHash = sum
	w.Logger.Info("config reloaded", "path", w.Path, "forced", forced)
	w.Apply(cfg)
}
