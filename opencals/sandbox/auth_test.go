package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSignIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	email := h.customer(0).email
	tests := []struct {
		name       string
		body       any
		key        string
		wantStatus int
		wantErrors []string // properties with validation errors
	}{
		{name: "valid", body: map[string]string{"email": email, "password": SandboxPassword},
			wantStatus: http.StatusOK},
		{name: "email in other case", wantStatus: http.StatusOK,
			body: map[string]string{"email": strings.ToUpper(email), "password": SandboxPassword}},
		{name: "right store", wantStatus: http.StatusOK, body: map[string]string{
			"email": email, "password": SandboxPassword, "storeId": h.sb.StoreID()}},
		{name: "wrong password", wantStatus: http.StatusUnauthorized,
			body: map[string]string{"email": email, "password": "not-the-password"}},
		{name: "unknown customer", wantStatus: http.StatusUnauthorized,
			body: map[string]string{"email": "nobody@example.test", "password": SandboxPassword}},
		{name: "other store", wantStatus: http.StatusUnauthorized, body: map[string]string{
			"email": email, "password": SandboxPassword, "storeId": "another-store"}},
		{name: "invalid fields", wantStatus: http.StatusBadRequest,
			body:       map[string]string{"email": "not-an-email", "password": "short"},
			wantErrors: []string{"email", "password"}},
		{name: "not JSON", body: "{", wantStatus: http.StatusBadRequest},
		{name: "wrong API key", key: "sfk_wrong", wantStatus: http.StatusUnauthorized,
			body: map[string]string{"email": email, "password": SandboxPassword}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := tt.key
			if key == "" {
				key = h.sb.APIKey()
			}
			r := h.send(key, http.MethodPost, "/storefront/auth/sign-in", "", tt.body)
			if r.status != tt.wantStatus {
				t.Fatalf("sign-in = %d %s; want %d", r.status, r.body, tt.wantStatus)
			}
			if r.status != http.StatusOK {
				var e wireError
				r.decode(t, &e)
				var props []string
				for _, fe := range e.Errors {
					props = append(props, fe.Property)
				}
				if e.Message == "" || !cmp.Equal(props, tt.wantErrors) {
					t.Errorf("error body = %s; want a message and errors on %v", r.body, tt.wantErrors)
				}
				return
			}
			var tok wireTokens
			r.decode(t, &tok)
			if claims := jwtClaims(t, tok.AccessToken); claims.Sub != h.customer(0).id {
				t.Errorf("access token sub = %q; want %q", claims.Sub, h.customer(0).id)
			}
		})
	}
}

