package opencals_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/opencals"
	"github.com/opencals-sync/opencals-sync/opencals/sandbox"
)

// These tests run the client against the sandbox over loopback: the
// behaviours issue 2 asks to see working end to end.

var start = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// generous are client limits no test below reaches unless it means to.
var generous = opencals.Limits{Requests: 10000, Per: time.Second, AuthRequests: 10000,
	AuthPer: time.Second, Headroom: 1}

// startSandbox runs a sandbox on 127.0.0.1:0 until the test ends.
func startSandbox(t *testing.T, cfg sandbox.Config) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatalf("sandbox.New() = %v", err)
	}
	if err := sb.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("Start() = %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Close(); err != nil {
			t.Errorf("closing the sandbox: %v", err)
		}
	})
	return sb
}

// newClient returns a client of sb with its own limiter for limits.
func newClient(t *testing.T, sb *sandbox.Sandbox, limits opencals.Limits,
	clock clockwork.Clock) *opencals.Client {
	t.Helper()
	c, err := opencals.New(opencals.Config{
		BaseURL: sb.URL(),
		APIKey:  sb.APIKey(),
		Clock:   clock,
		Limiter: opencals.NewLimiter(limits, clock),
		Backoff: opencals.Backoff{Base: 10 * time.Millisecond, Cap: 100 * time.Millisecond},
	})
	if err != nil {
		t.Fatalf("opencals.New() = %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// signIn opens a session for a seeded customer; onRotate may be nil.
func signIn(t *testing.T, c *opencals.Client, cust sandbox.Customer,
	onRotate func(context.Context, opencals.Tokens) error) *opencals.Session {
	t.Helper()
	tok, err := c.SignIn(t.Context(), cust.Email, cust.Password, "opencals-sync")
	if err != nil {
		t.Fatalf("SignIn(%s) = %v", cust.Email, err)
	}
	return opencals.NewSession(cust.ID, tok, onRotate)
}

func listIDs(t *testing.T, c *opencals.Client, s *opencals.Session) []string {
	t.Helper()
	items, err := c.ListAppointments(t.Context(), s)
	if err != nil {
		t.Fatalf("ListAppointments() = %v", err)
	}
	return appointmentIDs(items)
}

func appointmentIDs(items []opencals.Appointment) []string {
	ids := make([]string, 0, len(items))
	for _, a := range items {
		ids = append(ids, a.ID)
	}
	return ids
}

// routeCount is how many answers of status the sandbox gave on route.
func routeCount(sb *sandbox.Sandbox, route string, status int) int {
	return sb.Stats().Requests[route][status]
}

const (
	routeAppointments = "GET /storefront/appointments"
	routeOrders       = "GET /storefront/orders"
	routeRefresh      = "GET /storefront/auth/refresh"
)

// TestSandboxListingWithInserts reads 250+ appointments (3 pages) while new
// ones arrive between page reads: the result has no duplicates and no gaps,
// or the listing reports itself inconsistent.
func TestSandboxListingWithInserts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// during runs before each page the client reads, with the number of
		// pages read so far (1-based); it returns the ids it inserted.
		during     func(sb *sandbox.Sandbox, cust string, read int) []string
		wantErr    error
		wantPasses int
	}{
		{
			name:       "quiet",
			during:     func(*sandbox.Sandbox, string, int) []string { return nil },
			wantPasses: 1,
		},
		{
			name: "new bookings between the first pass's pages",
			during: func(sb *sandbox.Sandbox, cust string, read int) []string {
				if read != 2 && read != 3 {
					return nil
				}
				b, err := sb.Book(cust, start.Add(48*time.Hour), start.Add(49*time.Hour))
				if err != nil {
					panic(err)
				}
				return []string{b.AppointmentID}
			},
			wantPasses: 2,
		},
		{
			name: "backdated holds shift the first pass's pages",
			during: func(sb *sandbox.Sandbox, _ string, read int) []string {
				rate := 0.0
				if read == 2 || read == 3 {
					rate = 1 // the first pass's pages 2 and 3 start shifted
				}
				sb.SetFaults(sandbox.Faults{ShiftRate: rate})
				return nil
			},
			wantPasses: 2,
		},
		{
			name: "items shift on every pass",
			during: func(sb *sandbox.Sandbox, _ string, _ int) []string {
				sb.SetFaults(sandbox.Faults{ShiftRate: 1})
				return nil
			},
			wantErr:    opencals.ErrInconsistentListing,
			wantPasses: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu       sync.Mutex
				reads    int
				inserted []string
				sb       *sandbox.Sandbox
				armed    atomic.Bool
			)
			clock := clockwork.NewFakeClockAt(start)
			sb = startSandbox(t, sandbox.Config{Customers: 1, Seed: 7, Clock: clock,
				BeforeListPage: func(resource, cust string, page int) {
					if !armed.Load() || resource != "appointments" {
						return
					}
					mu.Lock()
					defer mu.Unlock()
					reads++
					inserted = append(inserted, tt.during(sb, cust, reads)...)
				}})
			cust := sb.Customers()[0]
			for i := range 250 {
				from := start.Add(time.Duration(24+i) * time.Hour)
				if _, err := sb.Hold(cust.ID, from, from.Add(time.Hour)); err != nil {
					t.Fatalf("Hold() = %v", err)
				}
				clock.Advance(time.Second)
			}
			c := newClient(t, sb, generous, clock)
			s := signIn(t, c, cust, nil)
			before := listIDs(t, c, s)
			if len(before) <= 200 {
				t.Fatalf("customer has %d appointments; want more than 2 pages", len(before))
			}
			seq := lastSeq(sb)

			armed.Store(true)
			got, err := c.ListAppointments(t.Context(), s)
			armed.Store(false)
			sb.SetFaults(sandbox.Faults{})

			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ListAppointments() = %v; want %v", err, tt.wantErr)
			}
			if wantReads := tt.wantPasses * 3; reads != wantReads {
				t.Errorf("client read %d pages; want %d (%d passes)",
					reads, wantReads, tt.wantPasses)
			}
			if err != nil {
				return
			}
			want := append(before, inserted...)
			want = append(want, heldSince(sb, seq)...)
			checkSameIDs(t, appointmentIDs(got), want)
			checkCreationOrder(t, got)
		})
	}
}

