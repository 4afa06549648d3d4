package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/listen"
	"github.com/opencals-sync/opencals-sync/store"
)

// TestTriggerDeliversASignedSample sends samples to a real receiver that
// verifies them, to a failing endpoint and to a command.
// Not parallel: it checks for leaked goroutines with goleak.VerifyNone,
// which other tests running at the same time would upset.
func TestTriggerDeliversASignedSample(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	rc, err := listen.Start(context.Background(), listen.Options{Secrets: []string{"crm-secret"}})
	if err != nil {
		t.Fatalf("listen.Start() = %v", err)
	}
	defer rc.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "handler crashed", http.StatusInternalServerError)
	}))
	defer broken.Close()
	got := filepath.Join(dir, "stdin.json")
	path := deliveryConfig(t, dir, `endpoints:
  - name: crm
    url: `+rc.URL()+`
    secret: crm-secret
    events: ["order.*"]
  - name: broken
    url: `+broken.URL+`
    secret: other
    events: ["appointment.*"]
  - name: script
    command: ["/bin/sh", "-c", "cat > `+got+`"]
    events: ["appointment.completed"]
`)

	// order.paid: crm only, verified by the receiver.
	out, err := execute(t, newTriggerCmd(testFlags(path)), "order.paid")
	if err != nil {
		t.Fatalf("trigger order.paid = %v\n%s", err, out)
	}
	if !strings.Contains(out, "crm: HTTP 204, delivered in") {
		t.Errorf("trigger output lacks the delivery:\n%s", out)
	}
	if c := rc.Counts(); c.Verified != 1 || c.ByType[event.OrderPaid] != 1 {
		t.Errorf("receiver counts = %+v; want one verified order.paid", c)
	}

	// appointment.completed: the broken endpoint fails, the command gets it.
	out, err = execute(t, newTriggerCmd(testFlags(path)), "appointment.completed")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("trigger with a failing endpoint = %v; want exit status 1", err)
	}
	for _, want := range []string{"broken: failed: HTTP 500: handler crashed; the daemon " +
		"retries at", "script: delivered in"} {
		if !strings.Contains(out, want) {
			t.Errorf("trigger output lacks %q:\n%s", want, out)
		}
	}
	stdin, err := os.ReadFile(got)
	if err != nil || !strings.Contains(string(stdin), `"test":true`) {
		t.Errorf("command got %s (%v); want the test event", stdin, err)
	}
	id := strings.Fields(out)[2]
	out, err = execute(t, newEventsCmd(testFlags(path)), "show", id)
	if err != nil || !strings.Contains(out, "broken: retrying (1 attempt") ||
		!strings.Contains(out, "script: delivered") || !strings.Contains(out, "test      true") {
		t.Errorf("events show %s = %v:\n%s", id, err, out)
	}
}

func TestTriggerRejects(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := deliveryConfig(t, dir, `endpoints:
  - name: crm
    url: http://127.0.0.1:1/hooks
    secret: crm-secret
    events: ["order.*"]
`)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown type", args: []string{"order.exploded"}, want: "unknown event type"},
		{name: "no endpoint accepts", args: []string{"appointment.created"},
			want: "no configured endpoint accepts"},
		{name: "unknown endpoint", args: []string{"order.paid", "--endpoint", "nobody"},
			want: `no endpoint named "nobody"`},
	}
	for _, tt := range tests {
		_, err := execute(t, newTriggerCmd(testFlags(path)), tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("trigger %s = %v; want an error containing %q", tt.name, err, tt.want)
		}
	}
	evs, err := openAndList(t, dir)
	if err != nil || len(evs) != 0 {
		t.Errorf("after refused triggers the outbox holds %d events (%v); want none",
			len(evs), err)
	}
}

func openAndList(t *testing.T, dir string) ([]store.EventDeliveries, error) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(dir, "state.db"),
		store.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return db.RecentEvents(context.Background(), store.RecentFilter{})
}
