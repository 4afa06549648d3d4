// Package opencals is the client of the Opencals Storefront API: customer
// sign-in and rotating token refresh, complete listings of a customer's
// appointments and orders, one rate limiter per API key, retries with
// backoff, and typed errors that never carry a secret.
package opencals

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
)

// Defaults of Config.
const (
	DefaultBaseURL     = "https://api.opencals.com"
	DefaultMaxAttempts = 4
	DefaultUserAgent   = "opencals-sync"
	defaultTimeout     = 30 * time.Second
	// maxBody bounds what the client reads of one answer. A full page of
	// 100 appointments with their nested objects is well under 1 MiB.
	maxBody = 16 << 20
)

// Config configures a Client. Only APIKey is required.
type Config struct {
	// BaseURL is the API's address. Default https://api.opencals.com.
	BaseURL string
	// APIKey is the store's key (sfk_…), sent as X-Api-Key. Required.
	APIKey string
	// HTTPClient sends the requests. Default: a client with a 30s overall
	// timeout and a 30s response-header timeout.
	HTTPClient *http.Client
	// Limiter is the key's rate limiter; share one between every client of
	// the same key. Nil means a new one from DefaultLimits on Clock.
	Limiter *Limiter
	// MaxAttempts bounds the attempts of one request when it meets 5xx,
	// network errors, 429 or malformed 200 bodies. Default 4; 1 disables
	// retries.
	MaxAttempts int
	// Backoff is the wait between attempts; see Backoff. Zero fields take
	// the defaults (500ms base, 30s cap).
	Backoff Backoff
	// Clock drives backoff waits and token expiry. Default the real clock.
	Clock clockwork.Clock
	// Rand draws the backoff jitter. Default a randomly seeded source.
	Rand *rand.Rand
	// Logger receives a debug line per request. Default discards.
	Logger *slog.Logger
	// UserAgent is sent with every request. Default "opencals-sync".
	UserAgent string
}

// Client talks to one store's API. It is safe for concurrent use.
type Client struct {
	baseURL     string
	apiKey      string
	http        *http.Client
	limiter     *Limiter
	maxAttempts int
	backoff     Backoff
	clock       clockwork.Clock
	rand        *lockedRand
	log         *slog.Logger
	userAgent   string
	skewed      atomic.Bool // set once a fresh token looked expired
}

// New checks cfg and returns a client.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("configuring opencals client: %w", err)
	}
	cfg = cfg.withDefaults()
	return &Client{
		baseURL:     strings.TrimSuffix(cfg.BaseURL, "/"),
		apiKey:      cfg.APIKey,
		http:        cfg.HTTPClient,
		limiter:     cfg.Limiter,
		maxAttempts: cfg.MaxAttempts,
		backoff:     cfg.Backoff.withDefaults(),
		clock:       cfg.Clock,
		rand:        &lockedRand{r: cfg.Rand},
		log:         cfg.Logger.With("component", "opencals"),
		userAgent:   cfg.UserAgent,
	}, nil
}

func (cfg Config) validate() error {
	if cfg.APIKey == "" {
		return errors.New("api key is required")
	}
	if cfg.MaxAttempts < 0 {
		return fmt.Errorf("max attempts %d: must not be negative", cfg.MaxAttempts)
	}
	if cfg.BaseURL == "" {
		return nil
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("base url %q: want http(s)://host[/prefix]", cfg.BaseURL)
	}
	return nil
}

func (cfg Config) withDefaults() Config {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient()
	}
	if cfg.Limiter == nil {
		cfg.Limiter = NewLimiter(DefaultLimits(), cfg.Clock)
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	return cfg
}

func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = defaultTimeout
	t.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: t, Timeout: defaultTimeout}
}

// Limiter returns the client's rate limiter, for metrics and scheduling.
func (c *Client) Limiter() *Limiter { return c.limiter }

// CloseIdleConnections closes the keep-alive connections of the client's
// HTTP transport, for a clean shutdown.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// request is one API call. path is already escaped and has no query.
type request struct {
	method string
	path   string
	query  url.Values
	body   any    // JSON-encoded when non-nil
	bearer string // Authorization: Bearer, when non-empty
}

