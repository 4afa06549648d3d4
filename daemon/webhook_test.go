package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/internal/testutil"
	"github.com/opencals-sync/opencals-sync/opencals"
	"github.com/opencals-sync/opencals-sync/opencals/sandbox"
	"github.com/opencals-sync/opencals-sync/store"
)

const (
	hookSecret     = "opencals-webhook-secret"
	handlerSecret  = "handler-secret"
	webhookPath    = "/webhooks/opencals"
	reconcileGrace = time.Millisecond
)

// hookRig is a daemon receiving webhooks, against a sandbox whose list
// pages can be held per customer (to decide whether polling or a webhook
// sees a change first), delivering to a loopback handler that counts what
// it gets by event id. Real clock, as in daemon_test.go.
type hookRig struct {
	sb      *sandbox.Sandbox
	gate    *listGate
	api     *opencals.Client
	dir     string
	config  string
	admin   string
	handler *countingHandler
	db      *store.DB
	storeID string
	logs    *testutil.Buffer

	mu      gosync.Mutex
	webhook string // the receiver's address, "" until it opens
	path    string // the configured path and secret
	secret  string
}

func startHookRig(t *testing.T, mode config.Mode) *hookRig {
	t.Helper()
	r := &hookRig{gate: newListGate(), dir: t.TempDir(), logs: &testutil.Buffer{},
		path: webhookPath, secret: hookSecret}
	sb, err := sandbox.New(sandbox.Config{Customers: 2, Seed: 7,
		RateLimit:      sandbox.Limit{Requests: 1000, Per: time.Minute},
		AuthRateLimit:  sandbox.Limit{Requests: 200, Per: 10 * time.Second},
		BeforeListPage: func(_, customerID string, _ int) { r.gate.pass(customerID) }})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	t.Cleanup(r.gate.openAll) // a held look must not keep the sandbox from closing
	r.sb, r.storeID = sb, sb.StoreID()
	r.api, err = opencals.New(opencals.Config{BaseURL: sb.URL(), APIKey: sb.APIKey()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.api.CloseIdleConnections)
	r.handler = newCountingHandler(t)

	r.config = filepath.Join(r.dir, "config.yaml")
	r.writeConfig(t, mode)
	registerDirectly(t, filepath.Join(r.dir, "state.db"), sb)
	r.start(t)
	r.db, err = store.Open(t.Context(), filepath.Join(r.dir, "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.db.Close() })
	eventually(t, 30*time.Second, "every customer's baseline", r.allBaselined)
	return r
}

// start runs the daemon until the test ends.
func (r *hookRig) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	admin := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{ConfigPath: r.config, Logs: r.logs, Version: "test",
			Tick: 100 * time.Millisecond, Sweep: time.Second, ReconcileGrace: reconcileGrace,
			Listening: func(name string, a net.Addr) {
				switch name {
				case "admin":
					admin <- a
				case "webhook":
					r.mu.Lock()
					r.webhook = a.String()
					r.mu.Unlock()
				}
			}})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v", err)
		}
	})
	select {
	case a := <-admin:
		r.admin = "http://" + a.String()
	case err := <-done:
		t.Fatalf("Run() = %v before listening; logs:\n%s", err, r.logs)
	}
}

// writeConfig writes the daemon's config in mode, replacing the file as
// editors do.
func (r *hookRig) writeConfig(t *testing.T, mode config.Mode) {
	t.Helper()
	doc := fmt.Sprintf(`
database: %s
mode: %s
log: {level: debug, format: json}
admin: {listen: "127.0.0.1:0"}
stores:
  - {name: main, base_url: %q, api_key: %s, rate_limit: {auth_requests: 200}}
sync:
%s
endpoints:
  - {name: handler, url: %q, secret: %s}
webhook: {listen: "127.0.0.1:0", path: %s, secret: %s}
`, filepath.Join(r.dir, "state.db"), mode, r.sb.URL(), r.sb.APIKey(), fastSync,
		r.handler.srv.URL, handlerSecret, r.path, r.secret)
	tmp := r.config + ".tmp"
	if err := os.WriteFile(tmp, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, r.config); err != nil {
		t.Fatal(err)
	}
}