// lastSeq is the sequence number of the sandbox's latest change.
func lastSeq(sb *sandbox.Sandbox) int64 {
	ch := sb.Changes(0)
	if len(ch) == 0 {
		return 0
	}
	return ch[len(ch)-1].Seq
}

// heldSince returns the appointments the sandbox created after seq on its
// own (shifting faults), from its change log.
func heldSince(sb *sandbox.Sandbox, seq int64) []string {
	var ids []string
	for _, ch := range sb.Changes(seq) {
		if ch.Kind == sandbox.KindHold && !slices.Contains(ids, ch.AppointmentID) {
			ids = append(ids, ch.AppointmentID)
		}
	}
	return ids
}

// checkSameIDs fails on duplicates in got and on any difference in the
// sets of got and want.
func checkSameIDs(t *testing.T, got, want []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("appointment %s listed twice", id)
		}
		seen[id] = true
	}
	wantSet := map[string]bool{}
	for _, id := range want {
		wantSet[id] = true
		if !seen[id] {
			t.Errorf("appointment %s missing from the listing", id)
		}
	}
	for id := range seen {
		if !wantSet[id] {
			t.Errorf("appointment %s listed but never created", id)
		}
	}
	if len(got) != len(wantSet) {
		t.Errorf("listing has %d items; want %d", len(got), len(wantSet))
	}
}

func checkCreationOrder(t *testing.T, items []opencals.Appointment) {
	t.Helper()
	ordered := slices.IsSortedFunc(items, func(a, b opencals.Appointment) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if !ordered {
		t.Error("listing is not in creation order")
	}
}

// rotations records the pairs a session persisted and can fail on demand.
type rotations struct {
	mu    sync.Mutex
	pairs []opencals.Tokens
	fail  error
}

func (r *rotations) persist(_ context.Context, t opencals.Tokens) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.pairs = append(r.pairs, t)
	return nil
}

func (r *rotations) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pairs)
}

