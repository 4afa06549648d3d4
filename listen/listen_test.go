package listen

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/internal/testutil"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// start runs a receiver for the test.
func start(t *testing.T, opts Options) *Receiver {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = clockwork.NewFakeClockAt(t0)
	}
	r, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start() = %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return r
}

// post sends body to the receiver signed with signer (none when nil) and
// returns the status.
func post(t *testing.T, r *Receiver, signer *event.Signer, id, attempt string,
	body []byte,
) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.URL(), bytes.NewReader(body))
	if err != nil {
		t.Fatalf("NewRequest() = %v", err)
	}
	if signer != nil {
		signer.Sign(req.Header, id, t0, body)
	}
	req.Header.Set(event.HeaderAttempt, attempt)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s = %v", r.URL(), err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func sample(t *testing.T, typ event.Type) (event.Event, []byte) {
	t.Helper()
	ev, err := event.Sample(typ, t0)
	if err != nil {
		t.Fatalf("Sample(%s) = %v", typ, err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("encoding sample: %v", err)
	}
	return ev, body
}

func signer(t *testing.T, scheme event.Scheme, secret string) *event.Signer {
	t.Helper()
	s, err := event.NewSigner(scheme, "", []string{secret})
	if err != nil {
		t.Fatalf("NewSigner() = %v", err)
	}
	return s
}

func TestReceiverVerifiesPrintsAndCounts(t *testing.T) {
	t.Parallel()
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte("listen key"))
	var (
		out, events testutil.Buffer
		mu          sync.Mutex
		got         []event.Type
	)
	r := start(t, Options{Secrets: []string{"plain-secret", whsec}, Out: &out,
		EventsOut: &events, OnEvent: func(ev event.Event) {
			mu.Lock()
			got = append(got, ev.Type)
			mu.Unlock()
		}})

	resched, reschedBody := sample(t, event.AppointmentRescheduled)
	refund, refundBody := sample(t, event.OrderRefunded)
	tests := []struct {
		name       string
		signer     *event.Signer
		id         string
		attempt    string
		body       []byte
		wantStatus int
		wantLine   []string
	}{
		{name: "opencals", signer: signer(t, event.SchemeOpencals, "plain-secret"),
			id: resched.ID, attempt: "1", body: reschedBody, wantStatus: 204,
			wantLine: []string{"✓ appointment.rescheduled", "appointment 0a1b2c3d",
				"Haircut #1001 · now Sat 5 Dec 09:00–10:00 UTC (was Fri 4 Dec 09:00–10:00 UTC)",
				"[test]"}},
		{name: "standard webhooks, a retry", signer: signer(t,
			event.SchemeStandardWebhooks, whsec), id: refund.ID, attempt: "3",
			body: refundBody, wantStatus: 204,
			wantLine: []string{"✓ order.refunded", "order 9e8d7c6b",
				"order #1001 · refunded 20.00 EUR of 55.35 EUR paid", "[attempt 3, test]"}},
		{name: "again", signer: signer(t, event.SchemeOpencals, "plain-secret"),
			id: resched.ID, attempt: "2", body: reschedBody, wantStatus: 204,
			wantLine: []string{"[attempt 2, test, again]"}},
		{name: "wrong secret", signer: signer(t, event.SchemeOpencals, "other"),
			id: resched.ID, body: reschedBody, wantStatus: 401,
			wantLine: []string{"✗ rejected 401", "signature does not match"}},
		{name: "unsigned", id: resched.ID, body: reschedBody, wantStatus: 401,
			wantLine: []string{"✗ rejected 401", "no signature"}},
		{name: "not an event", signer: signer(t, event.SchemeOpencals, "plain-secret"),
			id: "x", body: []byte(`{"hello":"world"}`), wantStatus: 400,
			wantLine: []string{"✗ rejected 400", "not an event envelope"}},
	}
	for _, tt := range tests {
		before := len(strings.Split(out.String(), "\n"))
		if got := post(t, r, tt.signer, tt.id, tt.attempt, tt.body); got != tt.wantStatus {
			t.Errorf("%s: status = %d; want %d", tt.name, got, tt.wantStatus)
		}
		lines := strings.Split(out.String(), "\n")
		if len(lines) != before+1 {
			t.Fatalf("%s: printed %d lines; want 1", tt.name, len(lines)-before)
		}
		line := lines[len(lines)-2]
		for _, want := range tt.wantLine {
			if !strings.Contains(line, want) {
				t.Errorf("%s: line %q lacks %q", tt.name, line, want)
			}
		}
	}

	wantCounts := Counts{Verified: 3, Duplicates: 1, Rejected: 3, ByType: map[event.Type]int{
		event.AppointmentRescheduled: 2, event.OrderRefunded: 1}}
	if diff := cmp.Diff(wantCounts, r.Counts()); diff != "" {
		t.Errorf("Counts() mismatch (-want +got):\n%s", diff)
	}
	wantSummary := "3 verified (2 appointment.rescheduled, 1 order.refunded), " +
		"1 duplicates, 3 rejected"
	if got := r.Summary(); got != wantSummary {
		t.Errorf("Summary() = %q; want %q", got, wantSummary)
	}
	wantEvents := string(reschedBody) + "\n" + string(refundBody) + "\n" +
		string(reschedBody) + "\n"
	if got := events.String(); got != wantEvents {
		t.Errorf("events file = %s; want the three bodies, one per line", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]event.Type{event.AppointmentRescheduled, event.OrderRefunded,
		event.AppointmentRescheduled}, got); diff != "" {
		t.Errorf("OnEvent calls (-want +got):\n%s", diff)
	}
}

