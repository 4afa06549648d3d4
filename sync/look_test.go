package sync

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	gosync "sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
	"github.com/opencals-sync/opencals-sync/opencals/sandbox"
	"github.com/opencals-sync/opencals-sync/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var _ Store = (*store.DB)(nil)
var _ API = (*opencals.Client)(nil)
var _ Budget = (*opencals.Limiter)(nil)

// bundle is a sandbox, a store and a client wired as the daemon wires them,
// on one fake clock.
type bundle struct {
	sb      *sandbox.Sandbox
	db      *store.DB
	client  *opencals.Client
	clock   *clockwork.FakeClock
	storeID string
}

var generous = opencals.Limits{Requests: 10000, Per: time.Second, AuthRequests: 10000,
	AuthPer: time.Second, Headroom: 1}

func setup(t *testing.T, customers int, limits opencals.Limits) *bundle {
	t.Helper()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC))
	sb, err := sandbox.New(sandbox.Config{Customers: customers, Clock: clock, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "state.db"),
		store.Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	client, err := opencals.New(opencals.Config{
		BaseURL: sb.URL(), APIKey: sb.APIKey(), Clock: clock,
		Limiter:     opencals.NewLimiter(limits, clock),
		MaxAttempts: 1, // the fake clock never advances during a backoff

	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	b := &bundle{sb: sb, db: db, client: client, clock: clock, storeID: sb.StoreID()}
	for _, c := range sb.Customers() {
		tokens, err := client.SignIn(t.Context(), c.Email, c.Password, "opencals-sync")
		if err != nil {
			t.Fatal(err)
		}
		if err := db.UpsertCustomer(t.Context(), b.storeID, c.ID, c.Email, tokens); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func (b *bundle) looker() *looker {
	return &looker{storeID: b.storeID, api: b.client, db: b.db, clock: b.clock}
}

func (b *bundle) customer(t *testing.T, i int) store.Customer {
	t.Helper()
	c, err := b.db.GetCustomer(t.Context(), b.storeID, b.sb.Customers()[i].ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (b *bundle) look(t *testing.T, i int, kind lookKind) lookResult {
	t.Helper()
	res, err := b.looker().look(t.Context(), b.customer(t, i), kind)
	if err != nil {
		t.Fatalf("look(customer %d) = %v", i, err)
	}
	return res
}

func eventTypes(evs []event.Event) []event.Type {
	var types []event.Type
	for _, e := range evs {
		types = append(types, e.Type)
	}
	return types
}

func TestLookBaselineThenEvents(t *testing.T) {
	t.Parallel()
	b := setup(t, 1, generous)
	if res := b.look(t, 0, lookLight); !res.baseline || len(res.events) != 0 {
		t.Fatalf("first look = baseline %v, %d events; want a silent baseline", res.baseline, len(res.events))
	}

	cust := b.sb.Customers()[0]
	from := b.clock.Now().Add(48 * time.Hour)
	booking, err := b.sb.Book(cust.ID, from, from.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.sb.CapturePayment(booking.OrderID); err != nil {
		t.Fatal(err)
	}
	b.clock.Advance(time.Minute)
	res := b.look(t, 0, lookLight)
	want := []event.Type{event.AppointmentCreated, event.OrderPaid}
	if got := eventTypes(res.events); !slices.Equal(got, want) {
		t.Errorf("look after a booking = %v; want %v", got, want)
	}
	if res.kind != lookFull {
		t.Errorf("a light look that found a new order stayed light")
	}
	if !res.boundary.Equal(from) {
		t.Errorf("next boundary = %v; want the new start %v", res.boundary, from)
	}
}

func TestLightLookStopsAfterUnchangedOrders(t *testing.T) {
	t.Parallel()
	b := setup(t, 1, generous)
	b.look(t, 0, lookFull)
	before := b.sb.Stats()
	res := b.look(t, 0, lookLight)
	if res.kind != lookLight || res.requests != 1 || len(res.events) != 0 {
		t.Errorf("light look = kind %v, %d requests, %d events; want light, 1, 0",
			res.kind, res.requests, len(res.events))
	}
	after := b.sb.Stats()
	if got := after.Requests["GET /storefront/appointments"][200] -
		before.Requests["GET /storefront/appointments"][200]; got != 0 {
		t.Errorf("a light look listed appointments %d times", got)
	}
}

func TestLookCancelsADeletedAppointmentOnlyAfterA404(t *testing.T) {
	t.Parallel()
	b := setup(t, 1, generous)
	cust := b.sb.Customers()[0]
	from := b.clock.Now().Add(48 * time.Hour)
	booking, err := b.sb.Book(cust.ID, from, from.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	b.look(t, 0, lookFull) // baseline, the booking included

	if err := b.sb.Delete(booking.AppointmentID); err != nil {
		t.Fatal(err)
	}
	res := b.look(t, 0, lookFull)
	var canceled []string
	for _, e := range res.events {
		if e.Type == event.AppointmentCanceled {
			canceled = append(canceled, e.ResourceID)
		}
	}
	if !slices.Equal(canceled, []string{booking.AppointmentID}) {
		t.Errorf("canceled = %v; want %s (listing gap, then a 404)", canceled, booking.AppointmentID)
	}
}

func TestLookNeverAppliesAFailedListing(t *testing.T) {
	t.Parallel()
	b := setup(t, 1, generous)
	b.look(t, 0, lookFull)
	b.sb.SetFaults(sandbox.Faults{MalformedRate: 1})
	_, err := b.looker().look(t.Context(), b.customer(t, 0), lookFull)
	if !errors.Is(err, opencals.ErrBadResponse) {
		t.Fatalf("look with malformed pages = %v; want ErrBadResponse", err)
	}
	b.sb.SetFaults(sandbox.Faults{})
	if res := b.look(t, 0, lookFull); len(res.events) != 0 {
		t.Errorf("after a failed look, %v; want no events (nothing was canceled)", eventTypes(res.events))
	}
}

func TestLookNeedsReauthAfterRevocation(t *testing.T) {
	t.Parallel()
	b := setup(t, 2, generous)
	b.sb.RevokeTokens(b.sb.Customers()[0].ID)
	sch := New(Options{StoreID: b.storeID, API: b.client, Store: b.db,
		Budget: b.client.Limiter(), Clock: b.clock},
		Settings{Plan: testPlan(), Concurrency: 2, Polling: true})
	set := sch.settings.Load()
	for i := range 2 {
		sch.lookAt(t.Context(), b.customer(t, i), lookFull, set)
	}
	if c := b.customer(t, 0); c.State != store.CustomerNeedsReauth {
		t.Errorf("revoked customer state = %s; want needs_reauth", c.State)
	}
	if c := b.customer(t, 1); c.State != store.CustomerActive || c.LastSuccessAt.IsZero() {
		t.Errorf("other customer = %s, last success %v; want active and polled", c.State, c.LastSuccessAt)
	}
}

func TestTickStaysWithinBudgetAndConcurrency(t *testing.T) {
	t.Parallel()
	limits := opencals.Limits{Requests: 10, Per: time.Minute, AuthRequests: 1000,
		AuthPer: time.Second, Headroom: 1}
	b := setup(t, 12, limits)
	sch := New(Options{StoreID: b.storeID, API: b.client, Store: b.db,
		Budget: b.client.Limiter(), Clock: b.clock},
		Settings{Plan: testPlan(), Concurrency: 8, Polling: true})
	ctx := context.Background()

	// Ten requests per window at two per look: five looks, not eight.
	sch.tick(ctx)
	sch.wg.Wait()
	polled := 0
	for i := range 12 {
		if !b.customer(t, i).LastPollAt.IsZero() {
			polled++
		}
	}
	if polled != 5 {
		t.Errorf("first tick polled %d customers; want 5 (budget 10 requests, 2 per look)", polled)
	}
	if st := b.sb.Stats(); st.RateLimited != 0 {
		t.Errorf("sandbox answered 429 %d times", st.RateLimited)
	}
}

// refusingPolls is a store whose RecordPoll fails, as on a full disk.
type refusingPolls struct {
	*store.DB
	calls int
	mu    gosync.Mutex
}

func (r *refusingPolls) RecordPoll(context.Context, string, string, store.Poll) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	return errors.New("database or disk is full")
}

func TestCustomerHeldWhenItsPollCannotBeRecorded(t *testing.T) {
	t.Parallel()
	b := setup(t, 1, generous)
	db := &refusingPolls{DB: b.db}
	sch := New(Options{StoreID: b.storeID, API: b.client, Store: db, Budget: b.client.Limiter(),
		Clock: b.clock}, Settings{Plan: testPlan(), Concurrency: 2, Polling: true})
	ctx := context.Background()
	looks := func() int {
		db.mu.Lock()
		defer db.mu.Unlock()
		return db.calls
	}

	sch.tick(ctx)
	sch.wg.Wait()
	sch.tick(ctx) // the stored due time is still in the past
	sch.wg.Wait()
	if got := looks(); got != 1 {
		t.Fatalf("looks before the next due time = %d; want 1 (held in memory)", got)
	}
	b.clock.Advance(time.Hour)
	sch.tick(ctx)
	sch.wg.Wait()
	if got := looks(); got != 2 {
		t.Errorf("looks after the next due time = %d; want 2", got)
	}
}