// TestSandboxTokenExpiryAndRotation lets access tokens expire on the
// sandbox's fake clock and checks the rotation hand-over, including a
// persistence failure after which the old pair still works.
func TestSandboxTokenExpiryAndRotation(t *testing.T) {
	t.Parallel()
	const ttl = time.Minute
	serverClock := clockwork.NewFakeClockAt(start)
	sb := startSandbox(t, sandbox.Config{Customers: 1, Seed: 3, Clock: serverClock,
		AccessTokenTTL: ttl})
	cust := sb.Customers()[0]
	ctx := t.Context()

	// The client shares the sandbox's clock: it sees the token expire and
	// refreshes before sending, without spending a request on a 401.
	c := newClient(t, sb, generous, serverClock)
	var rot rotations
	s := signIn(t, c, cust, rot.persist)
	first := s.Tokens()
	serverClock.Advance(ttl)
	if _, err := c.ListOrders(ctx, s); err != nil {
		t.Fatalf("ListOrders() after expiry = %v", err)
	}
	if rot.count() != 1 || s.Tokens() == first {
		t.Fatalf("persisted %d pairs; want 1, and the session on the new pair", rot.count())
	}
	if n := routeCount(sb, routeOrders, http.StatusUnauthorized); n != 0 {
		t.Errorf("sandbox answered %d 401s; want 0 (refresh before expiry)", n)
	}
	// The old refresh token died when the new pair was first used.
	if _, err := c.Refresh(ctx, first.RefreshToken); !errors.Is(err, opencals.ErrReauthRequired) {
		t.Errorf("Refresh(used-up token) = %v; want ErrReauthRequired", err)
	}

	// A client whose clock lags sends the expired token: 401, one refresh,
	// one retry. Persisting the new pair fails first: the old pair stays.
	lagging := newClient(t, sb, generous, clockwork.NewFakeClockAt(start))
	serverClock.Advance(ttl)
	current := s.Tokens()
	rot.fail = errors.New("database is locked")
	_, err := lagging.ListOrders(ctx, s)
	if !errors.Is(err, rot.fail) {
		t.Fatalf("ListOrders() with failing persistence = %v; want the callback's error", err)
	}
	if s.Tokens() != current {
		t.Fatal("session switched to a pair that was never persisted")
	}
	rot.fail = nil
	if _, err := lagging.ListOrders(ctx, s); err != nil {
		t.Fatalf("ListOrders() retried with the old pair = %v; want nil", err)
	}
	if rot.count() != 2 || s.Tokens() == current {
		t.Errorf("persisted %d pairs; want 2, and the session on the newest", rot.count())
	}
	// Early refresh, the one whose pair was not persisted, the retry.
	if n := routeCount(sb, routeRefresh, http.StatusOK); n != 3 {
		t.Errorf("sandbox answered %d refreshes; want 3", n)
	}
}

// TestSandboxRevokedTokensNeedReauth revokes a customer's sessions: the
// client refreshes once and then reports that the customer must sign in.
func TestSandboxRevokedTokensNeedReauth(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{Customers: 2, Seed: 5})
	c := newClient(t, sb, generous, clockwork.NewRealClock())
	cust := sb.Customers()[0]
	s := signIn(t, c, cust, nil)
	sb.RevokeTokens(cust.ID)

	_, err := c.ListAppointments(t.Context(), s)
	if !errors.Is(err, opencals.ErrReauthRequired) {
		t.Fatalf("ListAppointments() after revocation = %v; want ErrReauthRequired", err)
	}
	if !strings.Contains(err.Error(), "sign in again") || !strings.Contains(err.Error(), cust.ID) {
		t.Errorf("error %q should name the customer and say to sign in again", err)
	}
	got := []int{
		routeCount(sb, routeAppointments, http.StatusUnauthorized),
		routeCount(sb, routeRefresh, http.StatusUnauthorized),
	}
	if !slices.Equal(got, []int{1, 1}) {
		t.Errorf("sandbox answered %d data 401s and %d refresh 401s; want 1 and 1", got[0], got[1])
	}
	// Other customers are unaffected.
	other := signIn(t, c, sb.Customers()[1], nil)
	if _, err := c.ListAppointments(t.Context(), other); err != nil {
		t.Errorf("ListAppointments(other customer) = %v; want nil", err)
	}
}

