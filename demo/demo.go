// Package demo runs the whole pipeline on one machine with no account: the
// sandbox with simulated merchant activity, the daemon against it, and a
// local receiver that verifies and prints every delivery.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/opencals-sync/opencals-sync/customer"
	"github.com/opencals-sync/opencals-sync/daemon"
	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/listen"
	"github.com/opencals-sync/opencals-sync/opencals"
	"github.com/opencals-sync/opencals-sync/opencals/sandbox"
	"github.com/opencals-sync/opencals-sync/store"
)

// Options configure a demo.
type Options struct {
	// Data keeps the database and config in this directory; "" means a
	// temporary one, removed at the end.
	Data string
	// For ends the demo after this long; zero runs until ctx ends.
	For time.Duration
	// EventsOut, if set, receives every verified event as a JSON line.
	EventsOut io.Writer
	// Out receives the receiver's lines and the summary.
	Out   io.Writer
	Color bool
	// Logs receives the daemon's warnings and errors.
	Logs io.Writer
	// Customers is how many sandbox customers there are. Default 8.
	Customers int
	// Activity is the pace of simulated merchant operations. Default 1s.
	Activity time.Duration
	Seed     int64
	Version  string
}

// Run runs the demo until ctx ends or Options.For passes, then prints a
// summary. Ending by either is a success.
func Run(ctx context.Context, opts Options) (err error) {
	opts = withDefaults(opts)
	dir, cleanup, err := dataDir(opts.Data)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, cleanup()) }()
	if opts.For > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.For)
		defer cancel()
	}

	// The fake API, with merchant activity.
	sb, err := sandbox.New(sandbox.Config{Customers: opts.Customers, Seed: opts.Seed})
	if err != nil {
		return err
	}
	if err := sb.Start("127.0.0.1:0"); err != nil {
		return err
	}
	defer func() { err = errors.Join(err, sb.Close()) }()

	// The receiver: what a merchant's handler would be.
	secret := randomSecret()
	recv, err := listen.Start(ctx, listen.Options{Secrets: []string{secret}, Out: opts.Out,
		Color: opts.Color, EventsOut: opts.EventsOut})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, recv.Close()) }()

	// The daemon's config and customers, then the daemon itself.
	configPath := filepath.Join(dir, "config.yaml")
	if err := writeConfig(configPath, dir, sb, recv.URL(), secret); err != nil {
		return err
	}
	if err := registerAll(ctx, filepath.Join(dir, "state.db"), sb); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "demo: sandbox %s, %d customers, activity every %s; receiver %s\n",
		sb.URL(), opts.Customers, opts.Activity, recv.URL())
	fmt.Fprintf(opts.Out, "demo: deliveries appear below as they are verified (Ctrl-C to stop)\n")
	sb.RunActivity(ctx, opts.Activity)
	err = daemon.Run(ctx, daemon.Options{ConfigPath: configPath, Logs: opts.Logs,
		Version: opts.Version, Tick: 200 * time.Millisecond, Sweep: time.Second})
	fmt.Fprintf(opts.Out, "demo: %s\n", recv.Summary())
	if missing := missingTypes(recv.Counts()); len(missing) > 0 {
		fmt.Fprintf(opts.Out, "demo: not seen yet: %v (run longer to see every type)\n", missing)
	}
	return err
}

func withDefaults(opts Options) Options {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Logs == nil {
		opts.Logs = os.Stderr
	}
	if opts.Customers <= 0 {
		opts.Customers = 8
	}
	if opts.Activity <= 0 {
		opts.Activity = time.Second
	}
	if opts.Seed == 0 {
		opts.Seed = time.Now().UnixNano()
	}
	return opts
}

// dataDir returns the directory to use and how to clean it up.
func dataDir(data string) (string, func() error, error) {
	if data != "" {
		if err := os.MkdirAll(data, 0o700); err != nil {
			return "", nil, fmt.Errorf("creating data directory: %w", err)
		}
		return data, func() error { return nil }, nil
	}
	dir, err := os.MkdirTemp("", "opencals-sync-demo-")
	if err != nil {
		return "", nil, fmt.Errorf("creating a temporary directory: %w", err)
	}
	return dir, func() error { return os.RemoveAll(dir) }, nil
}

// writeConfig writes a config for the sandbox with short intervals, the
// receiver as the one endpoint, and logs at warn so the screen shows
// deliveries.
func writeConfig(path, dir string, sb *sandbox.Sandbox, receiver, secret string) error {
	doc := fmt.Sprintf(`# Written by opencals-sync demo.
database: %s
log: {level: warn}
admin: {listen: ""}
stores:
  - name: sandbox
    id: %s
    base_url: %s
    api_key: %s
sync:
  interval: 10s
  max_age: 30s
  tiers:
    - {name: imminent, boundary_within: 10m, interval: 10s}
    - {name: recent, changed_within: 10m, interval: 10s}
  completion: {verify: true, lead: 5s}
endpoints:
  - name: demo-receiver
    url: %s
    secret: %s
`, filepath.Join(dir, "state.db"), sb.StoreID(), sb.URL(), sb.APIKey(), receiver, secret)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		return fmt.Errorf("writing the demo config: %w", err)
	}
	return nil
}

// registerAll signs every sandbox customer in and stores it.
func registerAll(ctx context.Context, dbPath string, sb *sandbox.Sandbox) error {
	db, err := store.Open(ctx, dbPath, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	client, err := opencals.New(opencals.Config{BaseURL: sb.URL(), APIKey: sb.APIKey()})
	if err != nil {
		return errors.Join(err, db.Close())
	}
	defer client.CloseIdleConnections()
	for _, c := range sb.Customers() {
		_, err := customer.Register(ctx, client, db, sb.StoreID(),
			customer.Registration{Email: c.Email, Password: c.Password})
		if err != nil {
			return errors.Join(err, db.Close())
		}
	}
	return db.Close()
}

func missingTypes(c listen.Counts) []event.Type {
	var missing []event.Type
	for _, t := range event.Types {
		if c.ByType[t] == 0 {
			missing = append(missing, t)
		}
	}
	return missing
}

func randomSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "demo-" + hex.EncodeToString(b)
}
