package webhook

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/deliver"
	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/store"
)

const (
	testPath   = "/webhooks/opencals"
	testSecret = "opencals-webhook-secret"
	// testMaxBody is small so that an oversized body is cheap to send.
	testMaxBody = 8 << 10
)

// rig is a receiver on a loopback listener, writing to a real store whose
// dispatcher delivers to a Go handler that counts deliveries.
type rig struct {
	url string
	db  *store.DB

	mu        gosync.Mutex
	delivered map[string]int
	arrived   chan string
}

// settings is the receiver's settings for the given scheme and secrets.
func settings(t testing.TB, scheme event.Scheme, secrets ...string) Settings {
	t.Helper()
	v, err := event.NewVerifier(scheme, "", secrets, 0)
	if err != nil {
		t.Fatal(err)
	}
	return Settings{Path: testPath, Verifier: v, MaxBody: testMaxBody}
}

func newRig(t *testing.T, s Settings, clock clockwork.Clock) *rig {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "state.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	r := &rig{db: db, delivered: make(map[string]int), arrived: make(chan string, 16)}
	// Registered before any event, the endpoint gets every one of them.
	target := store.EndpointTarget{Name: "handler", Types: event.Types}
	if _, err := db.RegisterEndpoints(ctx, []store.EndpointTarget{target}, time.Now()); err != nil {
		t.Fatal(err)
	}
	disp := deliver.NewDispatcher(deliver.Options{Store: db})
	disp.Update([]deliver.Endpoint{{Name: "handler", Handler: deliver.HandlerFunc(r.handle)}})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- disp.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Dispatcher.Run() = %v", err)
		}
	})

	recv, err := New(Options{Store: db, Notify: disp.Notify, Clock: clock}, s)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	r.url = srv.URL + testPath
	return r
}

func (r *rig) handle(_ context.Context, ev event.Event) error {
	r.mu.Lock()
	r.delivered[ev.ID]++
	r.mu.Unlock()
	r.arrived <- ev.ID
	return nil
}

// deliveries is how often the handler got id.
func (r *rig) deliveries(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.delivered[id]
}

// awaitDelivery waits until the handler gets id.
func (r *rig) awaitDelivery(t *testing.T, id string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case got := <-r.arrived:
			if got == id {
				return
			}
		case <-timeout:
			t.Fatalf("event %s never reached the handler", id)
		}
	}
}

// stored lists the ids in the outbox.
func (r *rig) stored(t *testing.T) []string {
	t.Helper()
	evs, err := r.db.ListEvents(context.Background(), store.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	return ids
}

// post sends body with the headers set by sign, and returns the status and
// the decoded answer of a 2xx.
func post(t *testing.T, url string, body []byte, sign func(h http.Header)) (int, answer) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sign != nil {
		sign(req.Header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a answer
	if resp.StatusCode/100 == 2 {
		if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
			t.Fatalf("decoding the answer: %v", err)
		}
	}
	return resp.StatusCode, a
}

// signedWith signs with the opencals scheme and secret.
func signedWith(t *testing.T, secret string, body []byte) func(h http.Header) {
	return func(h http.Header) { signOpencals(t, h, secret, body) }
}

// appointmentCreated is a valid delivery for appointment id.
func appointmentCreated(t testing.TB, id string) []byte {
	t.Helper()
	return wrap(t, string(event.AppointmentCreated), sampleObject(t, event.AppointmentCreated,
		func(m map[string]any) { m["id"] = id }))
}

func TestReceiverStoresAndDispatchesAValidDeliveryOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, settings(t, event.SchemeOpencals, testSecret), nil)
	body := appointmentCreated(t, "a1")
	wantID := event.ID(event.SampleStoreID, event.AppointmentCreated, "a1", "")

	status, got := post(t, r.url, body, signedWith(t, testSecret, body))
	if status != http.StatusAccepted || got.ID != wantID || got.Duplicate {
		t.Fatalf("POST = %d %+v; want 202 {ID:%s Duplicate:false}", status, got, wantID)
	}
	r.awaitDelivery(t, wantID)

	// The same delivery again: acknowledged, recorded nowhere, sent nowhere.
	status, got = post(t, r.url, body, signedWith(t, testSecret, body))
	if status != http.StatusOK || got.ID != wantID || !got.Duplicate {
		t.Fatalf("POST again = %d %+v; want 200 {ID:%s Duplicate:true}", status, got, wantID)
	}
	// A later event goes through the same dispatcher: once it has arrived,
	// a second delivery of the first would have too.
	next := appointmentCreated(t, "a2")
	status, _ = post(t, r.url, next, signedWith(t, testSecret, next))
	if status != http.StatusAccepted {
		t.Fatalf("POST of another event = %d; want 202", status)
	}
	r.awaitDelivery(t, event.ID(event.SampleStoreID, event.AppointmentCreated, "a2", ""))
	if n := r.deliveries(wantID); n != 1 {
		t.Errorf("handler got %s %d times; want 1", wantID, n)
	}
	if ids := r.stored(t); len(ids) != 2 {
		t.Errorf("outbox holds %v; want the two events", ids)
	}
}

