package opencals

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Session is one customer's token pair as the client uses it. It is safe
// for concurrent use: however many requests meet an expired token at once,
// the pair is refreshed once.
type Session struct {
	customerID string
	onRotate   func(context.Context, Tokens) error
	refreshing chan struct{} // a one-slot semaphore: one refresh at a time

	mu     sync.Mutex
	tokens Tokens
	gen    uint64 // bumped whenever tokens change
	dead   error  // set once the customer must sign in again
}

// NewSession returns a session for customerID starting with t. onRotate
// receives every new pair a refresh yields and must persist it durably; the
// session switches to the new pair only after onRotate returned nil, so a
// crash can never lose the only valid refresh token. If onRotate fails the
// session keeps the old pair, which the API accepts until the new pair is
// first used. A nil onRotate accepts every pair (tests, one-off commands).
func NewSession(customerID string, t Tokens,
	onRotate func(context.Context, Tokens) error) *Session {
	if onRotate == nil {
		onRotate = func(context.Context, Tokens) error { return nil }
	}
	return &Session{
		customerID: customerID,
		onRotate:   onRotate,
		refreshing: make(chan struct{}, 1),
		tokens:     t,
	}
}

// CustomerID is the customer the session belongs to.
func (s *Session) CustomerID() string { return s.customerID }

// Tokens returns the pair currently in use.
func (s *Session) Tokens() Tokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens
}

// current returns the pair in use and its generation, or the error that
// ended the session.
func (s *Session) current() (Tokens, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens, s.gen, s.dead
}

func (s *Session) replace(t Tokens) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = t
	s.gen++
}

// endAt ends the session with err if its pair is still generation gen, so a
// refused pair that was already replaced cannot end the session. It returns
// err.
func (s *Session) endAt(gen uint64, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen == gen {
		s.dead = err
	}
	return err
}

// SignIn opens a session for a customer. tokenName names it, so this
// daemon's session rotates independently of the customer's own ones; empty
// omits it. Wrong credentials give an error wrapping ErrBadCredentials.
func (c *Client) SignIn(ctx context.Context, email, password, tokenName string) (Tokens, error) {
	body := map[string]string{"email": email, "password": password}
	if tokenName != "" {
		body["tokenName"] = tokenName
	}
	var t Tokens
	req := request{method: http.MethodPost, path: "/storefront/auth/sign-in", body: body}
	err := c.do(ctx, req, decodeInto(&t, checkTokens))
	if refused(err) {
		err = c.blame(ctx, err, ErrBadCredentials)
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("signing in customer %s: %w", email, err)
	}
	return t, nil
}

// Refresh exchanges a refresh token for a new pair. A refused refresh token
// gives an error wrapping ErrReauthRequired. Most callers use a Session,
// which refreshes on its own.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (Tokens, error) {
	t, err := c.refreshTokens(ctx, refreshToken)
	if err != nil {
		return Tokens{}, fmt.Errorf("refreshing tokens: %w", err)
	}
	return t, nil
}

func (c *Client) refreshTokens(ctx context.Context, refreshToken string) (Tokens, error) {
	var t Tokens
	req := request{method: http.MethodGet, path: "/storefront/auth/refresh", bearer: refreshToken}
	err := c.do(ctx, req, decodeInto(&t, checkTokens))
	if refused(err) {
		err = c.blame(ctx, err, ErrReauthRequired)
	}
	return t, err
}

// refused says whether err is a 401 or 403 answer.
func refused(err error) bool {
	s := status(err)
	return s == http.StatusUnauthorized || s == http.StatusForbidden
}

// blame classifies a refused auth request as kind, unless the API key is
// what the API refused: then it is ErrInvalidAPIKey, so an operator's key
// mistake never sends every customer to sign in again.
func (c *Client) blame(ctx context.Context, err, kind error) error {
	if c.keyRefused(ctx) {
		return withKind(err, ErrInvalidAPIKey)
	}
	return withKind(err, kind)
}

// keyRefused asks a store-scoped endpoint, which needs only the API key,
// whether the key still works. Any other outcome counts as "works": only a
// clear refusal of the key changes the verdict.
func (c *Client) keyRefused(ctx context.Context) bool {
	return refused(c.CheckAPIKey(ctx))
}

// CheckAPIKey verifies the store's API key with one request to a
// store-scoped endpoint. A refused key gives an error wrapping
// ErrInvalidAPIKey; run it at start-up to fail fast on a bad key.
func (c *Client) CheckAPIKey(ctx context.Context) error {
	req := request{method: http.MethodGet, path: "/storefront/products",
		query: url.Values{"page": {"1"}, "take": {"1"}}}
	err := c.do(ctx, req, func([]byte) error { return nil })
	if refused(err) {
		err = withKind(err, ErrInvalidAPIKey)
	}
	if err != nil {
		return fmt.Errorf("checking the API key: %w", err)
	}
	return nil
}

