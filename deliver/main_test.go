package deliver

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is the fake clock's start.
var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// waitFor bounds every wait on real I/O (loopback HTTP, SQLite, processes).
const waitFor = 20 * time.Second

// halfJitter makes every wait exactly half its step, so tests can name the
// times.
func halfJitter() float64 { return 0.5 }

// openStore opens a database at path and closes it at the end of the test.
func openStore(t testing.TB, path string, clock clockwork.Clock) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), path, store.Options{Clock: clock})
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// recMetrics records what the dispatcher reports; tests wait on its
// channels instead of sleeping.
type recMetrics struct {
	outcomes chan Outcome
	disabled chan string
	dead     chan string

	mu      sync.Mutex
	backlog []int
}

func newRecMetrics() *recMetrics {
	return &recMetrics{
		outcomes: make(chan Outcome, 10000),
		disabled: make(chan string, 100),
		dead:     make(chan string, 100),
	}
}

func (m *recMetrics) AttemptDone(o Outcome)      { m.outcomes <- o }
func (m *recMetrics) DeadLetter(ep string)       { m.dead <- ep }
func (m *recMetrics) EndpointDisabled(ep string) { m.disabled <- ep }
func (m *recMetrics) Backlog(n int, _ time.Duration) {
	m.mu.Lock()
	m.backlog = append(m.backlog, n)
	m.mu.Unlock()
}

// next returns the next n outcomes.
func (m *recMetrics) next(t testing.TB, n int) []Outcome {
	t.Helper()
	var got []Outcome
	timeout := time.After(waitFor)
	for len(got) < n {
		select {
		case o := <-m.outcomes:
			got = append(got, o)
		case <-timeout:
			t.Fatalf("got %d outcomes %v; want %d", len(got), got, n)
		}
	}
	return got
}

// none checks that no outcome is pending right now.
func (m *recMetrics) none(t testing.TB) {
	t.Helper()
	select {
	case o := <-m.outcomes:
		t.Fatalf("unexpected outcome %+v", o)
	default:
	}
}

// receiver is a loopback endpoint that records what it receives and answers
// as told.
type receiver struct {
	srv *httptest.Server

	mu     sync.Mutex
	status func(r *http.Request, body []byte) int
	header http.Header
	got    []received
}

type received struct {
	header http.Header
	body   []byte
	status int
}

func newReceiver(t testing.TB, status func(r *http.Request, body []byte) int) *receiver {
	t.Helper()
	rc := &receiver{status: status, header: http.Header{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		code := rc.status(r, body)
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, status: code})
		for k, v := range rc.header {
			w.Header()[k] = v
		}
		rc.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// answer replaces the receiver's answer.
func (rc *receiver) answer(status func(r *http.Request, body []byte) int) {
	rc.mu.Lock()
	rc.status = status
	rc.mu.Unlock()
}

// setHeader adds a header to every answer.
func (rc *receiver) setHeader(k, v string) {
	rc.mu.Lock()
	rc.header.Set(k, v)
	rc.mu.Unlock()
}

// requests returns a copy of what was received so far.
func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func always(code int) func(*http.Request, []byte) int {
	return func(*http.Request, []byte) int { return code }
}

// httpEndpoint builds an opencals-signed endpoint for a receiver.
func httpEndpoint(t testing.TB, name, url string, patterns ...string) Endpoint {
	t.Helper()
	signer, err := event.NewSigner(event.SchemeOpencals, "", []string{"endpoint-secret"})
	if err != nil {
		t.Fatalf("NewSigner() = %v", err)
	}
	transport := NewTransport()
	t.Cleanup(transport.CloseIdleConnections)
	h, err := NewHTTPHandler(HTTPOptions{URL: url, Signer: signer, Timeout: 5 * time.Second,
		UserAgent: "opencals-sync/test", Transport: transport})
	if err != nil {
		t.Fatalf("NewHTTPHandler() = %v", err)
	}
	filter, err := NewFilter(patterns)
	if err != nil {
		t.Fatalf("NewFilter(%v) = %v", patterns, err)
	}
	return Endpoint{Name: name, Handler: h, Filter: filter, Fingerprint: url}
}

// harness runs a dispatcher on a fake clock against a real store.
type harness struct {
	t       *testing.T
	path    string
	clock   *clockwork.FakeClock
	db      *store.DB
	metrics *recMetrics
	stop    func()
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{
		t: t, path: filepath.Join(t.TempDir(), "state.db"),
		clock: clockwork.NewFakeClockAt(t0), metrics: newRecMetrics(),
	}
	h.db = openStore(t, h.path, h.clock)
	return h
}

// run registers the endpoints (as Run would, so that events added next are
// theirs) and starts a dispatcher; it stops at the end of the test.
func (h *harness) run(opts Options, eps ...Endpoint) *Dispatcher {
	h.t.Helper()
	h.register(eps...)
	opts.Store, opts.Clock, opts.Metrics = h.db, h.clock, h.metrics
	if opts.Jitter == nil {
		opts.Jitter = halfJitter
	}
	d := NewDispatcher(opts)
	d.Update(eps)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	h.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("Run() = %v", err)
			}
		case <-time.After(waitFor):
			h.t.Fatalf("Run() did not return after cancel")
		}
	}
	h.t.Cleanup(h.stop)
	return d
}

