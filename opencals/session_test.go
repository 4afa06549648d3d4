package opencals

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// authServer is a small fake of the API's token rules: a refresh answers a
// new pair while the old one stays valid, and the first use of the new pair
// revokes the old one.
type authServer struct {
	t             *testing.T
	mu            sync.Mutex
	pairs         map[string]*pair // by access and by refresh token
	next          int
	refreshes     int
	data          int
	refreshStatus int                   // answer refreshes with this status when set
	hold401       func(r *http.Request) // runs before a 401 on data, outside the lock
}

type pair struct {
	access, refresh string
	parent          *pair
	revoked         bool
}

func newAuthServer(t *testing.T, first Tokens) *authServer {
	a := &authServer{t: t, pairs: map[string]*pair{}}
	p := &pair{access: first.AccessToken, refresh: first.RefreshToken}
	a.pairs[p.access], a.pairs[p.refresh] = p, p
	return a
}

// use finds the live pair holding token and revokes its predecessor.
func (a *authServer) use(token string, wantRefresh bool) *pair {
	p := a.pairs[token]
	if p == nil || p.revoked || (p.refresh == token) != wantRefresh {
		return nil
	}
	if p.parent != nil {
		p.parent.revoked = true
	}
	return p
}

func (a *authServer) revokeAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.pairs {
		p.revoked = true
	}
}

func (a *authServer) counts() (refreshes, data int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refreshes, a.data
}

func (a *authServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	switch r.URL.Path {
	case "/storefront/auth/refresh":
		a.serveRefresh(w, bearer)
		return
	case "/storefront/products": // the client's API key check
		io.WriteString(w, `{"data":[],"meta":{"page":1,"itemCount":0}}`)
		return
	}
	a.mu.Lock()
	a.data++
	p := a.use(bearer, false)
	a.mu.Unlock()
	if p == nil {
		if a.hold401 != nil {
			a.hold401(r)
		}
		http.Error(w, `{"message":"Unauthorized","statusCode":401}`, http.StatusUnauthorized)
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/storefront/orders/")
	fmt.Fprintf(w, `{"id":%q,"createdAt":"2026-12-01T09:00:00.000Z"}`, id)
}

func (a *authServer) serveRefresh(w http.ResponseWriter, bearer string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refreshes++
	if a.refreshStatus != 0 {
		w.WriteHeader(a.refreshStatus)
		return
	}
	old := a.use(bearer, true)
	if old == nil {
		http.Error(w, `{"message":"Unauthorized","statusCode":401}`, http.StatusUnauthorized)
		return
	}
	a.next++
	p := &pair{
		access:  fmt.Sprintf("access-%d", a.next),
		refresh: fmt.Sprintf("refresh-%d", a.next),
		parent:  old,
	}
	a.pairs[p.access], a.pairs[p.refresh] = p, p
	json.NewEncoder(w).Encode(Tokens{AccessToken: p.access, RefreshToken: p.refresh})
}

// expiredPair is a pair whose access token the server no longer knows.
var expiredPair = Tokens{AccessToken: "access-expired", RefreshToken: "refresh-0"}

func newExpiredSession(a *authServer, onRotate func(context.Context, Tokens) error) *Session {
	a.pairs["refresh-0"] = &pair{access: "access-gone", refresh: "refresh-0"}
	return NewSession("c1", expiredPair, onRotate)
}

func TestSessionRefreshesOnceOn401(t *testing.T) {
	t.Parallel()
	a := newAuthServer(t, Tokens{})
	var rotated []Tokens
	s := newExpiredSession(a, func(_ context.Context, tok Tokens) error {
		rotated = append(rotated, tok)
		return nil
	})
	c, _ := newTestClient(t, a)
	o, err := c.GetOrder(t.Context(), s, "o1")
	if err != nil || o.ID != "o1" {
		t.Fatalf("GetOrder() = %+v, %v; want order o1", o.ID, err)
	}
	want := Tokens{AccessToken: "access-1", RefreshToken: "refresh-1"}
	if len(rotated) != 1 || rotated[0] != want || s.Tokens() != want {
		t.Errorf("rotated %d pairs, session holds the new pair: %v; want 1, true",
			len(rotated), s.Tokens() == want)
	}
	if refreshes, data := a.counts(); refreshes != 1 || data != 2 {
		t.Errorf("server saw %d refreshes and %d data requests; want 1 and 2", refreshes, data)
	}
}

// TestSessionConcurrent401sRefreshOnce holds every 401 until all requests
// got one, so they all want a refresh at the same moment.
func TestSessionConcurrent401sRefreshOnce(t *testing.T) {
	t.Parallel()
	const n = 8
	a := newAuthServer(t, Tokens{})
	var arrived sync.WaitGroup
	arrived.Add(n)
	a.hold401 = func(r *http.Request) {
		arrived.Done()
		arrived.Wait()
	}
	rotations := 0
	var mu sync.Mutex
	s := newExpiredSession(a, func(context.Context, Tokens) error {
		mu.Lock()
		defer mu.Unlock()
		rotations++
		return nil
	})
	c, _ := newTestClient(t, a)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := c.GetOrder(t.Context(), s, fmt.Sprintf("o%d", i))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("GetOrder() = %v; want nil", err)
		}
	}
	if refreshes, data := a.counts(); refreshes != 1 || data != 2*n {
		t.Errorf("server saw %d refreshes and %d data requests; want 1 and %d",
			refreshes, data, 2*n)
	}
	if rotations != 1 {
		t.Errorf("onRotate ran %d times; want 1", rotations)
	}
}