func TestReceiverConfirmsAnEventPollingFoundFirst(t *testing.T) {
	t.Parallel()
	r := newRig(t, settings(t, event.SchemeOpencals, testSecret), nil)
	body := appointmentCreated(t, "a1")
	polled, err := Map(body, now)
	if err != nil {
		t.Fatal(err)
	}
	polled.Source = event.SourcePoll
	if _, err := r.db.InsertEvents(context.Background(), []event.Event{polled}); err != nil {
		t.Fatal(err)
	}
	status, got := post(t, r.url, body, signedWith(t, testSecret, body))
	if status != http.StatusOK || !got.Duplicate {
		t.Fatalf("POST = %d %+v; want 200, a duplicate", status, got)
	}
	se, err := r.db.Event(context.Background(), polled.ID)
	if err != nil {
		t.Fatal(err)
	}
	if se.Source != event.SourcePoll || se.ConfirmedBy != event.SourceWebhook {
		t.Errorf("stored event source %q confirmed by %q; want poll confirmed by webhook",
			se.Source, se.ConfirmedBy)
	}
}

func TestReceiverRefusesBadDeliveries(t *testing.T) {
	t.Parallel()
	valid := appointmentCreated(t, "a1")
	oversized := appointmentCreated(t, string(bytes.Repeat([]byte("x"), testMaxBody)))
	tests := []struct {
		name       string
		method     string
		path       string
		body       []byte
		sign       func(t *testing.T, h http.Header)
		chunked    bool // no Content-Length, so only reading finds the size
		wantStatus int
	}{
		{name: "signature of other bytes", body: valid, wantStatus: http.StatusUnauthorized,
			sign: func(t *testing.T, h http.Header) { signOpencals(t, h, testSecret, []byte("{}")) }},
		{name: "no signature header", body: valid, wantStatus: http.StatusUnauthorized},
		{name: "signature not hex", body: valid, wantStatus: http.StatusUnauthorized,
			sign: func(_ *testing.T, h http.Header) { h.Set(event.DefaultSignatureHeader, "zz") }},
		{name: "wrong secret", body: valid, wantStatus: http.StatusUnauthorized,
			sign: func(t *testing.T, h http.Header) { signOpencals(t, h, "another-secret", valid) }},
		{name: "truncated body", body: valid[:len(valid)/2], wantStatus: http.StatusUnauthorized,
			sign: func(t *testing.T, h http.Header) { signOpencals(t, h, testSecret, valid) }},
		{name: "oversized body", body: oversized, wantStatus: http.StatusRequestEntityTooLarge,
			sign: func(t *testing.T, h http.Header) { signOpencals(t, h, testSecret, oversized) }},
		{name: "oversized chunked body", body: oversized, chunked: true,
			wantStatus: http.StatusRequestEntityTooLarge,
			sign:       func(t *testing.T, h http.Header) { signOpencals(t, h, testSecret, oversized) }},
		{name: "invalid JSON", body: []byte(`{"type":"appointment.created",`),
			wantStatus: http.StatusBadRequest},
		{name: "unknown type", body: wrap(t, "appointment.moved", sampleObject(t,
			event.AppointmentCreated, nil)), wantStatus: http.StatusBadRequest},
		{name: "no store id",
			body:       []byte(`{"type":"appointment.created","data":{"object":{"id":"a"}}}`),
			wantStatus: http.StatusBadRequest},
		{name: "wrong path", path: "/other", body: valid, wantStatus: http.StatusNotFound},
		{name: "wrong method", method: http.MethodPut, body: valid,
			wantStatus: http.StatusMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, settings(t, event.SchemeOpencals, testSecret), nil)
			url := r.url
			if tc.path != "" {
				url = url[:len(url)-len(testPath)] + tc.path
			}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			var body io.Reader = bytes.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(body) // hides the length from net/http
			}
			req, err := http.NewRequest(method, url, body)
			if err != nil {
				t.Fatal(err)
			}
			sign := tc.sign
			if sign == nil && tc.wantStatus == http.StatusBadRequest {
				sign = func(t *testing.T, h http.Header) { signOpencals(t, h, testSecret, tc.body) }
			}
			if sign != nil {
				sign(t, req.Header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("%s = %d %q; want %d", method, resp.StatusCode, answer, tc.wantStatus)
			}
			if resp.StatusCode == http.StatusUnauthorized &&
				string(answer) != http.StatusText(http.StatusUnauthorized)+"\n" {
				t.Errorf("401 answer = %q; want no detail", answer)
			}
			if ids := r.stored(t); len(ids) != 0 {
				t.Errorf("outbox holds %v; want nothing", ids)
			}
		})
	}
}