func (r *hookRig) allBaselined() bool {
	cs, err := r.db.ListCustomers(context.Background(), r.storeID)
	if err != nil {
		return false
	}
	for _, c := range cs {
		if c.BaselinedAt.IsZero() {
			return false
		}
	}
	return len(cs) == len(r.sb.Customers())
}

// webhookURL is where the receiver listens now with the configured path,
// "" until it first opens.
func (r *hookRig) webhookURL() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.webhook == "" {
		return ""
	}
	return "http://" + r.webhook + r.path
}

// object fetches an appointment or order as the API shows it now, which is
// what a real webhook carries.
func (r *hookRig) object(t *testing.T, c sandbox.Customer, resource, id string) json.RawMessage {
	t.Helper()
	tokens, err := r.api.SignIn(t.Context(), c.Email, c.Password, "test")
	if err != nil {
		t.Fatal(err)
	}
	s := opencals.NewSession(c.ID, tokens, nil)
	if resource == "order" {
		o, err := r.api.GetOrder(t.Context(), s, id)
		if err != nil {
			t.Fatal(err)
		}
		return o.Raw
	}
	a, err := r.api.GetAppointment(t.Context(), s, id)
	if err != nil {
		t.Fatal(err)
	}
	return a.Raw
}

// deliver posts a real-style webhook for object, signed with the opencals
// scheme and the configured secret, once; it returns the status, or 0 when
// nothing listened.
func (r *hookRig) deliver(t *testing.T, typ event.Type, object json.RawMessage) int {
	t.Helper()
	return r.deliverSigned(t, typ, object, r.secret)
}

// deliverSigned is deliver with the given secret.
func (r *hookRig) deliverSigned(t *testing.T, typ event.Type, object json.RawMessage,
	secret string,
) int {
	t.Helper()
	url := r.webhookURL()
	if url == "" {
		return 0
	}
	body, err := json.Marshal(map[string]any{"id": "whevt_" + string(typ), "type": typ,
		"createdAt": time.Now().UTC(), "storeId": r.storeID,
		"data": map[string]any{"object": object}})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := event.NewSigner(event.SchemeOpencals, "", []string{secret})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	signer.Sign(req.Header, "", time.Time{}, body)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0 // the listener closed meanwhile: Opencals would retry
	}
	resp.Body.Close()
	return resp.StatusCode
}

// deliverUntilAnswered retries as Opencals does until the receiver
// answers 2xx, and returns that status.
func (r *hookRig) deliverUntilAnswered(t *testing.T, typ event.Type, object json.RawMessage) int {
	t.Helper()
	var status int
	eventually(t, 10*time.Second, "the receiver to take a "+string(typ), func() bool {
		status = r.deliver(t, typ, object)
		return status/100 == 2
	})
	return status
}