func TestReceiverRequiredScheme(t *testing.T) {
	t.Parallel()
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte("k"))
	var out testutil.Buffer
	r := start(t, Options{Secrets: []string{whsec}, Scheme: event.SchemeStandardWebhooks,
		Out: &out})
	ev, body := sample(t, event.OrderPaid)
	if got := post(t, r, signer(t, event.SchemeOpencals, whsec), ev.ID, "1", body); got != 401 {
		t.Errorf("opencals-signed to a standard-webhooks receiver: status %d; want 401", got)
	}
	if got := post(t, r, signer(t, event.SchemeStandardWebhooks, whsec), ev.ID, "1",
		body); got != 204 {
		t.Errorf("standard-webhooks-signed: status %d; want 204", got)
	}
	if !strings.Contains(out.String(), "order #1001 · paid 55.35 EUR") {
		t.Errorf("output %q lacks the payment", out.String())
	}
}

func TestReceiverEitherSchemeWithPlainSecret(t *testing.T) {
	t.Parallel()
	var out testutil.Buffer
	r := start(t, Options{Secrets: []string{"plain"}, Out: &out})
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte("k"))
	ev, body := sample(t, event.OrderPaid)
	if got := post(t, r, signer(t, event.SchemeStandardWebhooks, whsec), ev.ID, "1",
		body); got != 401 {
		t.Errorf("standard-webhooks request without a whsec_ secret: %d; want 401", got)
	}
	if !strings.Contains(out.String(), "no secret fits it") {
		t.Errorf("output %q does not say why", out.String())
	}
}

func TestReceiverRejectsOtherMethods(t *testing.T) {
	t.Parallel()
	r := start(t, Options{Secrets: []string{"s"}})
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(r.URL())
	if err != nil {
		t.Fatalf("GET = %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET status = %d; want 405", resp.StatusCode)
	}
}

func TestStartRequiresASecret(t *testing.T) {
	t.Parallel()
	if _, err := Start(context.Background(), Options{}); err == nil {
		t.Errorf("Start(no secret) = nil error; want one")
	}
}

func TestColorOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	ev, _ := sample(t, event.AppointmentCreated)
	plain := style{now: t0}.verified(ev, "1", false)
	colored := style{now: t0, color: true}.verified(ev, "1", false)
	if strings.Contains(plain, "\x1b[") || !strings.Contains(colored, "\x1b[") {
		t.Errorf("plain %q / colored %q: escapes in the wrong one", plain, colored)
	}
}

func TestMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{minor: 5535, currency: "EUR", want: "55.35 EUR"},
		{minor: 5, currency: "USD", want: "0.05 USD"},
		{minor: -250, currency: "EUR", want: "-2.50 EUR"},
		{minor: 1200, currency: "JPY", want: "1200 JPY"},
	}
	for _, tt := range tests {
		if got := money(tt.minor, tt.currency); got != tt.want {
			t.Errorf("money(%d, %s) = %q; want %q", tt.minor, tt.currency, got, tt.want)
		}
	}
}
