package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/internal/testutil"
	"github.com/opencals-sync/opencals-sync/opencals/sandbox"
	"github.com/opencals-sync/opencals-sync/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const adminToken = "test-admin-token"

// e2e is a running daemon against a sandbox, on the real clock: these
// tests watch the whole service work, so they wait for it (with deadlines)
// instead of driving a fake clock.
type e2e struct {
	sb      *sandbox.Sandbox
	dir     string
	config  string
	admin   string
	logs    *testutil.Buffer
	db      *store.DB // a second handle, for reading what the daemon wrote
	storeID string
	stop    func()
}

func (e *e2e) writeConfig(t *testing.T, sync string) {
	t.Helper()
	doc := fmt.Sprintf(`
database: %s
log: {level: debug, format: json}
admin: {listen: "127.0.0.1:0", token: %s}
stores:
  - name: main
    base_url: %s
    api_key: %s
    rate_limit: {auth_requests: 200}
sync:
%s`, filepath.Join(e.dir, "state.db"), adminToken, e.sb.URL(), e.sb.APIKey(), sync)
	// Write then rename, as editors do, so the watcher never sees half a file.
	tmp := e.config + ".tmp"
	if err := os.WriteFile(tmp, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, e.config); err != nil {
		t.Fatal(err)
	}
}

const fastSync = `  interval: 10s
  max_age: 1m
  tiers:
    - {name: imminent, boundary_within: 1h, interval: 10s}
    - {name: recent, changed_within: 1h, interval: 10s}
  completion: {verify: true, lead: 3s, catch_up: 1h}
`