func TestSessionKeepsOldPairWhenRotateFails(t *testing.T) {
	t.Parallel()
	a := newAuthServer(t, Tokens{})
	errDisk := errors.New("disk full")
	fail := true
	s := newExpiredSession(a, func(context.Context, Tokens) error {
		if fail {
			return errDisk
		}
		return nil
	})
	c, _ := newTestClient(t, a)

	_, err := c.GetOrder(t.Context(), s, "o1")
	if !errors.Is(err, errDisk) || errors.Is(err, ErrReauthRequired) {
		t.Fatalf("GetOrder() with a failing onRotate = %v; want the callback's error", err)
	}
	if s.Tokens() != expiredPair {
		t.Fatal("session switched to a pair that was never persisted")
	}

	fail = false
	if _, err := c.GetOrder(t.Context(), s, "o1"); err != nil {
		t.Fatalf("GetOrder() retried with the old pair = %v; want nil", err)
	}
	want := Tokens{AccessToken: "access-2", RefreshToken: "refresh-2"}
	if s.Tokens() != want {
		t.Errorf("session holds %v; want the second refresh's pair", s.Tokens() == want)
	}
}

func TestSessionNeedsReauth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		refreshStatus int
		revoke        bool // revoke every token after the refresh
		wantErr       error
		wantRefresh   int
		wantData      int
		wantDead      bool
	}{
		{
			name: "refresh refused 401", refreshStatus: 401,
			wantErr: ErrReauthRequired, wantRefresh: 1, wantData: 1, wantDead: true,
		},
		{
			name: "refresh refused 403", refreshStatus: 403,
			wantErr: ErrReauthRequired, wantRefresh: 1, wantData: 1, wantDead: true,
		},
		{
			name: "new pair refused too", revoke: true,
			wantErr: ErrReauthRequired, wantRefresh: 1, wantData: 2, wantDead: true,
		},
		{
			name: "refresh fails on the server", refreshStatus: 503,
			wantErr: ErrServer, wantRefresh: DefaultMaxAttempts, wantData: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := newAuthServer(t, Tokens{})
			a.refreshStatus = tt.refreshStatus
			onRotate := func(context.Context, Tokens) error {
				if tt.revoke {
					a.revokeAll()
				}
				return nil
			}
			s := newExpiredSession(a, onRotate)
			c, fc := newTestClient(t, a)
			get := func() error { _, err := c.GetOrder(t.Context(), s, "o1"); return err }

			err := drive(t, fc, time.Second, get)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("GetOrder() = %v; want %v", err, tt.wantErr)
			}
			if tt.wantErr == ErrReauthRequired && !strings.Contains(err.Error(), "sign in again") {
				t.Errorf("error %q does not say the customer must sign in again", err)
			}
			if r, d := a.counts(); r != tt.wantRefresh || d != tt.wantData {
				t.Errorf("server saw %d refreshes, %d data requests; want %d, %d",
					r, d, tt.wantRefresh, tt.wantData)
			}
			// A dead session answers at once, without spending requests.
			err = drive(t, fc, time.Second, get)
			r, d := a.counts()
			if dead := r == tt.wantRefresh && d == tt.wantData; dead != tt.wantDead {
				t.Errorf("second call spent requests: %v; want %v", !dead, !tt.wantDead)
			}
			if tt.wantDead && !errors.Is(err, ErrReauthRequired) {
				t.Errorf("second GetOrder() = %v; want ErrReauthRequired", err)
			}
		})
	}
}