// stored returns the outbox's event, or false.
func (r *hookRig) stored(t *testing.T, id string) (store.StoredEvent, bool) {
	t.Helper()
	evs, err := r.db.ListEvents(t.Context(), store.EventFilter{StoreID: r.storeID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.ID == id {
			return ev, true
		}
	}
	return store.StoredEvent{}, false
}

// outbox lists the stored event ids.
func (r *hookRig) outbox(t *testing.T) map[string]bool {
	t.Helper()
	evs, err := r.db.ListEvents(t.Context(), store.EventFilter{StoreID: r.storeID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	ids := make(map[string]bool, len(evs))
	for _, ev := range evs {
		ids[ev.ID] = true
	}
	return ids
}

// awaitConfirmed waits until the event is stored and the other side saw
// it too.
func (r *hookRig) awaitConfirmed(t *testing.T, id string, source, by event.Source) {
	t.Helper()
	eventually(t, 40*time.Second, fmt.Sprintf("%s seen by %s, then %s", id, source, by), func() bool {
		ev, ok := r.stored(t, id)
		return ok && ev.Source == source && ev.ConfirmedBy == by
	})
}

// checkDeliveredOnce waits until the handler got every wanted event, then
// checks it got each exactly once and the outbox holds nothing else.
func (r *hookRig) checkDeliveredOnce(t *testing.T, want map[string]string) {
	t.Helper()
	eventually(t, 30*time.Second, "every event at the handler", func() bool {
		got := r.handler.counts()
		for id := range want {
			if got[id] == 0 {
				return false
			}
		}
		return true
	})
	for id, what := range want {
		if n := r.handler.counts()[id]; n != 1 {
			t.Errorf("handler got %s (%s) %d times; want once", id, what, n)
		}
	}
	for id := range r.outbox(t) {
		if _, ok := want[id]; !ok {
			t.Errorf("outbox holds unexpected event %s", id)
		}
	}
}

// reconcileCounts reads the reconciliation series from /metrics, as
// "type seen" → count.
func (r *hookRig) reconcileCounts(t *testing.T) map[string]int {
	t.Helper()
	resp, err := http.Get(r.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	counts := make(map[string]int)
	for _, line := range strings.Split(b.String(), "\n") {
		if !strings.HasPrefix(line, "opencals_sync_reconcile_events{") {
			continue
		}
		var n int
		fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &n)
		if n > 0 {
			counts[label(line, "type")+" "+label(line, "seen")] = n
		}
	}
	return counts
}

// label reads one label's value from a metrics line.
func label(line, name string) string {
	_, rest, _ := strings.Cut(line, name+`="`)
	value, _, _ := strings.Cut(rest, `"`)
	return value
}

func TestHybridDeliversAChangeOnceWhicheverSideSeesItFirst(t *testing.T) {
	t.Parallel()
	r := startHookRig(t, config.ModeHybrid)
	cs := r.sb.Customers()
	slot := time.Now().UTC().Truncate(time.Second).Add(48 * time.Hour)
	want := make(map[string]string)

	// The webhook first: the customer's list pages wait until it is in.
	r.gate.hold(cs[0].ID)
	first, err := r.sb.Book(cs[0].ID, slot, slot.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	firstID := event.ID(r.storeID, event.AppointmentCreated, first.AppointmentID, "")
	want[firstID] = "created, webhook first"
	obj := r.object(t, cs[0], "appointment", first.AppointmentID)
	status := r.deliverUntilAnswered(t, event.AppointmentCreated, obj)
	if status != http.StatusAccepted {
		t.Errorf("webhook before polling = %d; want 202, a new event", status)
	}
	r.gate.open(cs[0].ID)
	r.awaitConfirmed(t, firstID, event.SourceWebhook, event.SourcePoll)

	// Polling first: the webhook comes once the event is stored.
	second, err := r.sb.Book(cs[1].ID, slot, slot.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	secondID := event.ID(r.storeID, event.AppointmentCreated, second.AppointmentID, "")
	want[secondID] = "created, polling first"
	eventually(t, 40*time.Second, "polling to find the second booking", func() bool {
		_, ok := r.stored(t, secondID)
		return ok
	})
	obj = r.object(t, cs[1], "appointment", second.AppointmentID)
	if status := r.deliver(t, event.AppointmentCreated, obj); status != http.StatusOK {
		t.Errorf("webhook after polling = %d; want 200, a duplicate", status)
	}
	r.awaitConfirmed(t, secondID, event.SourcePoll, event.SourceWebhook)

	// A payment only polling sees, and a cancel only a webhook tells.
	if err := r.sb.CapturePayment(second.OrderID); err != nil {
		t.Fatal(err)
	}
	paid := paidEventID(t, r.sb, r.storeID, second.OrderID)
	want[paid] = "paid, polling only"
	ghost := json.RawMessage(fmt.Sprintf(`{"id":"gone-appointment","storeId":%q,`+
		`"customerId":%q,"status":"canceled"}`, r.storeID, cs[0].ID))
	if status := r.deliver(t, event.AppointmentCanceled, ghost); status != http.StatusAccepted {
		t.Errorf("webhook polling cannot match = %d; want 202", status)
	}
	want[event.ID(r.storeID, event.AppointmentCanceled, "gone-appointment", "")] = "webhook only"

	r.checkDeliveredOnce(t, want)
	wantCounts := map[string]int{
		"appointment.created both":          2,
		"order.paid poll_only":              1,
		"appointment.canceled webhook_only": 1,
	}
	eventually(t, 10*time.Second, "the reconciliation counts", func() bool {
		return maps.Equal(r.reconcileCounts(t), wantCounts)
	})
}

// paidEventID is the order.paid id of the sandbox's last payment on order.
func paidEventID(t *testing.T, sb *sandbox.Sandbox, storeID, orderID string) string {
	t.Helper()
	id := ""
	for _, ch := range sb.Changes(0) {
		if ch.Kind == sandbox.KindPaid && ch.OrderID == orderID {
			id = event.ID(storeID, event.OrderPaid, orderID, event.PaidDiscriminator(ch.Amount))
		}
	}
	if id == "" {
		t.Fatalf("the sandbox recorded no payment on order %s", orderID)
	}
	return id
}

func TestModeSwitchLosesAndRepeatsNothing(t *testing.T) {
	t.Parallel()
	r := startHookRig(t, config.ModePoll)
	cs := r.sb.Customers()
	slot := time.Now().UTC().Truncate(time.Second).Add(48 * time.Hour)
	want := make(map[string]string)
	created := func(id string) string { return event.ID(r.storeID, event.AppointmentCreated, id, "") }

	// Before: polling.
	before, err := r.sb.Book(cs[0].ID, slot, slot.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want[created(before.AppointmentID)] = "before the switch"
	r.checkDeliveredOnce(t, want)

	// During the switch to webhooks: the change's webhook is retried until
	// the receiver takes it; polling may see it first, or not.
	r.writeConfig(t, config.ModeWebhook)
	during, err := r.sb.Book(cs[1].ID, slot, slot.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want[created(during.AppointmentID)] = "during the switch to webhooks"
	r.deliverUntilAnswered(t, event.AppointmentCreated,
		r.object(t, cs[1], "appointment", during.AppointmentID))

	// After: webhooks. A payment whose webhook never comes waits for
	// polling to come back.
	from, to := slot.Add(24*time.Hour), slot.Add(25*time.Hour)
	if err := r.sb.Reschedule(before.AppointmentID, from, to); err != nil {
		t.Fatal(err)
	}
	moved := event.ID(r.storeID, event.AppointmentRescheduled, before.AppointmentID,
		event.SlotDiscriminator(from, to))
	want[moved] = "after the switch to webhooks"
	r.deliverUntilAnswered(t, event.AppointmentRescheduled,
		r.object(t, cs[0], "appointment", before.AppointmentID))
	if err := r.sb.CapturePayment(during.OrderID); err != nil {
		t.Fatal(err)
	}
	want[paidEventID(t, r.sb, r.storeID, during.OrderID)] = "webhook lost in webhook mode"

	// During the switch back: one attempt, which may find the listener
	// closed; polling finds the change then.
	r.writeConfig(t, config.ModePoll)
	if err := r.sb.Cancel(during.AppointmentID); err != nil {
		t.Fatal(err)
	}
	want[event.ID(r.storeID, event.AppointmentCanceled, during.AppointmentID, "")] =
		"during the switch back"
	r.deliver(t, event.AppointmentCanceled, r.object(t, cs[1], "appointment", during.AppointmentID))

	// After: polling again, which also sees what webhooks delivered.
	after, err := r.sb.Book(cs[0].ID, slot.Add(72*time.Hour), slot.Add(73*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want[created(after.AppointmentID)] = "after the switch back"
	r.checkDeliveredOnce(t, want)
	// Polling now looks at what webhooks delivered, and finds the same
	// events: nothing new may reach the handler.
	r.awaitConfirmed(t, moved, event.SourceWebhook, event.SourcePoll)
	eventually(t, 40*time.Second, "both sides to have seen the booking made during the switch",
		func() bool {
			ev, ok := r.stored(t, created(during.AppointmentID))
			return ok && ev.ConfirmedBy != ""
		})
	r.checkDeliveredOnce(t, want)
	for _, msg := range []string{"webhook receiver listening", "webhook receiver stopped"} {
		if !strings.Contains(r.logs.String(), msg) {
			t.Errorf("the log never says %q: the mode did not switch", msg)
		}
	}
}

// countingHandler is the merchant's handler: it counts deliveries by
// event id and answers 200.
type countingHandler struct {
	srv *httptest.Server
	mu  gosync.Mutex
	got map[string]int
}

func newCountingHandler(t *testing.T) *countingHandler {
	t.Helper()
	h := &countingHandler{got: make(map[string]int)}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.mu.Lock()
		h.got[req.Header.Get(event.HeaderEventID)]++
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *countingHandler) counts() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int, len(h.got))
	for id, n := range h.got {
		out[id] = n
	}
	return out
}

// listGate holds the sandbox's list pages of chosen customers.
type listGate struct {
	mu   gosync.Mutex
	held map[string]chan struct{}
}

func newListGate() *listGate { return &listGate{held: make(map[string]chan struct{})} }

// pass waits while the customer's pages are held.
func (g *listGate) pass(customerID string) {
	g.mu.Lock()
	ch := g.held[customerID]
	g.mu.Unlock()
	if ch != nil {
		<-ch
	}
}

func (g *listGate) hold(customerID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held[customerID] == nil {
		g.held[customerID] = make(chan struct{})
	}
}

func (g *listGate) open(customerID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if ch := g.held[customerID]; ch != nil {
		close(ch)
		delete(g.held, customerID)
	}
}

func (g *listGate) openAll() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for id, ch := range g.held {
		close(ch)
		delete(g.held, id)
	}
}

func TestReceiverSettingsApplyOnReload(t *testing.T) {
	t.Parallel()
	r := startHookRig(t, config.ModeHybrid)
	ghost := func(id string) json.RawMessage {
		return json.RawMessage(fmt.Sprintf(`{"id":%q,"storeId":%q,"status":"canceled"}`,
			id, r.storeID))
	}
	r.deliverUntilAnswered(t, event.AppointmentCanceled, ghost("before-reload"))

	oldPath, oldSecret := r.path, r.secret
	r.mu.Lock()
	r.path, r.secret = "/hooks/v2", "rotated-secret"
	r.mu.Unlock()
	r.writeConfig(t, config.ModeHybrid)
	eventually(t, 10*time.Second, "the new path and secret in force", func() bool {
		return r.deliver(t, event.AppointmentCanceled, ghost("after-reload")) == http.StatusAccepted
	})
	status := r.deliverSigned(t, event.AppointmentCanceled, ghost("old-secret"), oldSecret)
	if status != http.StatusUnauthorized {
		t.Errorf("POST signed with the replaced secret = %d; want 401", status)
	}
	r.mu.Lock()
	r.path = oldPath
	r.mu.Unlock()
	status = r.deliver(t, event.AppointmentCanceled, ghost("old-path"))
	if status != http.StatusNotFound {
		t.Errorf("POST to the replaced path = %d; want 404", status)
	}
}

func TestWebhookModeFailsStartOnATakenPort(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	doc := fmt.Sprintf(`database: %s
mode: webhook
log: {level: warn, format: json}
admin: {listen: ""}
stores: [{name: main, id: s1, api_key: sfk_test}]
webhook: {listen: %q, secret: %s}
`, filepath.Join(dir, "state.db"), taken.Addr().String(), hookSecret)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	err = Run(t.Context(), Options{ConfigPath: path, Logs: &testutil.Buffer{}, Version: "test"})
	if err == nil || !strings.Contains(err.Error(), "webhook listener") {
		t.Errorf("Run() with the webhook port taken = %v; want a webhook listener error", err)
	}
}
