package deliver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/internal/testutil"
)

// trickyBody has non-ASCII text, escapes and a key order a re-encoding
// would change.
var trickyBody = []byte(`{"id":"evt_1","type":"order.paid","data":{"object":` +
	`{"zeta":1,"alpha":"Café Ñandú — 東京 \u00e9","n":1.50}}}`)

func TestHTTPHandlerSendsSignedStoredBytes(t *testing.T) {
	t.Parallel()
	std1 := "whsec_" + base64.StdEncoding.EncodeToString([]byte("new key"))
	std2 := "whsec_" + base64.StdEncoding.EncodeToString([]byte("old key"))
	tests := []struct {
		name    string
		scheme  event.Scheme
		header  string
		secrets []string
		verify  func(h http.Header, body []byte) bool
	}{
		{name: "opencals", scheme: event.SchemeOpencals, secrets: []string{"s3cret"},
			verify: func(h http.Header, b []byte) bool {
				return testutil.VerifyOpencals(h, "Opencals-Signature", "s3cret", b)
			}},
		{name: "opencals custom header", scheme: event.SchemeOpencals, header: "X-Sig",
			secrets: []string{"s3cret"},
			verify: func(h http.Header, b []byte) bool {
				return testutil.VerifyOpencals(h, "X-Sig", "s3cret", b)
			}},
		{name: "standard two secrets", scheme: event.SchemeStandardWebhooks,
			secrets: []string{std1, std2},
			verify: func(h http.Header, b []byte) bool {
				return testutil.VerifyStandardWebhooks(h, std1, b) && testutil.VerifyStandardWebhooks(h, std2, b) &&
					h.Get("webhook-timestamp") == strconv.FormatInt(t0.Unix(), 10)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, always(http.StatusNoContent))
			signer, err := event.NewSigner(tt.scheme, tt.header, tt.secrets)
			if err != nil {
				t.Fatalf("NewSigner() = %v", err)
			}
			h, err := NewHTTPHandler(HTTPOptions{
				URL: rc.srv.URL + "/hooks", Signer: signer, UserAgent: "opencals-sync/1.2.3",
				Headers: map[string]string{"X-Tenant": "t1"},
				Clock:   clockwork.NewFakeClockAt(t0), Transport: closingTransport(t),
			})
			if err != nil {
				t.Fatalf("NewHTTPHandler() = %v", err)
			}
			status, err := h.Send(context.Background(), Delivery{EventID: "evt_1",
				Type: event.OrderPaid, Body: trickyBody, Attempt: 3})
			if err != nil || status != http.StatusNoContent {
				t.Fatalf("Send() = %d, %v; want 204", status, err)
			}
			r := rc.requests()[0]
			if string(r.body) != string(trickyBody) {
				t.Errorf("body = %s; want the given bytes %s", r.body, trickyBody)
			}
			if !tt.verify(r.header, r.body) {
				t.Errorf("independent verification failed; headers %v", r.header)
			}
			for k, want := range map[string]string{
				"Content-Type": "application/json", "User-Agent": "opencals-sync/1.2.3",
				"Opencals-Event-Id": "evt_1", "Opencals-Event-Type": "order.paid",
				"Opencals-Delivery-Attempt": "3", "X-Tenant": "t1",
			} {
				if got := r.header.Get(k); got != want {
					t.Errorf("header %s = %q; want %q", k, got, want)
				}
			}
		})
	}
}

// closingTransport is a transport whose idle connections close at the end
// of the test, so that goleak sees no connection goroutine.
func closingTransport(t *testing.T) *http.Transport {
	t.Helper()
	tr := NewTransport()
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

func TestHTTPHandlerErrors(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		handler        http.HandlerFunc
		wantStatus     int
		wantGone       bool
		wantRetryAfter time.Duration
		wantText       string
	}{
		{name: "server error with body", wantStatus: 500, wantText: "HTTP 500: database\ndown",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(500)
				_, _ = w.Write([]byte("database\ndown"))
			}},
		{name: "gone", wantStatus: 410, wantGone: true, wantText: "HTTP 410",
			handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(410) }},
		{name: "redirect not followed", wantStatus: 302, wantText: "HTTP 302",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/moved" {
					w.WriteHeader(200) // following would reach here
					return
				}
				http.Redirect(w, r, "/moved", http.StatusFound)
			}},
		{name: "503 retry-after seconds", wantStatus: 503, wantRetryAfter: 30 * time.Second,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "30")
				w.WriteHeader(503)
			}},
		{name: "429 retry-after date", wantStatus: 429, wantRetryAfter: 90 * time.Second,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
				w.WriteHeader(429)
			}},
		{name: "retry-after ignored on 500", wantStatus: 500,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "30")
				w.WriteHeader(500)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			h := newTestHTTPHandler(t, srv.URL+"/hook", time.Second, clockwork.NewFakeClockAt(now))
			status, err := h.Send(context.Background(), Delivery{EventID: "evt_1",
				Type: event.OrderPaid, Body: []byte(`{}`), Attempt: 1})
			var he *HTTPError
			if !errors.As(err, &he) || status != tt.wantStatus || he.StatusCode != tt.wantStatus {
				t.Fatalf("Send() = %d, %v; want an HTTPError %d", status, err, tt.wantStatus)
			}
			if got := errors.Is(err, ErrGone); got != tt.wantGone {
				t.Errorf("errors.Is(%v, ErrGone) = %v; want %v", err, got, tt.wantGone)
			}
			if he.RetryAfter != tt.wantRetryAfter {
				t.Errorf("RetryAfter = %s; want %s", he.RetryAfter, tt.wantRetryAfter)
			}
			if tt.wantText != "" && err.Error() != strings.ReplaceAll(tt.wantText, "\n", " ") {
				t.Errorf("error = %q; want %q", err, tt.wantText)
			}
		})
	}
}