// jwt builds an unsigned token with the given claims, enough for the
// client's expiry check.
func jwt(t *testing.T, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc(b) + ".c2ln"
}

func TestSessionRefreshesExpiredJWTBeforeSending(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		exp         time.Time
		wantRefresh int
	}{
		{name: "expired", exp: epoch.Add(-time.Second), wantRefresh: 1},
		{name: "expires now", exp: epoch, wantRefresh: 1},
		{name: "still valid", exp: epoch.Add(time.Second), wantRefresh: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			first := Tokens{
				AccessToken:  jwt(t, map[string]any{"sub": "c1", "exp": tt.exp.Unix()}),
				RefreshToken: "refresh-0",
			}
			a := newAuthServer(t, first)
			c, _ := newTestClient(t, a)
			s := NewSession("c1", first, nil)
			if _, err := c.GetOrder(t.Context(), s, "o1"); err != nil {
				t.Fatalf("GetOrder() = %v; want nil", err)
			}
			if r, d := a.counts(); r != tt.wantRefresh || d != 1 {
				t.Errorf("server saw %d refreshes, %d data requests; want %d, 1",
					r, d, tt.wantRefresh)
			}
		})
	}
}

func TestJWTExpiry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		token  string
		want   time.Time
		wantOK bool
	}{
		{name: "exp", token: jwt(t, map[string]any{"exp": 1800000000}),
			want: time.Unix(1800000000, 0), wantOK: true},
		{name: "no exp", token: jwt(t, map[string]any{"sub": "x"})},
		{name: "opaque", token: "not-a-jwt"},
		{name: "fixture shape", token: "eyJhbGciOi.access.sig"},
		{name: "bad payload", token: "a.!!!.c"},
	}
	for _, tt := range tests {
		got, ok := jwtExpiry(tt.token)
		if ok != tt.wantOK || !got.Equal(tt.want) {
			t.Errorf("%s: jwtExpiry() = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/storefront/products" { // the client's API key check
			io.WriteString(w, `{"data":[]}`)
			return
		}
		var body map[string]string
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decoding sign-in body: %v", err)
		}
		if r.Method != http.MethodPost || r.URL.Path != "/storefront/auth/sign-in" ||
			r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("sign-in sent as %s %s (%s)",
				r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		if body["password"] != "right" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"message":"Invalid credentials"}`)
			return
		}
		if body["tokenName"] != "opencals-sync" || body["email"] != "a@example.test" {
			t.Errorf("sign-in body = %v; want email and tokenName", body)
		}
		io.WriteString(w, `{"accessToken":"a1","refreshToken":"r1"}`)
	})
	c, _ := newTestClient(t, h)
	got, err := c.SignIn(t.Context(), "a@example.test", "right", "opencals-sync")
	if err != nil || got != (Tokens{AccessToken: "a1", RefreshToken: "r1"}) {
		t.Fatalf("SignIn() = %v; want the pair", err)
	}
	_, err = c.SignIn(t.Context(), "a@example.test", "wrong-password", "opencals-sync")
	if !errors.Is(err, ErrBadCredentials) {
		t.Errorf("SignIn(wrong password) = %v; want ErrBadCredentials", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("error %q leaks the password", err)
	}
	if got := c.Limiter().Stats(Auth).Granted; got != 2 {
		t.Errorf("auth budget granted %d; want 2", got)
	}
}

// TestRefusedKeyIsNotBlamedOnCustomers answers every request 401, as the
// API does for a wrong key: neither sign-in nor a session may conclude
// that the customer's credentials are at fault.
func TestRefusedKeyIsNotBlamedOnCustomers(t *testing.T) {
	t.Parallel()
	srv := &script{answers: []answer{{status: 401, body: `{"message":"Invalid API key"}`}}}
	c, _ := newTestClient(t, srv)

	_, err := c.SignIn(t.Context(), "a@example.test", "pw", "")
	if !errors.Is(err, ErrInvalidAPIKey) || errors.Is(err, ErrBadCredentials) {
		t.Errorf("SignIn() with a refused key = %v; want ErrInvalidAPIKey only", err)
	}
	s := NewSession("c1", Tokens{AccessToken: "a", RefreshToken: "r"}, nil)
	for range 2 {
		before := srv.count()
		_, err = c.ListOrders(t.Context(), s)
		if !errors.Is(err, ErrInvalidAPIKey) || errors.Is(err, ErrReauthRequired) {
			t.Errorf("ListOrders() with a refused key = %v; want ErrInvalidAPIKey only", err)
		}
		// list, refresh, key check: the session stays alive and tries again.
		if n := srv.count() - before; n != 3 {
			t.Errorf("ListOrders() sent %d requests; want 3", n)
		}
	}
}

func TestCheckAPIKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		answer  answer
		wantErr error
	}{
		{name: "accepted", answer: answer{status: 200, body: `{"data":[]}`}},
		{name: "refused 401", answer: answer{status: 401}, wantErr: ErrInvalidAPIKey},
		{name: "refused 403", answer: answer{status: 403}, wantErr: ErrInvalidAPIKey},
		{name: "server down", answer: answer{status: 503}, wantErr: ErrServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, fc := newTestClient(t, &script{answers: []answer{tt.answer}})
			err := drive(t, fc, time.Second, func() error { return c.CheckAPIKey(t.Context()) })
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("CheckAPIKey() = %v; want %v", err, tt.wantErr)
			}
		})
	}
}

// TestSessionStopsRefreshingEarlyWhenClockIsAhead serves tokens that are
// already expired by the client's clock: after one refresh proves the
// clocks disagree, the client trusts the API's 401s instead of refreshing
// before every request.
func TestSessionStopsRefreshingEarlyWhenClockIsAhead(t *testing.T) {
	t.Parallel()
	past := jwt(t, map[string]any{"sub": "c1", "exp": epoch.Add(-time.Hour).Unix()})
	var mu sync.Mutex
	refreshes := 0
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/storefront/auth/refresh" {
			mu.Lock()
			refreshes++
			mu.Unlock()
			json.NewEncoder(w).Encode(Tokens{AccessToken: past, RefreshToken: "r"})
			return
		}
		io.WriteString(w, `{"id":"o1"}`)
	})
	c, _ := newTestClient(t, h)
	s := NewSession("c1", Tokens{AccessToken: past, RefreshToken: "r"}, nil)
	for range 3 {
		if _, err := c.GetOrder(t.Context(), s, "o1"); err != nil {
			t.Fatalf("GetOrder() = %v; want nil", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if refreshes != 1 {
		t.Errorf("client refreshed %d times; want 1", refreshes)
	}
}