// TestSandbox429PausesTheKey gives the client more budget than the sandbox
// allows: the first 429 pauses every goroutine until Retry-After, and the
// work then completes without a second 429.
func TestSandbox429PausesTheKey(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(start)
	limit := sandbox.Limit{Requests: 5, Per: 10 * time.Second}
	sb := startSandbox(t, sandbox.Config{Customers: 1, Seed: 9, Clock: clock, RateLimit: limit})
	c := newClient(t, sb, generous, clock)
	s := signIn(t, c, sb.Customers()[0], nil)
	list := func() error { _, err := c.ListOrders(t.Context(), s); return err }
	for range limit.Requests {
		if err := list(); err != nil {
			t.Fatalf("ListOrders() within the budget = %v", err)
		}
	}

	const goroutines = 4
	done := make(chan error, goroutines)
	go func() { done <- list() }()
	if err := clock.BlockUntilContext(t.Context(), 1); err != nil {
		t.Fatalf("waiting for the client to pause: %v", err)
	}
	for range goroutines - 1 {
		go func() { done <- list() }()
	}
	if err := clock.BlockUntilContext(t.Context(), goroutines); err != nil {
		t.Fatalf("waiting for every goroutine to pause: %v", err)
	}
	if st := sb.Stats(); st.RateLimited != 1 {
		t.Errorf("sandbox answered %d 429s before the pause ended; want 1", st.RateLimited)
	}
	paused := c.Limiter().Stats(opencals.General).PausedUntil
	clock.Advance(paused.Sub(clock.Now()))
	for range goroutines {
		if err := <-done; err != nil {
			t.Errorf("ListOrders() after the pause = %v; want nil", err)
		}
	}
	if st := sb.Stats(); st.RateLimited != 1 {
		t.Errorf("sandbox answered %d 429s in all; want 1", st.RateLimited)
	}
}

// TestSandboxSustainedPolling polls 40 customers from 8 goroutines through
// one key for 10 s of real time, against a sandbox enforcing a small window
// and a client configured with the same limits: the sandbox must never
// answer 429, and the client must use at least 80 % of the budget.
//
// Not parallel: it measures a rate in real time, and tests running beside
// it would compete for the CPU.
func TestSandboxSustainedPolling(t *testing.T) {
	const (
		customers = 40
		workers   = 8
		duration  = 10 * time.Second
		minShare  = 0.8
	)
	general := sandbox.Limit{Requests: 20, Per: 2 * time.Second}
	// Sign-ins are not what is measured: give them room so set-up is quick.
	auth := sandbox.Limit{Requests: 100, Per: time.Second}
	sb := startSandbox(t, sandbox.Config{Customers: customers, Seed: 11,
		RateLimit: general, AuthRateLimit: auth})
	limits := opencals.Limits{Requests: general.Requests, Per: general.Per,
		AuthRequests: auth.Requests, AuthPer: auth.Per, Headroom: opencals.DefaultHeadroom}
	c := newClient(t, sb, limits, clockwork.NewRealClock())
	var sessions []*opencals.Session
	for _, cust := range sb.Customers() {
		sessions = append(sessions, signIn(t, c, cust, nil))
	}

	before := generalRequests(sb)
	begin := time.Now()
	polls, err := poll(t.Context(), c, sessions, workers, duration)
	elapsed := time.Since(begin)
	if err != nil {
		t.Fatalf("polling: %v", err)
	}
	sent := generalRequests(sb) - before
	rate := float64(sent) / elapsed.Seconds()
	budget := float64(general.Requests) / general.Per.Seconds()
	st := sb.Stats()
	t.Logf("%d polls, %d general requests in %v: %.2f req/s = %.1f %% of the %.0f req/s budget "+
		"(client allowance %.1f req/s); sandbox 429s: %d; client throttled: %d",
		polls, sent, elapsed.Round(time.Millisecond), rate, 100*rate/budget, budget,
		c.Limiter().Rate(opencals.General), st.RateLimited,
		c.Limiter().Stats(opencals.General).Throttled)
	if st.RateLimited != 0 {
		t.Errorf("sandbox answered %d requests with 429; want 0", st.RateLimited)
	}
	if rate < minShare*budget {
		t.Errorf("achieved %.2f req/s; want at least %.0f %% of %.0f req/s",
			rate, 100*minShare, budget)
	}
}

