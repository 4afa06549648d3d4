package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults Faults
		check  func(t *testing.T, r response)
	}{
		{name: "server errors", faults: Faults{ErrorRate: 1}, check: func(t *testing.T, r response) {
			if r.status != 500 && r.status != 502 && r.status != 503 {
				t.Errorf("status %d; want 500, 502 or 503", r.status)
			}
		}},
		{name: "malformed bodies", faults: Faults{MalformedRate: 1},
			check: func(t *testing.T, r response) {
				if r.status != http.StatusOK || json.Valid(r.body) {
					t.Errorf("status %d, valid JSON %v; want 200 with invalid JSON", r.status, json.Valid(r.body))
				}
			}},
		{name: "truncated bodies", faults: Faults{TruncateRate: 1},
			check: func(t *testing.T, r response) {
				length, _ := strconv.Atoi(r.header.Get("Content-Length"))
				if r.status != http.StatusOK || json.Valid(r.body) || length != len(r.body) {
					t.Errorf("status %d, valid JSON %v, Content-Length %d for %d bytes; want 200, "+
						"invalid JSON, matching length", r.status, json.Valid(r.body), length, len(r.body))
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, Config{})
			tok := h.signIn(h.customer(0).email, "")
			h.sb.SetFaults(tt.faults)
			for _, path := range []string{"/storefront/appointments", "/storefront/products"} {
				tt.check(t, h.get(path, tok.AccessToken))
			}
			if got := h.sb.Stats().Faults; got != 2 {
				t.Errorf("Stats().Faults = %d; want 2", got)
			}
			if r := h.get("/sandbox/stats", ""); r.status != http.StatusOK || !json.Valid(r.body) {
				t.Errorf("GET /sandbox/stats = %d; want 200 JSON: admin endpoints never fault", r.status)
			}
		})
	}
}

// TestServerErrorHasNoEffect pins that an injected 5xx happens before the
// handler: a failed sign-in opens no session.
func TestServerErrorHasNoEffect(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.sb.SetFaults(Faults{ErrorRate: 1})
	c := h.customer(0)
	r := h.do(http.MethodPost, "/storefront/auth/sign-in", "",
		map[string]string{"email": c.email, "password": SandboxPassword})
	if r.status < 500 {
		t.Fatalf("sign-in = %d; want a 5xx", r.status)
	}
	h.sb.mu.Lock()
	sessions := len(c.sessions)
	h.sb.mu.Unlock()
	if sessions != 0 {
		t.Errorf("customer has %d sessions after a failed sign-in; want 0", sessions)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	h.sb.SetFaults(Faults{Latency: 3 * time.Second})
	done := make(chan response, 1)
	go func() { done <- h.get("/storefront/products", "") }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatalf("waiting for the request to wait on the clock: %v", err)
	}
	select {
	case r := <-done:
		t.Fatalf("request answered %d before the latency passed", r.status)
	default:
	}
	h.clock.Advance(3 * time.Second)
	if r := <-done; r.status != http.StatusOK {
		t.Errorf("GET products after latency = %d; want 200", r.status)
	}
}

// TestShift pins that a shift inserts a backdated item before a page>1
// read, so that page starts with the last item of the page before.
func TestShift(t *testing.T) {
	t.Parallel()
	for _, resource := range []string{"appointments", "orders"} {
		t.Run(resource, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, Config{Customers: 1})
			c := h.customer(0)
			tok := h.signIn(c.email, "")
			path := "/storefront/" + resource + "?take=2"
			var first, second appointmentsPage
			h.mustGet(path+"&page=1", tok.AccessToken).decode(t, &first)
			h.sb.SetFaults(Faults{ShiftRate: 1})
			h.mustGet(path+"&page=2", tok.AccessToken).decode(t, &second)
			if second.Data[0].ID != first.Data[1].ID {
				t.Errorf("page 2 starts with %s; want page 1's last item %s", second.Data[0].ID,
					first.Data[1].ID)
			}
			if second.Meta.ItemCount != first.Meta.ItemCount+1 {
				t.Errorf("itemCount %d after the shift; want %d", second.Meta.ItemCount,
					first.Meta.ItemCount+1)
			}
			h.sb.SetFaults(Faults{})
			h.mustGet(path+"&page=1", tok.AccessToken).decode(t, &first)
			changes := h.sb.Changes(0)
			newest := c.appointments[len(c.appointments)-1].id
			if len(changes) == 0 || changes[0].Kind != KindHold || changes[0].AppointmentID != newest {
				t.Fatalf("changes = %+v; want the inserted hold first", changes)
			}
			inserted := changes[0].AppointmentID
			if resource == "orders" {
				inserted = changes[1].OrderID
			}
			if first.Data[0].ID != inserted {
				t.Errorf("page 1 starts with %s; want the inserted %s", first.Data[0].ID, inserted)
			}
		})
	}
}

func TestBeforeListPage(t *testing.T) {
	t.Parallel()
	type call struct {
		Resource, Customer string
		Page               int
	}
	var (
		mu    sync.Mutex
		calls []call
		sb    atomic.Pointer[Sandbox]
	)
	cfg := Config{Customers: 1, BeforeListPage: func(resource, customerID string, page int) {
		mu.Lock()
		calls = append(calls, call{resource, customerID, page})
		mu.Unlock()
		if page == 2 { // the hook may use the sandbox: it runs outside its lock
			from := testStart.Add(100 * time.Hour)
			if _, err := sb.Load().Book(customerID, from, from.Add(time.Hour)); err != nil {
				t.Errorf("Book() in the hook = %v", err)
			}
		}
	}}
	h := newHarness(t, cfg)
	sb.Store(h.sb)
	c := h.customer(0)
	tok := h.signIn(c.email, "")
	var p1, p2 appointmentsPage
	h.mustGet("/storefront/appointments?take=3&page=1", tok.AccessToken).decode(t, &p1)
	h.mustGet("/storefront/appointments?take=3&page=2", tok.AccessToken).decode(t, &p2)
	h.mustGet("/storefront/orders?page=1", tok.AccessToken)
	want := []call{{"appointments", c.id, 1}, {"appointments", c.id, 2}, {"orders", c.id, 1}}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("hook calls (-want +got):\n%s", diff)
	}
	if p2.Meta.ItemCount != p1.Meta.ItemCount+1 {
		t.Errorf("page 2 itemCount %d; want %d, with the hook's booking", p2.Meta.ItemCount,
			p1.Meta.ItemCount+1)
	}
	if slices.Contains(p2.ids(), p1.ids()[0]) {
		t.Errorf("page 2 %v repeats page 1's first item", p2.ids())
	}
}
