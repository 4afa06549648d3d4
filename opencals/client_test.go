package opencals

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

const testKey = "sfk_test_secret_key"

// newTestClient starts handler on a loopback httptest server and returns a
// client for it on a fake clock, with a one-second backoff so drive can
// step through retries. opts adjust the config before New.
func newTestClient(t *testing.T, handler http.Handler,
	opts ...func(*Config)) (*Client, *clockwork.FakeClock) {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	fc := clockwork.NewFakeClockAt(epoch)
	cfg := Config{
		BaseURL:    srv.URL,
		APIKey:     testKey,
		HTTPClient: srv.Client(),
		Clock:      fc,
		Backoff:    Backoff{Base: time.Second, Cap: time.Second},
		Rand:       rand.New(rand.NewPCG(1, 1)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New() = %v; want nil", err)
	}
	return c, fc
}

// drive runs f and, whenever f waits on a timer of the fake clock, moves
// the clock on by step, until f returns.
func drive(t *testing.T, fc *clockwork.FakeClock, step time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	for {
		ctx, cancel := context.WithCancel(t.Context())
		blocked := make(chan error, 1)
		go func() { blocked <- fc.BlockUntilContext(ctx, 1) }()
		select {
		case err := <-done:
			cancel()
			<-blocked
			return err
		case err := <-blocked:
			cancel()
			if err != nil {
				t.Fatalf("waiting for a timer: %v", err)
			}
			fc.Advance(step)
		}
	}
}

// answer is one canned response.
type answer struct {
	status     int
	body       string
	retryAfter string
	hangUp     bool // close the connection without answering
}

// script serves its answers in order, repeating the last one, and counts
// requests.
type script struct {
	mu      sync.Mutex
	answers []answer
	calls   int
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a := s.answers[min(s.calls, len(s.answers)-1)]
	s.calls++
	s.mu.Unlock()
	if a.hangUp {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func TestClientRetryPolicy(t *testing.T) {
	t.Parallel()
	ok := answer{status: 200, body: `{"name":"ok"}`}
	tests := []struct {
		name       string
		answers    []answer
		wantCalls  int
		wantErr    error // a sentinel; nil means success
		wantStatus int   // of the *APIError, when one is expected
	}{
		{name: "success", answers: []answer{ok}, wantCalls: 1},
		{name: "503 then success", answers: []answer{{status: 503}, ok}, wantCalls: 2},
		{
			name:      "5xx until the last attempt",
			answers:   []answer{{status: 500}, {status: 502}, {status: 503}, ok},
			wantCalls: 4,
		},
		{
			name:    "5xx on every attempt",
			answers: []answer{{status: 500, body: "boom"}}, wantCalls: 4,
			wantErr: ErrServer, wantStatus: 500,
		},
		{
			name:      "malformed then success",
			answers:   []answer{{status: 200, body: "<html>"}, ok},
			wantCalls: 2,
		},
		{
			name:    "truncated on every attempt",
			answers: []answer{{status: 200, body: `{"name":"o`}}, wantCalls: 4,
			wantErr: ErrBadResponse, wantStatus: 200,
		},
		{name: "hang-up then success", answers: []answer{{hangUp: true}, ok}, wantCalls: 2},
		{
			name:    "hang-up every time",
			answers: []answer{{hangUp: true}}, wantCalls: 4,
			wantErr: ErrServer,
		},
		{
			name:    "400 is final",
			answers: []answer{{status: 400, body: `{"message":"bad"}`}}, wantCalls: 1,
			wantStatus: 400,
		},
		{name: "403 is final", answers: []answer{{status: 403}}, wantCalls: 1, wantStatus: 403},
		{
			name:    "404 is final",
			answers: []answer{{status: 404}}, wantCalls: 1,
			wantErr: ErrNotFound, wantStatus: 404,
		},
		{
			name:      "429 then success",
			answers:   []answer{{status: 429, retryAfter: "1"}, ok},
			wantCalls: 2,
		},
		{
			name:    "429 on every attempt",
			answers: []answer{{status: 429}}, wantCalls: 4,
			wantErr: ErrRateLimited, wantStatus: 429,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := &script{answers: tt.answers}
			c, fc := newTestClient(t, srv)
			var got struct{ Name string }
			req := request{method: http.MethodGet, path: "/storefront/products"}
			err := drive(t, fc, time.Second, func() error {
				return c.do(t.Context(), req, decodeInto(&got, nil))
			})
			if n := srv.count(); n != tt.wantCalls {
				t.Errorf("server saw %d requests; want %d", n, tt.wantCalls)
			}
			checkErr(t, err, tt.wantErr, tt.wantStatus)
			if err == nil && got.Name != "ok" {
				t.Errorf("decoded %+v; want the success body", got)
			}
		})
	}
}

// checkErr compares err with the sentinel and *APIError status a test
// expects; wantErr nil and wantStatus 0 expect success.
func checkErr(t *testing.T, err, wantErr error, wantStatus int) {
	t.Helper()
	if wantErr == nil && wantStatus == 0 {
		if err != nil {
			t.Fatalf("error = %v; want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("error = nil; want %v (status %d)", wantErr, wantStatus)
	}
	if wantErr != nil && !errors.Is(err, wantErr) {
		t.Errorf("error = %v; want it to wrap %v", err, wantErr)
	}
	if got := status(err); got != wantStatus {
		t.Errorf("status(%v) = %d; want %d", err, got, wantStatus)
	}
}

func TestClientSendsKeyAndNoSecretsLeak(t *testing.T) {
	t.Parallel()
	const access = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjMSJ9.c2lnbmF0dXJl"
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != testKey {
			t.Errorf("X-Api-Key = %q; want the configured key", r.Header.Get("X-Api-Key"))
		}
		if r.Header.Get("User-Agent") != DefaultUserAgent {
			t.Errorf("User-Agent = %q; want %q", r.Header.Get("User-Agent"), DefaultUserAgent)
		}
		// A misbehaving proxy echoing the request's credentials.
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "upstream said no to key "+r.Header.Get("X-Api-Key")+
			" with "+r.Header.Get("Authorization"))
	})
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, fc := newTestClient(t, echo, func(cfg *Config) { cfg.Logger = logger })
	s := NewSession("c1", Tokens{AccessToken: access, RefreshToken: "refresh-secret"}, nil)

	err := drive(t, fc, time.Second, func() error {
		_, err := c.GetOrder(t.Context(), s, "o1")
		return err
	})
	checkErr(t, err, ErrServer, http.StatusBadGateway)
	for _, secret := range []string{testKey, access, "refresh-secret"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q leaks a secret", err)
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("logs leak a secret:\n%s", logs.String())
		}
	}
	for _, want := range []string{"GET", "/storefront/orders/o1", "502", "customer c1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	checkRequestLogs(t, logs.Bytes(), DefaultMaxAttempts)
}

// checkRequestLogs verifies one debug line per attempt with the agreed keys.
func checkRequestLogs(t *testing.T, logs []byte, wantLines int) {
	t.Helper()
	lines := bytes.Split(bytes.TrimSpace(logs), []byte("\n"))
	if len(lines) != wantLines {
		t.Fatalf("%d log lines; want %d:\n%s", len(lines), wantLines, logs)
	}
	for i, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		keys := []string{"method", "path", "status", "duration_ms", "attempt", "component"}
		for _, k := range keys {
			if _, ok := rec[k]; !ok {
				t.Errorf("log line %d lacks %q: %s", i, k, line)
			}
		}
		if rec["level"] != "DEBUG" || rec["attempt"] != float64(i+1) {
			t.Errorf("log line %d = %s; want level DEBUG and attempt %d", i, line, i+1)
		}
	}
}

