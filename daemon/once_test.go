package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/internal/testutil"
	"github.com/opencals-sync/opencals-sync/listen"
	"github.com/opencals-sync/opencals-sync/opencals"
	"github.com/opencals-sync/opencals-sync/opencals/sandbox"
	"github.com/opencals-sync/opencals-sync/store"
)

// TestOnceRecordsAndDeliversThenExits is the cron user's path: each run
// looks at everyone, delivers what it found, and says whether every look
// worked.
func TestOnceRecordsAndDeliversThenExits(t *testing.T) {
	t.Parallel()
	sb, err := sandbox.New(sandbox.Config{Customers: 3, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	recv, err := listen.Start(t.Context(), listen.Options{Secrets: []string{"once-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = recv.Close() })

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	doc := fmt.Sprintf(`database: %s
log: {level: warn, format: json}
admin: {listen: ""}
stores: [{name: main, base_url: %q, api_key: %s}]
endpoints: [{name: receiver, url: %q, secret: once-secret}]
`, filepath.Join(dir, "state.db"), sb.URL(), sb.APIKey(), recv.URL())
	if err := os.WriteFile(cfgPath, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	registerDirectly(t, filepath.Join(dir, "state.db"), sb)
	once := func() error {
		return Once(context.Background(), Options{ConfigPath: cfgPath, Logs: &testutil.Buffer{}, Version: "test"})
	}

	// The first pass is the silent baseline.
	if err := once(); err != nil {
		t.Fatalf("Once() baseline = %v", err)
	}
	cust := sb.Customers()[0]
	from := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	booking, err := sb.Book(cust.ID, from, from.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := once(); err != nil {
		t.Fatalf("Once() = %v", err)
	}
	if got := recv.Counts().ByType[event.AppointmentCreated]; got != 1 {
		t.Errorf("after the second pass the receiver saw %d appointment.created (booking %s); want 1: %s",
			got, booking.AppointmentID, recv.Summary())
	}

	// A customer whose tokens were revoked fails the pass, for cron to see.
	sb.RevokeTokens(sb.Customers()[1].ID)
	if err := once(); !errors.Is(err, ErrPassFailed) {
		t.Errorf("Once() with a revoked customer = %v; want ErrPassFailed", err)
	}
}

// registerDirectly signs the sandbox's customers in and stores them.
func registerDirectly(t *testing.T, dbPath string, sb *sandbox.Sandbox) {
	t.Helper()
	db, err := store.Open(t.Context(), dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	client, err := opencals.New(opencals.Config{BaseURL: sb.URL(), APIKey: sb.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	for _, c := range sb.Customers() {
		tokens, err := client.SignIn(t.Context(), c.Email, c.Password, "opencals-sync")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.UpsertCustomer(t.Context(), sb.StoreID(), c.ID, c.Email, tokens); err != nil {
			t.Fatal(err)
		}
	}
}
