package sandbox

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	t.Parallel()
	limit := Limit{Requests: 2, Per: 1500 * time.Millisecond}
	tests := []struct {
		name      string
		at        []time.Duration // request times after the start
		wantAllow bool            // for the last one
		wantWait  time.Duration
	}{
		{name: "under the limit", at: []time.Duration{0, 0}, wantAllow: true},
		{name: "over the limit", at: []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond},
			wantWait: 1300 * time.Millisecond},
		{name: "oldest left the window", wantAllow: true,
			at: []time.Duration{0, 100 * time.Millisecond, 1500 * time.Millisecond}},
		{name: "refused requests are not logged", wantAllow: true,
			at: []time.Duration{0, 0, 0, 0, 1500 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := window{limit: limit}
			var allowed bool
			var wait time.Duration
			for _, d := range tt.at {
				allowed, wait = w.allow(testStart.Add(d))
			}
			if allowed != tt.wantAllow || wait != tt.wantWait {
				t.Errorf("allow() = %v, %v; want %v, %v", allowed, wait, tt.wantAllow, tt.wantWait)
			}
		})
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		wait time.Duration
		want int
	}{
		{wait: 0, want: 1},
		{wait: time.Millisecond, want: 1},
		{wait: time.Second, want: 1},
		{wait: 1300 * time.Millisecond, want: 2},
		{wait: 60 * time.Second, want: 60},
	}
	for _, tt := range tests {
		if got := retryAfterSeconds(tt.wait); got != tt.want {
			t.Errorf("retryAfterSeconds(%v) = %d; want %d", tt.wait, got, tt.want)
		}
	}
}

// TestRateLimits drives both budgets over HTTP on a fake clock: 429 with
// Retry-After and the error body, separate categories, and recovery once
// the window moves on.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	general := Limit{Requests: 3, Per: 10 * time.Second}
	auth := Limit{Requests: 2, Per: 5 * time.Second}
	h := newHarness(t, Config{RateLimit: general, AuthRateLimit: auth})
	email := h.customer(0).email
	signIn := func() response {
		return h.do(http.MethodPost, "/storefront/auth/sign-in", "",
			map[string]string{"email": email, "password": SandboxPassword})
	}
	products := func() response { return h.get("/storefront/products", "") }

	steps := []struct {
		name           string
		advance        time.Duration
		call           func() response
		wantStatus     int
		wantRetryAfter string
	}{
		{name: "general 1", call: products, wantStatus: http.StatusOK},
		{name: "general 2", call: products, wantStatus: http.StatusOK},
		{name: "general 3", advance: 2 * time.Second, call: products, wantStatus: http.StatusOK},
		{name: "general over", call: products, wantStatus: http.StatusTooManyRequests,
			wantRetryAfter: "8"},
		{name: "auth has its own budget", call: signIn, wantStatus: http.StatusOK},
		{name: "auth 2", call: signIn, wantStatus: http.StatusOK},
		{name: "auth over", advance: 1500 * time.Millisecond, call: signIn,
			wantStatus: http.StatusTooManyRequests, wantRetryAfter: "4"},
		{name: "general still over", advance: 5 * time.Second, call: products,
			wantStatus: http.StatusTooManyRequests, wantRetryAfter: "2"},
		{name: "general after Retry-After", advance: 2 * time.Second, call: products,
			wantStatus: http.StatusOK},
		{name: "auth after the window", call: signIn, wantStatus: http.StatusOK},
	}
	for _, st := range steps {
		h.clock.Advance(st.advance)
		r := st.call()
		if r.status != st.wantStatus || r.header.Get("Retry-After") != st.wantRetryAfter {
			t.Fatalf("%s: %d Retry-After %q; want %d Retry-After %q", st.name, r.status,
				r.header.Get("Retry-After"), st.wantStatus, st.wantRetryAfter)
		}
		if r.status == http.StatusTooManyRequests {
			var e wireError
			r.decode(t, &e)
			if e.Message == "" {
				t.Errorf("%s: 429 body %s; want a message", st.name, r.body)
			}
		}
	}
	if got := h.sb.Stats().RateLimited; got != 3 {
		t.Errorf("Stats().RateLimited = %d; want 3", got)
	}
}

// TestRateLimitIgnoresBadKeys pins that requests with a wrong key are
// refused without spending the store's budget.
func TestRateLimitIgnoresBadKeys(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{RateLimit: Limit{Requests: 1, Per: time.Minute}})
	for i := range 3 {
		r := h.send("sfk_wrong", http.MethodGet, "/storefront/products", "", nil)
		if r.status != http.StatusUnauthorized {
			t.Fatalf("request %d with a wrong key = %d; want 401", i, r.status)
		}
	}
	if r := h.get("/storefront/products", ""); r.status != http.StatusOK {
		t.Fatalf("first request with the key = %d; want 200", r.status)
	}
	r := h.get("/storefront/products", "")
	wait, _ := strconv.Atoi(r.header.Get("Retry-After"))
	if r.status != http.StatusTooManyRequests || wait != 60 {
		t.Fatalf("second request = %d Retry-After %q; want 429 Retry-After 60", r.status,
			r.header.Get("Retry-After"))
	}
}