func TestClientHonoursContextDuringBackoff(t *testing.T) {
	t.Parallel()
	srv := &script{answers: []answer{{status: 503}}}
	c, fc := newTestClient(t, srv)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- c.do(ctx, request{method: http.MethodGet, path: "/storefront/products"},
			decodeInto(new(struct{}), nil))
	}()
	if err := fc.BlockUntilContext(t.Context(), 1); err != nil {
		t.Fatalf("waiting for the backoff timer: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("do() after cancel = %v; want context.Canceled", err)
	}
	if n := srv.count(); n != 1 {
		t.Errorf("server saw %d requests; want 1", n)
	}
}

// TestClient429PausesTheWholeKey checks that after one 429 every goroutine
// using the key waits for Retry-After, not just the one that was refused.
func TestClient429PausesTheWholeKey(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"message":"ThrottlerException: Too Many Requests"}`)
			return
		}
		io.WriteString(w, `{}`)
	})
	c, fc := newTestClient(t, h)
	get := func() error {
		return c.do(t.Context(), request{method: http.MethodGet, path: "/storefront/products"},
			decodeInto(new(struct{}), nil))
	}
	const others = 3
	done := make(chan error, others+1)
	go func() { done <- get() }()
	if err := fc.BlockUntilContext(t.Context(), 1); err != nil { // the first is paused
		t.Fatalf("waiting for the pause: %v", err)
	}
	for range others {
		go func() { done <- get() }()
	}
	if err := fc.BlockUntilContext(t.Context(), others+1); err != nil {
		t.Fatalf("waiting for every goroutine to pause: %v", err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("server saw %d requests during the pause; want 1", n)
	}
	if got := c.Limiter().Stats(General).PausedUntil; !got.Equal(epoch.Add(5 * time.Second)) {
		t.Errorf("PausedUntil = %v; want +5s", got)
	}
	fc.Advance(5 * time.Second)
	for range others + 1 {
		if err := <-done; err != nil {
			t.Errorf("request after the pause = %v; want nil", err)
		}
	}
	if n := calls.Load(); n != others+2 {
		t.Errorf("server saw %d requests; want %d", n, others+2)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{name: "minimal", cfg: Config{APIKey: "sfk_x"}},
		{name: "with prefix", cfg: Config{APIKey: "sfk_x", BaseURL: "http://127.0.0.1:1/api/"}},
		{name: "no key", cfg: Config{}, wantErr: true},
		{
			name:    "relative url",
			cfg:     Config{APIKey: "sfk_x", BaseURL: "api.opencals.com"},
			wantErr: true,
		},
		{name: "other scheme", cfg: Config{APIKey: "sfk_x", BaseURL: "ftp://x"}, wantErr: true},
		{name: "negative attempts", cfg: Config{APIKey: "sfk_x", MaxAttempts: -1}, wantErr: true},
	}
	for _, tt := range tests {
		c, err := New(tt.cfg)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: New() = %v; want error %v", tt.name, err, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "sfk_x") {
			t.Errorf("%s: error %q leaks the key", tt.name, err)
		}
		if c != nil {
			c.CloseIdleConnections()
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := epoch
	tests := []struct {
		header string
		want   time.Duration
	}{
		{header: "", want: 0},
		{header: "3", want: 3 * time.Second},
		{header: " 12 ", want: 12 * time.Second},
		{header: "-4", want: 0},
		{header: now.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second},
		{header: now.Add(-time.Minute).Format(http.TimeFormat), want: 0},
		{header: "soon", want: 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.header != "" {
			h.Set("Retry-After", tt.header)
		}
		if got := retryAfter(h, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v; want %v", tt.header, got, tt.want)
		}
	}
}