func (h *harness) register(eps ...Endpoint) {
	h.t.Helper()
	targets := make([]store.EndpointTarget, len(eps))
	for i, ep := range eps {
		targets[i] = store.EndpointTarget{Name: ep.Name, Fingerprint: ep.Fingerprint,
			Types: ep.Filter.Types()}
	}
	if _, err := h.db.RegisterEndpoints(context.Background(), targets, h.clock.Now()); err != nil {
		h.t.Fatalf("RegisterEndpoints() = %v", err)
	}
}

// add records events "type/resource/discriminator" in one transaction and
// returns their ids.
func (h *harness) add(specs ...string) []string {
	h.t.Helper()
	var evs []event.Event
	for _, s := range specs {
		var typ, res, disc string
		parts := splitN(s, 3)
		typ, res, disc = parts[0], parts[1], parts[2]
		evs = append(evs, testEvent(event.Type(typ), res, disc, h.clock.Now()))
	}
	if _, err := h.db.InsertEvents(context.Background(), evs); err != nil {
		h.t.Fatalf("InsertEvents() = %v", err)
	}
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID
	}
	return ids
}

func splitN(s string, n int) []string {
	parts := make([]string, 0, n)
	for len(parts) < n-1 {
		i := 0
		for i < len(s) && s[i] != '/' {
			i++
		}
		parts = append(parts, s[:i])
		if i < len(s) {
			i++
		}
		s = s[i:]
	}
	return append(parts, s)
}

// testEvent builds an event whose object has non-ASCII text and a key
// order a re-encoding would change.
func testEvent(typ event.Type, resource, disc string, now time.Time) event.Event {
	return event.Event{
		ID: event.ID("s1", typ, resource, disc), Type: typ, StoreID: "s1", CustomerID: "c1",
		Source: event.SourcePoll, CreatedAt: now, OccurredAt: now,
		Data: event.Data{Object: json.RawMessage(
			`{"id":"` + resource + `","zeta":1,"alpha":"Ñandú — 東京"}`)},
	}
}

// attemptsAt lists the times of the recorded attempts at an event.
func (h *harness) attemptsAt(endpoint, id string) []time.Time {
	h.t.Helper()
	ctx := context.Background()
	se, err := h.db.Event(ctx, id)
	if err != nil {
		h.t.Fatalf("Event(%s) = %v", id, err)
	}
	as, err := h.db.DeliveryAttempts(ctx, endpoint, se.Seq)
	if err != nil {
		h.t.Fatalf("DeliveryAttempts() = %v", err)
	}
	var at []time.Time
	for _, a := range as {
		at = append(at, a.At)
	}
	return at
}

// advanceToNextDue moves the fake clock to the next due delivery and
// returns how far it moved.
func (h *harness) advanceToNextDue(endpoints ...string) time.Duration {
	h.t.Helper()
	next, err := h.db.NextDeliveryDue(context.Background(), endpoints, h.clock.Now())
	if err != nil || next.IsZero() {
		h.t.Fatalf("NextDeliveryDue() = %v, %v; want a time", next, err)
	}
	step := next.Sub(h.clock.Now())
	h.clock.Advance(step)
	return step
}
