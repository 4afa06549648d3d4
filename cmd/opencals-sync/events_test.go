package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/store"
)

// deliveryConfig writes a config whose database lives in dir, with the
// given endpoints section, and returns its path.
func deliveryConfig(t *testing.T, dir, endpoints string) string {
	t.Helper()
	path := filepath.Join(dir, "config.yaml")
	yaml := "database: " + filepath.Join(dir, "state.db") + "\n" +
		"stores:\n  - name: main\n    api_key: sfk_test\n" + endpoints
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatalf("writing config: %v", err)
	}
	return path
}

// testFlags are the global flags of a command run by a test.
func testFlags(configPath string) *globalFlags {
	return &globalFlags{configPath: configPath, logLevel: "error", logFormat: "json"}
}

// execute runs cmd with args and returns what it printed.
func execute(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// seedDeliveries records three events in the database at dir: one
// delivered to crm, one failed for good at crm, one pending at reviews.
func seedDeliveries(t *testing.T, dir string) (delivered, failed, pending string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	defer db.Close()
	now := time.Now()
	crm := store.EndpointTarget{Name: "crm", Types: event.Types}
	reviews := store.EndpointTarget{Name: "reviews",
		Types: []event.Type{event.AppointmentCompleted}}
	if _, err := db.RegisterEndpoints(ctx, []store.EndpointTarget{crm, reviews},
		now); err != nil {
		t.Fatalf("RegisterEndpoints() = %v", err)
	}
	var ids []string
	for _, spec := range []struct {
		typ event.Type
		res string
	}{{event.AppointmentCreated, "a1"}, {event.OrderPaid, "o1"},
		{event.AppointmentCompleted, "a2"}} {
		ev := event.Event{ID: event.ID("s1", spec.typ, spec.res, ""), Type: spec.typ,
			StoreID: "s1", CustomerID: "c1", Source: event.SourcePoll, CreatedAt: now,
			OccurredAt: now, Data: event.Data{Object: json.RawMessage(
				`{"id":"` + spec.res + `","note":"Ñandú"}`)}}
		if _, err := db.InsertEvents(ctx, []event.Event{ev}); err != nil {
			t.Fatalf("InsertEvents() = %v", err)
		}
		ids = append(ids, ev.ID)
	}
	if _, err := db.FanOut(ctx, []store.EndpointTarget{crm, reviews}, now); err != nil {
		t.Fatalf("FanOut() = %v", err)
	}
	err = db.RecordAttempts(ctx, []store.AttemptRecord{
		{Endpoint: "crm", Seq: 1, N: 1, At: now, Status: 204, State: store.DeliveryDelivered,
			FirstAttemptAt: now},
		{Endpoint: "crm", Seq: 2, N: 1, At: now, Status: 500, Error: "HTTP 500: boom",
			Latency: 40 * time.Millisecond, State: store.DeliveryFailed, FirstAttemptAt: now},
		{Endpoint: "crm", Seq: 3, N: 1, At: now, Status: 204, State: store.DeliveryDelivered,
			FirstAttemptAt: now},
	})
	if err != nil {
		t.Fatalf("RecordAttempts() = %v", err)
	}
	return ids[0], ids[1], ids[2]
}

func TestEventsCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := deliveryConfig(t, dir, `endpoints:
  - name: crm
    url: http://127.0.0.1:1/hooks
    secret: crm-secret
  - name: reviews
    command: ["/bin/true"]
    events: ["appointment.completed"]
`)
	delivered, failed, pending := seedDeliveries(t, dir)
	run := func(args ...string) string {
		t.Helper()
		out, err := execute(t, newEventsCmd(testFlags(path)), args...)
		if err != nil {
			t.Fatalf("events %s = %v", strings.Join(args, " "), err)
		}
		return out
	}

	out := run("list")
	for _, want := range []string{delivered, failed, pending, "crm: delivered (1 attempt)",
		"crm: FAILED (1 attempt, last: HTTP 500: boom)", "reviews: pending"} {
		if !strings.Contains(out, want) {
			t.Errorf("events list lacks %q:\n%s", want, out)
		}
	}
	out = run("list", "--failed")
	if !strings.Contains(out, failed) || strings.Contains(out, delivered) {
		t.Errorf("events list --failed:\n%s\nwant only %s", out, failed)
	}

	out = run("show", failed)
	for _, want := range []string{"type      order.paid", "crm: FAILED", "#1", "HTTP 500",
		"40ms", `"type": "order.paid"`, `"note": "Ñandú"`} {
		if !strings.Contains(out, want) {
			t.Errorf("events show lacks %q:\n%s", want, out)
		}
	}

	if out = run("resend", "--failed", "--since", "1h"); out != "queued 1 deliveries\n" {
		t.Errorf("events resend --failed = %q; want one queued", out)
	}
	if out = run("list", "--failed"); out != "no events\n" {
		t.Errorf("events list --failed after resend = %q; want none", out)
	}
	// The appointment goes to crm again; reviews' filter refuses it.
	if out = run("resend", delivered); out != "queued 1 deliveries\n" {
		t.Errorf("events resend ID = %q; want one queued", out)
	}
	if _, err := execute(t, newEventsCmd(testFlags(path)), "resend", "evt_nope"); !errors.Is(
		err, store.ErrNotFound) {
		t.Errorf("events resend evt_nope = %v; want ErrNotFound", err)
	}
	if _, err := execute(t, newEventsCmd(testFlags(path)), "resend", "--failed"); err == nil {
		t.Errorf("events resend --failed without --since = nil error; want one")
	}
}

func TestEventsEndpointsAndEnable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := deliveryConfig(t, dir, `endpoints:
  - name: crm
    url: http://127.0.0.1:1/hooks
    secret: crm-secret
`)
	seedDeliveries(t, dir)
	db, err := store.Open(context.Background(), filepath.Join(dir, "state.db"),
		store.Options{})
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	if _, err := db.DisableEndpoint(context.Background(), "crm", "410 Gone",
		time.Now()); err != nil {
		t.Fatalf("DisableEndpoint() = %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}

	out, err := execute(t, newEventsCmd(testFlags(path)), "endpoints")
	if err != nil {
		t.Fatalf("events endpoints = %v", err)
	}
	for _, want := range []string{"crm", "DISABLED since", "(410 Gone)", "reviews",
		"not configured"} {
		if !strings.Contains(out, want) {
			t.Errorf("events endpoints lacks %q:\n%s", want, out)
		}
	}
	out, err = execute(t, newEventsCmd(testFlags(path)), "enable", "crm")
	if err != nil || !strings.HasPrefix(out, "enabled crm") {
		t.Errorf("events enable crm = %q, %v; want enabled", out, err)
	}
	if _, err := execute(t, newEventsCmd(testFlags(path)), "enable", "nobody"); !errors.Is(err,
		store.ErrNotFound) {
		t.Errorf("events enable nobody = %v; want ErrNotFound", err)
	}
}

func TestParseSince(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "24h", want: now.Add(-24 * time.Hour)},
		{in: "2026-12-01", want: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{in: "2026-12-01T10:00:00+01:00", want: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)},
		{in: "", wantErr: true},
		{in: "yesterday", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in, now)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want,
				tt.wantErr)
		}
	}
}