func checkTokens(t *Tokens) error {
	if t.AccessToken == "" || t.RefreshToken == "" {
		return errors.New("token pair incomplete")
	}
	return nil
}

// status is the HTTP status of an *APIError in err's chain, else 0.
func status(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// withKind returns a copy of the *APIError in err's chain, classified as
// kind.
func withKind(err error, kind error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	cp := *ae
	cp.Err = kind
	return &cp
}

// maxAuthTries bounds the attempts authed makes while other requests keep
// replacing the pair underneath it.
const maxAuthTries = 4

// authed sends a customer-scoped request with the session's access token.
// A token already expired by the client's clock is refreshed first. A 401
// triggers exactly one refresh and one retry; if the pair changed while the
// request was in flight, it retries with the current pair instead. A 401
// after a refresh ends the session: the customer must sign in again.
func (c *Client) authed(ctx context.Context, s *Session, req request,
	decode func([]byte) error) error {
	refreshed := false
	for try := 1; ; try++ {
		t, gen, err := s.current()
		if err != nil {
			return err
		}
		if !refreshed && c.expired(t.AccessToken) {
			if err := c.refresh(ctx, s, gen); err != nil {
				return err
			}
			refreshed = true
			continue
		}
		req.bearer = t.AccessToken
		err = c.do(ctx, req, decode)
		if status(err) != http.StatusUnauthorized {
			return err
		}
		if _, now, _ := s.current(); now != gen && try < maxAuthTries {
			continue
		}
		if refreshed || try >= maxAuthTries {
			return s.endAt(gen, withKind(err, ErrReauthRequired))
		}
		if err := c.refresh(ctx, s, gen); err != nil {
			return err
		}
		refreshed = true
	}
}

// refresh replaces the session's pair if it is still generation gen. Only
// one refresh runs at a time; a request that waited for another's refresh
// finds the generation moved on and simply uses the new pair.
func (c *Client) refresh(ctx context.Context, s *Session, gen uint64) error {
	select {
	case s.refreshing <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("waiting to refresh tokens for customer %s: %w", s.customerID, ctx.Err())
	}
	defer func() { <-s.refreshing }()

	old, now, err := s.current()
	if err != nil || now != gen {
		return err
	}
	fresh, err := c.refreshTokens(ctx, old.RefreshToken)
	if errors.Is(err, ErrReauthRequired) {
		err = s.endAt(gen, err)
	}
	if err != nil {
		return fmt.Errorf("refreshing tokens for customer %s: %w", s.customerID, err)
	}
	if c.expired(fresh.AccessToken) {
		// A brand-new token already looks expired: this host's clock is
		// ahead of the API's. Stop refreshing early, or every request
		// would spend a refresh; 401s still trigger refreshes.
		c.skewed.Store(true)
		c.log.Warn("access token expired on arrival; clock ahead of the API's?",
			"customer_id", s.customerID)
	}
	if err := s.onRotate(ctx, fresh); err != nil {
		return fmt.Errorf("persisting rotated tokens for customer %s: %w", s.customerID, err)
	}
	s.replace(fresh)
	return nil
}

// expired says whether a JWT access token's exp has passed, so a poll
// after a long pause does not spend a request on a predictable 401. Tokens
// it cannot read count as valid: the API's 401 decides then, as it does
// once the clocks were found to disagree.
func (c *Client) expired(token string) bool {
	if c.skewed.Load() {
		return false
	}
	exp, ok := jwtExpiry(token)
	return ok && !c.clock.Now().Before(exp)
}

// jwtExpiry reads the exp claim of a JWT without verifying it: the client
// only uses it to refresh early, never to trust anything.
func jwtExpiry(token string) (time.Time, bool) {
	var claims struct {
		Exp *float64 `json:"exp"`
	}
	if !jwtClaims(token, &claims) || claims.Exp == nil {
		return time.Time{}, false
	}
	return time.Unix(int64(*claims.Exp), 0), true
}

// jwtClaims decodes a JWT's payload into claims without verifying it.
func jwtClaims(token string, claims any) bool {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	return err == nil && json.Unmarshal(payload, claims) == nil
}

// TokenSubject reads the customer id from a token's sub claim, without
// verifying the token: it only names whom a registration is for. ok is
// false for a token that is not a JWT or has no sub.
func TokenSubject(token string) (sub string, ok bool) {
	var claims struct {
		Sub string `json:"sub"`
	}
	if !jwtClaims(token, &claims) || claims.Sub == "" {
		return "", false
	}
	return claims.Sub, true
}