func newTestHTTPHandler(t *testing.T, url string, timeout time.Duration,
	clock clockwork.Clock,
) *HTTPHandler {
	t.Helper()
	signer, err := event.NewSigner(event.SchemeOpencals, "", []string{"k"})
	if err != nil {
		t.Fatalf("NewSigner() = %v", err)
	}
	h, err := NewHTTPHandler(HTTPOptions{URL: url, Signer: signer, Timeout: timeout,
		Clock: clock, Transport: closingTransport(t)})
	if err != nil {
		t.Fatalf("NewHTTPHandler(%s) = %v", url, err)
	}
	return h
}

func TestHTTPHandlerTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	h := newTestHTTPHandler(t, srv.URL, 50*time.Millisecond, nil)
	_, err := h.Send(context.Background(), Delivery{EventID: "e", Body: []byte(`{}`)})
	if err == nil || !strings.Contains(err.Error(), "no answer within 50ms") {
		t.Errorf("Send() to a silent server = %v; want a timeout", err)
	}
}

func TestHTTPHandlerErrorHidesURLSecrets(t *testing.T) {
	t.Parallel()
	// A port nothing listens on: take one and close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen() = %v", err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	h := newTestHTTPHandler(t, "http://user:hunter2@"+addr+"/hook?token=abc123", time.Second,
		nil)
	_, err = h.Send(context.Background(), Delivery{EventID: "e", Body: []byte(`{}`)})
	if err == nil {
		t.Fatalf("Send() to a closed port = nil; want an error")
	}
	for _, secret := range []string{"hunter2", "abc123", "token"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q reveals %q", err, secret)
		}
	}
	if !strings.Contains(err.Error(), addr+"/hook") {
		t.Errorf("error %q does not name the host and path", err)
	}
}

func TestHTTPHandlerHandleEncodesEvent(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, always(http.StatusOK))
	h := newTestHTTPHandler(t, rc.srv.URL, time.Second, nil)
	ev := testEvent(event.AppointmentCanceled, "a1", "", t0)
	if err := h.Handle(context.Background(), ev); err != nil {
		t.Fatalf("Handle() = %v", err)
	}
	r := rc.requests()[0]
	var got event.Event
	if err := json.Unmarshal(r.body, &got); err != nil || got.ID != ev.ID {
		t.Errorf("Handle() sent %s (%v); want event %s", r.body, err, ev.ID)
	}
	if a := r.header.Get(event.HeaderAttempt); a != "1" {
		t.Errorf("attempt header = %q; want 1", a)
	}
}

func TestNewHTTPHandlerRejects(t *testing.T) {
	t.Parallel()
	signer, err := event.NewSigner(event.SchemeOpencals, "", []string{"k"})
	if err != nil {
		t.Fatalf("NewSigner() = %v", err)
	}
	tests := []struct {
		name string
		opts HTTPOptions
	}{
		{name: "no scheme", opts: HTTPOptions{URL: "example.com/hook", Signer: signer}},
		{name: "ftp", opts: HTTPOptions{URL: "ftp://example.com/hook", Signer: signer}},
		{name: "no signer", opts: HTTPOptions{URL: "https://example.com/hook"}},
		{name: "forged signature", opts: HTTPOptions{URL: "https://example.com/hook",
			Signer: signer, Headers: map[string]string{"opencals-signature": "x"}}},
		{name: "content type", opts: HTTPOptions{URL: "https://example.com/hook",
			Signer: signer, Headers: map[string]string{"Content-Type": "text/plain"}}},
		{name: "webhook header", opts: HTTPOptions{URL: "https://example.com/hook",
			Signer: signer, Headers: map[string]string{"Webhook-Id": "x"}}},
	}
	for _, tt := range tests {
		if _, err := NewHTTPHandler(tt.opts); !errors.Is(err, ErrInvalidEndpoint) {
			t.Errorf("NewHTTPHandler(%s) = %v; want ErrInvalidEndpoint", tt.name, err)
		}
	}
}