func TestReceiverRefusesABodyCutShort(t *testing.T) {
	t.Parallel()
	r := newRig(t, settings(t, event.SchemeOpencals, testSecret), nil)
	body := appointmentCreated(t, "a1")
	h := http.Header{}
	signOpencals(t, h, testSecret, body)

	// The client announces the whole body, sends half and stops sending.
	host := r.url[len("http://") : len(r.url)-len(testPath)]
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n%s: %s\r\n\r\n",
		testPath, host, len(body), event.DefaultSignatureHeader, h.Get(event.DefaultSignatureHeader))
	if _, err := conn.Write(body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST of half the announced body = %d; want 400", resp.StatusCode)
	}
	if ids := r.stored(t); len(ids) != 0 {
		t.Errorf("outbox holds %v; want nothing", ids)
	}
}

func TestReceiverAcceptsEverySecretOfARotation(t *testing.T) {
	t.Parallel()
	r := newRig(t, settings(t, event.SchemeOpencals, "new-secret", "old-secret"), nil)
	tests := []struct {
		secret     string
		resource   string
		wantStatus int
	}{
		{secret: "old-secret", resource: "a1", wantStatus: http.StatusAccepted},
		{secret: "new-secret", resource: "a2", wantStatus: http.StatusAccepted},
		{secret: "retired-secret", resource: "a3", wantStatus: http.StatusUnauthorized},
	}
	for _, tc := range tests {
		body := appointmentCreated(t, tc.resource)
		if status, _ := post(t, r.url, body, signedWith(t, tc.secret, body)); status != tc.wantStatus {
			t.Errorf("POST signed with %s = %d; want %d", tc.secret, status, tc.wantStatus)
		}
	}
	if ids := r.stored(t); len(ids) != 2 {
		t.Errorf("outbox holds %v; want the two events signed with accepted secrets", ids)
	}
}

func TestReceiverChecksStandardWebhooksTimestamps(t *testing.T) {
	t.Parallel()
	secret := "whsec_" + "c2VjcmV0LWtleS1vZi10aGUtcmVjZWl2ZXI="
	clock := clockwork.NewFakeClockAt(now)
	r := newRig(t, settings(t, event.SchemeStandardWebhooks, secret), clock)
	signer, err := event.NewSigner(event.SchemeStandardWebhooks, "", []string{secret})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		signedAt   time.Time
		resource   string
		wantStatus int
	}{
		{name: "fresh", signedAt: now.Add(-time.Minute), resource: "a1",
			wantStatus: http.StatusAccepted},
		{name: "older than the tolerance", signedAt: now.Add(-event.DefaultTolerance - time.Minute),
			resource: "a2", wantStatus: http.StatusUnauthorized},
	}
	for _, tc := range tests {
		body := appointmentCreated(t, tc.resource)
		sign := func(h http.Header) { signer.Sign(h, "msg_"+tc.resource, tc.signedAt, body) }
		if status, _ := post(t, r.url, body, sign); status != tc.wantStatus {
			t.Errorf("POST signed %s = %d; want %d", tc.name, status, tc.wantStatus)
		}
	}
}

func TestReceiverAnswers503WhenTheStoreFails(t *testing.T) {
	t.Parallel()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"),
		store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	var notified atomic.Bool
	recv, err := New(Options{Store: db, Notify: func() { notified.Store(true) }},
		settings(t, event.SchemeOpencals, testSecret))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	body := appointmentCreated(t, "a1")
	status, _ := post(t, srv.URL+testPath, body, signedWith(t, testSecret, body))
	if status != http.StatusServiceUnavailable {
		t.Errorf("POST with the store closed = %d; want 503, so that Opencals retries", status)
	}
	if notified.Load() {
		t.Error("the dispatcher was woken for an event that was not recorded")
	}
}

func TestReceiverUpdateAppliesToTheNextRequest(t *testing.T) {
	t.Parallel()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "state.db"),
		store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	recv, err := New(Options{Store: db}, settings(t, event.SchemeOpencals, "first"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(recv)
	defer srv.Close()

	moved := settings(t, event.SchemeOpencals, "second")
	moved.Path = "/moved"
	if err := recv.Update(moved); err != nil {
		t.Fatal(err)
	}
	body := appointmentCreated(t, "a1")
	tests := []struct {
		path, secret string
		wantStatus   int
	}{
		{path: testPath, secret: "second", wantStatus: http.StatusNotFound},
		{path: "/moved", secret: "first", wantStatus: http.StatusUnauthorized},
		{path: "/moved", secret: "second", wantStatus: http.StatusAccepted},
	}
	for _, tc := range tests {
		status, _ := post(t, srv.URL+tc.path, body, signedWith(t, tc.secret, body))
		if status != tc.wantStatus {
			t.Errorf("POST %s signed with %s = %d; want %d", tc.path, tc.secret, status, tc.wantStatus)
		}
	}
	if err := recv.Update(Settings{Path: "/x"}); err == nil {
		t.Error("Update(no verifier) = nil; want an error")
	}
}