type claims struct {
	Sub string `json:"sub"`
	Typ string `json:"typ"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
	Jti string `json:"jti"`
}

func jwtClaims(t *testing.T, token string) claims {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments; want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decoding token payload: %v", err)
	}
	var c claims
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("decoding token claims %s: %v", raw, err)
	}
	return c
}

func TestTokenClaims(t *testing.T) {
	t.Parallel()
	ttl := 7 * time.Minute
	h := newHarness(t, Config{AccessTokenTTL: ttl})
	a, b := h.signIn(h.customer(0).email, ""), h.signIn(h.customer(1).email, "")
	got := []claims{jwtClaims(t, a.AccessToken), jwtClaims(t, a.RefreshToken),
		jwtClaims(t, b.AccessToken)}
	if got[0].Sub != h.customer(0).id || got[2].Sub != h.customer(1).id {
		t.Errorf("subs = %q, %q; want %q, %q", got[0].Sub, got[2].Sub, h.customer(0).id,
			h.customer(1).id)
	}
	if got[0].Typ != "access" || got[1].Typ != "refresh" {
		t.Errorf("typs = %q, %q; want access, refresh", got[0].Typ, got[1].Typ)
	}
	if d := time.Duration(got[0].Exp-got[0].Iat) * time.Second; d != ttl {
		t.Errorf("access token lifetime = %v; want %v", d, ttl)
	}
	if got[0].Jti == got[2].Jti || got[0].Jti == "" {
		t.Errorf("jti values %q and %q; want distinct and non-empty", got[0].Jti, got[2].Jti)
	}
}

func TestAccessTokenExpiry(t *testing.T) {
	t.Parallel()
	ttl := 15 * time.Minute
	h := newHarness(t, Config{AccessTokenTTL: ttl})
	tok := h.signIn(h.customer(0).email, "")
	steps := []struct {
		advance    time.Duration
		wantStatus int
	}{
		{advance: 0, wantStatus: http.StatusOK},
		{advance: ttl - time.Second, wantStatus: http.StatusOK},
		{advance: time.Second, wantStatus: http.StatusUnauthorized},
	}
	for i, st := range steps {
		h.clock.Advance(st.advance)
		if r := h.get("/storefront/orders", tok.AccessToken); r.status != st.wantStatus {
			t.Fatalf("step %d: GET orders = %d; want %d", i, r.status, st.wantStatus)
		}
	}
	if r := h.refresh(tok.RefreshToken); r.status != http.StatusOK {
		t.Fatalf("refresh after expiry = %d %s; want 200", r.status, r.body)
	}
}

// TestRefreshHandOver walks the rotation: the old pair stays valid until
// the new one is used, a retry with the old pair replaces an unused new
// pair, and once the new pair is used the old one is gone.
func TestRefreshHandOver(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	p0 := h.signIn(h.customer(0).email, "")
	p1 := h.rotate(p0.RefreshToken)
	h.wantStatus("p0 access after refresh", p0.AccessToken, false, http.StatusOK)

	// The caller failed to persist p1 and retries with p0: p1 dies unused.
	p1b := h.rotate(p0.RefreshToken)
	h.wantStatus("unused p1 refresh", p1.RefreshToken, true, http.StatusUnauthorized)
	h.wantStatus("unused p1 access", p1.AccessToken, false, http.StatusUnauthorized)

	// Using p1b retires p0.
	h.wantStatus("p1b access", p1b.AccessToken, false, http.StatusOK)
	h.wantStatus("p0 access after hand-over", p0.AccessToken, false, http.StatusUnauthorized)
	h.wantStatus("p0 refresh after hand-over", p0.RefreshToken, true, http.StatusUnauthorized)

	// Refreshing with the successor's refresh token also retires p1b.
	p2 := h.rotate(p1b.RefreshToken)
	p3 := h.rotate(p2.RefreshToken)
	h.wantStatus("p1b refresh after its successor's use", p1b.RefreshToken, true,
		http.StatusUnauthorized)
	h.wantStatus("p3 access", p3.AccessToken, false, http.StatusOK)
	h.wantStatus("p2 access after hand-over", p2.AccessToken, false, http.StatusUnauthorized)
}

func (h *harness) rotate(refreshToken string) wireTokens {
	h.t.Helper()
	r := h.refresh(refreshToken)
	if r.status != http.StatusOK {
		h.t.Fatalf("refresh = %d %s; want 200", r.status, r.body)
	}
	var tok wireTokens
	r.decode(h.t, &tok)
	return tok
}

// wantStatus uses a token (a refresh token on the refresh endpoint, an
// access token on the orders list) and checks the status.
func (h *harness) wantStatus(what, token string, refresh bool, want int) {
	h.t.Helper()
	var r response
	if refresh {
		r = h.refresh(token)
	} else {
		r = h.get("/storefront/orders", token)
	}
	if r.status != want {
		h.t.Fatalf("%s: status %d %s; want %d", what, r.status, r.body, want)
	}
}

func TestWrongTokens(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	tok := h.signIn(h.customer(0).email, "")
	tests := []struct {
		name    string
		token   string
		refresh bool
	}{
		{name: "no token", token: ""},
		{name: "garbage", token: "not.a.token"},
		{name: "refresh token as access", token: tok.RefreshToken},
		{name: "access token as refresh", token: tok.AccessToken, refresh: true},
		{name: "no refresh token", token: "", refresh: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h.wantStatus(tt.name, tt.token, tt.refresh, http.StatusUnauthorized)
		})
	}
}

func TestRevokeTokens(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	mine, other := h.signIn(h.customer(0).email, "site"), h.signIn(h.customer(1).email, "")
	second := h.signIn(h.customer(0).email, "opencals-sync")
	h.sb.RevokeTokens(h.customer(0).id)
	h.wantStatus("revoked access", mine.AccessToken, false, http.StatusUnauthorized)
	h.wantStatus("revoked refresh", mine.RefreshToken, true, http.StatusUnauthorized)
	h.wantStatus("revoked second session", second.AccessToken, false, http.StatusUnauthorized)
	h.wantStatus("other customer", other.AccessToken, false, http.StatusOK)
	h.signIn(h.customer(0).email, "site") // signing in again works
}

// TestSessionsAreIndependent pins that token names separate sessions:
// rotating or restarting one never revokes another.
func TestSessionsAreIndependent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	email := h.customer(0).email
	site, daemon := h.signIn(email, "site"), h.signIn(email, "opencals-sync")
	rotated := h.rotate(site.RefreshToken)
	h.wantStatus("rotated site access", rotated.AccessToken, false, http.StatusOK)
	h.wantStatus("daemon access", daemon.AccessToken, false, http.StatusOK)
	h.wantStatus("daemon refresh", daemon.RefreshToken, true, http.StatusOK)

	again := h.signIn(email, "site")
	h.wantStatus("old site session", rotated.AccessToken, false, http.StatusUnauthorized)
	h.wantStatus("new site session", again.AccessToken, false, http.StatusOK)
}