// do sends req, retrying as the retry policy allows, and hands a 200 body
// to decode. A decode error counts as a malformed answer and is retried.
func (c *Client) do(ctx context.Context, req request, decode func([]byte) error) error {
	for attempt := 1; ; attempt++ {
		err := c.attempt(ctx, req, attempt, decode)
		if err == nil || !retryable(err) || attempt >= c.maxAttempts {
			return err
		}
		if errors.Is(err, ErrRateLimited) {
			continue // the limiter holds every request until the pause ends
		}
		if err := c.sleep(ctx, c.rand.delay(c.backoff, attempt)); err != nil {
			return fmt.Errorf("%s %s: waiting to retry: %w", req.method, req.path, err)
		}
	}
}

// sleep waits d on the client's clock, or until ctx is done.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	t := c.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.Chan():
		return nil
	}
}

// retryable says whether another attempt may succeed: 5xx and network
// errors (ErrServer), 429 and malformed 200 bodies may; cancellation and
// other statuses may not.
func retryable(err error) bool {
	return errors.Is(err, ErrServer) || errors.Is(err, ErrRateLimited) ||
		errors.Is(err, ErrBadResponse)
}

// attempt sends req once within the rate limit.
func (c *Client) attempt(ctx context.Context, req request, n int,
	decode func([]byte) error) error {
	cat := categoryOf(req.path)
	release, err := c.limiter.acquire(ctx, cat)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.method, req.path, err)
	}
	start := c.clock.Now()
	status, header, body, err := c.send(ctx, req)
	if status == http.StatusTooManyRequests {
		c.limiter.throttled(cat, retryAfter(header, c.clock.Now()), c.backoff)
	}
	release(status == http.StatusTooManyRequests)
	c.logAttempt(req, n, status, c.clock.Since(start), err)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s: %w", req.method, req.path, ctx.Err())
		}
		return fmt.Errorf("%s %s: %w: %w", req.method, req.path, ErrServer, err)
	}
	return c.judge(req, status, header, body, decode)
}

// judge turns an answer into nil or an *APIError wrapping its sentinel; an
// undecodable 2xx body is ErrBadResponse.
func (c *Client) judge(req request, status int, header http.Header, body []byte,
	decode func([]byte) error) error {
	if status/100 != 2 {
		return c.apiError(req, status, header, body, sentinelFor(status))
	}
	if err := decode(body); err != nil {
		return c.apiError(req, status, header, body, fmt.Errorf("%w: %v", ErrBadResponse, err))
	}
	return nil
}

func (c *Client) apiError(req request, status int, header http.Header, body []byte,
	kind error) *APIError {
	return &APIError{
		Method: req.method, Path: req.path, Status: status,
		Body:       excerpt(body, c.apiKey),
		RetryAfter: retryAfter(header, c.clock.Now()),
		Err:        kind,
	}
}

// send performs one HTTP exchange and reads the whole body. A body cut
// short by the connection is an error like any network failure.
func (c *Client) send(ctx context.Context, req request) (int, http.Header, []byte, error) {
	hreq, err := c.newHTTPRequest(ctx, req)
	if err != nil {
		return 0, nil, nil, err
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("reading body: %w", err)
	}
	if len(body) > maxBody {
		return 0, nil, nil, fmt.Errorf("body larger than %d bytes", maxBody)
	}
	return resp.StatusCode, resp.Header, body, nil
}

func (c *Client) newHTTPRequest(ctx context.Context, req request) (*http.Request, error) {
	u := c.baseURL + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.body != nil {
		b, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("encoding request body: %w", err)
		}
		body = bytes.NewReader(b)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, u, body)
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("X-Api-Key", c.apiKey)
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if req.bearer != "" {
		hreq.Header.Set("Authorization", "Bearer "+req.bearer)
	}
	return hreq, nil
}

func (c *Client) logAttempt(req request, n, status int, d time.Duration, err error) {
	attrs := []any{
		"method", req.method, "path", req.path, "status", status,
		"duration_ms", d.Milliseconds(), "attempt", n,
	}
	if err != nil {
		attrs = append(attrs, "err", err.Error())
	}
	c.log.Debug("api request", attrs...)
}

// retryAfter reads Retry-After as seconds or an HTTP date; zero when absent
// or unreadable.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		return max(0, time.Duration(s)*time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now))
	}
	return 0
}

// decodeInto returns a decode func that unmarshals into a fresh T each
// attempt and then checks it.
func decodeInto[T any](dst *T, check func(*T) error) func([]byte) error {
	return func(b []byte) error {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		if check != nil {
			if err := check(&v); err != nil {
				return err
			}
		}
		*dst = v
		return nil
	}
}