// poll has workers look at the sessions' customers in turn (appointments,
// then orders) until d has passed, and returns the number of completed
// looks and the first error that was not the deadline.
func poll(ctx context.Context, c *opencals.Client, sessions []*opencals.Session,
	workers int, d time.Duration) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		next, done atomic.Int64
		wg         sync.WaitGroup
		errOnce    sync.Once
		first      error
	)
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				s := sessions[int(next.Add(1))%len(sessions)]
				_, err := c.ListAppointments(ctx, s)
				if err == nil {
					_, err = c.ListOrders(ctx, s)
				}
				switch {
				case err == nil:
					done.Add(1)
				case ctx.Err() == nil:
					errOnce.Do(func() { first = err; cancel() })
				}
			}
		})
	}
	wg.Wait()
	return done.Load(), first
}

// generalRequests counts the sandbox's answers outside /storefront/auth/.
func generalRequests(sb *sandbox.Sandbox) int {
	n := 0
	for route, byStatus := range sb.Stats().Requests {
		if strings.Contains(route, "/storefront/auth/") {
			continue
		}
		for _, count := range byStatus {
			n += count
		}
	}
	return n
}

// TestSandboxWrongAPIKey checks that a wrong key is reported as such, not
// as the customer's credentials or tokens failing.
func TestSandboxWrongAPIKey(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{Customers: 1, Seed: 13})
	good := newClient(t, sb, generous, clockwork.NewRealClock())
	cust := sb.Customers()[0]
	s := signIn(t, good, cust, nil)
	bad, err := opencals.New(opencals.Config{BaseURL: sb.URL(), APIKey: "sfk_wrong"})
	if err != nil {
		t.Fatalf("opencals.New() = %v", err)
	}
	t.Cleanup(bad.CloseIdleConnections)

	if err := good.CheckAPIKey(t.Context()); err != nil {
		t.Errorf("CheckAPIKey(right key) = %v; want nil", err)
	}
	if err := bad.CheckAPIKey(t.Context()); !errors.Is(err, opencals.ErrInvalidAPIKey) {
		t.Errorf("CheckAPIKey(wrong key) = %v; want ErrInvalidAPIKey", err)
	}
	_, err = bad.SignIn(t.Context(), cust.Email, cust.Password, "opencals-sync")
	if !errors.Is(err, opencals.ErrInvalidAPIKey) {
		t.Errorf("SignIn(wrong key) = %v; want ErrInvalidAPIKey", err)
	}
	_, err = bad.ListAppointments(t.Context(), s)
	if !errors.Is(err, opencals.ErrInvalidAPIKey) || errors.Is(err, opencals.ErrReauthRequired) {
		t.Errorf("ListAppointments(wrong key) = %v; want ErrInvalidAPIKey only", err)
	}
	if _, err := good.ListAppointments(t.Context(), s); err != nil {
		t.Errorf("ListAppointments(right key) after the wrong one = %v; want nil", err)
	}
}

func TestStoreIDAndTokenSubject(t *testing.T) {
	t.Parallel()
	sb := startSandbox(t, sandbox.Config{Customers: 1})
	c := newClient(t, sb, generous, clockwork.NewRealClock())
	id, err := c.StoreID(t.Context())
	if err != nil || id != sb.StoreID() {
		t.Errorf("StoreID() = %q, %v; want %q", id, err, sb.StoreID())
	}
	cust := sb.Customers()[0]
	sess := signIn(t, c, cust, nil)
	if sub, ok := opencals.TokenSubject(sess.Tokens().RefreshToken); !ok || sub != cust.ID {
		t.Errorf("TokenSubject() = %q, %v; want %q", sub, ok, cust.ID)
	}
	if _, ok := opencals.TokenSubject("not-a-jwt"); ok {
		t.Error("TokenSubject(not-a-jwt) ok; want false")
	}
}