func startE2E(t *testing.T, customers int) *e2e {
	t.Helper()
	sb, err := sandbox.New(sandbox.Config{Customers: customers, Seed: 3,
		AuthRateLimit: sandbox.Limit{Requests: 200, Per: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	e := &e2e{sb: sb, dir: t.TempDir(), logs: &testutil.Buffer{}, storeID: sb.StoreID()}
	e.config = filepath.Join(e.dir, "config.yaml")
	e.writeConfig(t, fastSync)

	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigPath: e.config, Logs: e.logs, Version: "test",
			Tick: 100 * time.Millisecond, Sweep: time.Second,
			Listening: func(_ string, a net.Addr) { addr <- a }})
	}()
	e.stop = gosync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
	t.Cleanup(e.stop)
	select {
	case a := <-addr:
		e.admin = "http://" + a.String()
	case err := <-done:
		t.Fatalf("Run() = %v before listening; logs:\n%s", err, e.logs)
	}
	e.db, err = store.Open(t.Context(), filepath.Join(e.dir, "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.db.Close() })
	return e
}

// register signs every sandbox customer up through POST /v1/customers.
func (e *e2e) register(t *testing.T) {
	t.Helper()
	for _, c := range e.sb.Customers() {
		body, _ := json.Marshal(map[string]string{"email": c.Email, "password": c.Password})
		req, _ := http.NewRequest(http.MethodPost, e.admin+"/v1/customers", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST /v1/customers = %d; logs:\n%s", resp.StatusCode, e.logs)
		}
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *e2e) eventIDs(t *testing.T) map[string]event.Type {
	t.Helper()
	evs, err := e.db.ListEvents(t.Context(), store.EventFilter{StoreID: e.storeID})
	if err != nil {
		t.Fatal(err)
	}
	ids := make(map[string]event.Type, len(evs))
	for _, ev := range evs {
		ids[ev.ID] = ev.Type
	}
	return ids
}

func (e *e2e) allBaselined(t *testing.T) bool {
	cs, err := e.db.ListCustomers(t.Context(), e.storeID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.BaselinedAt.IsZero() {
			return false
		}
	}
	return len(cs) == len(e.sb.Customers())
}

func TestDaemonEmitsEverySixEventTypesWithTheirIDs(t *testing.T) {
	t.Parallel()
	e := startE2E(t, 20)
	e.register(t)
	eventually(t, 30*time.Second, "every customer's baseline", func() bool { return e.allBaselined(t) })
	if ids := e.eventIDs(t); len(ids) != 0 {
		t.Fatalf("the silent baseline emitted %d events", len(ids))
	}

	// Scripted merchant activity; each step's event id is derived here
	// from what the sandbox did, independently of the daemon.
	cs := e.sb.Customers()
	now := time.Now().UTC().Truncate(time.Second)
	want := make(map[string]event.Type)
	book := func(c sandbox.Customer, from, to time.Time) sandbox.Booking {
		b, err := e.sb.Book(c.ID, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.sb.CapturePayment(b.OrderID); err != nil {
			t.Fatal(err)
		}
		want[event.ID(e.storeID, event.AppointmentCreated, b.AppointmentID, "")] = event.AppointmentCreated
		return b
	}
	moved := book(cs[0], now.Add(48*time.Hour), now.Add(49*time.Hour))
	canceled := book(cs[1], now.Add(50*time.Hour), now.Add(51*time.Hour))
	ending := book(cs[2], now.Add(5*time.Second), now.Add(20*time.Second))
	for _, ch := range e.sb.Changes(0) {
		if ch.Kind == sandbox.KindPaid {
			want[event.ID(e.storeID, event.OrderPaid, ch.OrderID, event.PaidDiscriminator(ch.Amount))] = event.OrderPaid
		}
	}
	eventually(t, 30*time.Second, "the bookings' events", func() bool {
		return containsAll(e.eventIDs(t), want)
	})

	from, to := now.Add(72*time.Hour), now.Add(73*time.Hour)
	if err := e.sb.Reschedule(moved.AppointmentID, from, to); err != nil {
		t.Fatal(err)
	}
	want[event.ID(e.storeID, event.AppointmentRescheduled, moved.AppointmentID,
		event.SlotDiscriminator(from, to))] = event.AppointmentRescheduled
	if err := e.sb.Cancel(canceled.AppointmentID); err != nil {
		t.Fatal(err)
	}
	want[event.ID(e.storeID, event.AppointmentCanceled, canceled.AppointmentID, "")] = event.AppointmentCanceled
	refundID, err := e.sb.Refund(canceled.OrderID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	want[event.ID(e.storeID, event.OrderRefunded, canceled.OrderID,
		event.RefundDiscriminator(refundID, 1000))] = event.OrderRefunded
	want[event.ID(e.storeID, event.AppointmentCompleted, ending.AppointmentID, "")] = event.AppointmentCompleted

	eventually(t, 60*time.Second, "all six event types", func() bool {
		return containsAll(e.eventIDs(t), want)
	})
	got := e.eventIDs(t)
	if len(got) != len(want) {
		t.Errorf("outbox holds %d events; want exactly the %d scripted ones: %v", len(got), len(want), got)
	}
	if n := e.sb.Stats().RateLimited; n != 0 {
		t.Errorf("the sandbox answered 429 %d times; want 0", n)
	}
	e.checkMetricsAfterScript(t, got)
}

func containsAll(got, want map[string]event.Type) bool {
	for id := range want {
		if _, ok := got[id]; !ok {
			return false
		}
	}
	return true
}

func TestDaemonAppliesValidEditsAndKeepsPollingAfterAnInvalidOne(t *testing.T) {
	t.Parallel()
	e := startE2E(t, 2)
	e.register(t)
	eventually(t, 30*time.Second, "the baselines", func() bool { return e.allBaselined(t) })

	// A valid edit: a longer interval shows in the metrics within a second.
	e.writeConfig(t, strings.Replace(fastSync, "interval: 10s\n  max_age", "interval: 20s\n  max_age", 1))
	eventually(t, 2*time.Second, "the new interval in force", func() bool {
		return strings.Contains(e.metrics(t), `opencals_sync_effective_poll_interval_seconds{store="`+
			e.storeID+`"} 20`)
	})

	// An invalid edit is rejected, the old values stay, polling goes on.
	polls := e.pollCount(t)
	e.writeConfig(t, strings.Replace(fastSync, "interval: 10s\n  max_age", "interval: 2s\n  max_age", 1))
	eventually(t, 2*time.Second, "the rejection in the log", func() bool {
		return strings.Contains(e.logs.String(), "sync.interval: must be at least 10s, got 2s")
	})
	if m := e.metrics(t); !strings.Contains(m, `effective_poll_interval_seconds{store="`+e.storeID+`"} 20`) {
		t.Errorf("after an invalid edit the interval changed:\n%s", grep(m, "effective_poll"))
	}
	eventually(t, 30*time.Second, "more polls after the invalid edit", func() bool {
		return e.pollCount(t) > polls
	})
}

func (e *e2e) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String()
}

// pollCount sums successful looks from the metrics.
func (e *e2e) pollCount(t *testing.T) int {
	t.Helper()
	n := 0
	for _, line := range strings.Split(e.metrics(t), "\n") {
		if strings.HasPrefix(line, "opencals_sync_polls_total{") && strings.Contains(line, `outcome="ok"`) {
			var v int
			fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v)
			n += v
		}
	}
	return n
}

func grep(text, substr string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
