package event

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/internal/testutil"
)

// trickyBody has non-ASCII text, escapes and a key order that decoding and
// re-encoding would change: only the raw bytes verify.
var trickyBody = []byte(`{"type":"appointment.created","id":"evt_1","data":{"object":` +
	`{"zeta":1,"alpha":"Café Ñandú — 東京 \u00e9","note":"a\/b","n":1.50}}}`)

func TestTrickyBodyChangesWhenReencoded(t *testing.T) {
	t.Parallel()
	var v any
	if err := json.Unmarshal(trickyBody, &v); err != nil {
		t.Fatalf("decoding tricky body: %v", err)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encoding tricky body: %v", err)
	}
	if string(again) == string(trickyBody) {
		t.Fatalf("re-encoding kept the bytes; the signature tests below would prove nothing")
	}
}

func TestSignOpencalsMatchesIndependentVerifier(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, header, wantHeader string
		secrets                  []string
	}{
		{name: "default header", secrets: []string{"s3cret"},
			wantHeader: "Opencals-Signature"},
		{name: "custom header", header: "X-Shop-Hmac", secrets: []string{"s3cret"},
			wantHeader: "X-Shop-Hmac"},
		{name: "first of several secrets", secrets: []string{"s3cret", "old"},
			wantHeader: "Opencals-Signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewSigner(SchemeOpencals, tt.header, tt.secrets)
			if err != nil {
				t.Fatalf("NewSigner() = %v", err)
			}
			h := http.Header{}
			s.Sign(h, "evt_1", time.Unix(1700000000, 0), trickyBody)
			if !testutil.VerifyOpencals(h, tt.wantHeader, "s3cret", trickyBody) {
				t.Errorf("Sign() header %s = %q; independent verification failed",
					tt.wantHeader, h.Get(tt.wantHeader))
			}
			if got := len(h); got != 1 {
				t.Errorf("Sign() set %d headers (%v); want 1", got, h)
			}
		})
	}
}

func TestSignStandardMatchesIndependentVerifier(t *testing.T) {
	t.Parallel()
	primary := "whsec_" + base64.StdEncoding.EncodeToString([]byte("primary key bytes"))
	old := "whsec_" + base64.StdEncoding.EncodeToString([]byte("old key bytes"))
	s, err := NewSigner(SchemeStandardWebhooks, "", []string{primary, old})
	if err != nil {
		t.Fatalf("NewSigner() = %v", err)
	}
	h := http.Header{}
	at := time.Unix(1733389200, 0)
	s.Sign(h, "evt_1", at, trickyBody)

	if got, want := h.Get("webhook-id"), "evt_1"; got != want {
		t.Errorf("webhook-id = %q; want %q", got, want)
	}
	if got, want := h.Get("webhook-timestamp"), strconv.FormatInt(at.Unix(), 10); got != want {
		t.Errorf("webhook-timestamp = %q; want %q", got, want)
	}
	if got := len(strings.Split(h.Get("webhook-signature"), " ")); got != 2 {
		t.Errorf("webhook-signature has %d signatures; want 2 (one per secret)", got)
	}
	for _, secret := range []string{primary, old} {
		if !testutil.VerifyStandardWebhooks(h, secret, trickyBody) {
			t.Errorf("independent verification with one of the secrets failed: %q",
				h.Get("webhook-signature"))
		}
	}
}

// TestStandardSpecExample checks the worked example published with the
// Standard Webhooks specification.
func TestStandardSpecExample(t *testing.T) {
	t.Parallel()
	s, err := NewSigner(SchemeStandardWebhooks, "",
		[]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if err != nil {
		t.Fatalf("NewSigner() = %v", err)
	}
	h := http.Header{}
	s.Sign(h, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0),
		[]byte(`{"test": 2432232314}`))
	if got, want := h.Get("webhook-signature"),
		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("webhook-signature = %q; want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(1733389200, 0)
	std := "whsec_" + base64.StdEncoding.EncodeToString([]byte("receiver key"))
	stdOld := "whsec_" + base64.StdEncoding.EncodeToString([]byte("retired key"))
	tests := []struct {
		name       string
		scheme     Scheme
		signWith   []string
		accept     []string
		signedAt   time.Time
		tamper     func(h http.Header, body []byte) []byte
		wantErr    error
		wantDetect Scheme
	}{
		{name: "opencals ok", scheme: SchemeOpencals, signWith: []string{"k1"},
			accept: []string{"k1"}},
		{name: "opencals rotated secret", scheme: SchemeOpencals, signWith: []string{"old"},
			accept: []string{"new", "old"}},
		{name: "opencals wrong secret", scheme: SchemeOpencals, signWith: []string{"k2"},
			accept: []string{"k1"}, wantErr: ErrBadSignature},
		{name: "opencals body changed", scheme: SchemeOpencals, signWith: []string{"k1"},
			accept: []string{"k1"}, wantErr: ErrBadSignature,
			tamper: func(_ http.Header, b []byte) []byte { return append(b, ' ') }},
		{name: "opencals not hex", scheme: SchemeOpencals, signWith: []string{"k1"},
			accept: []string{"k1"}, wantErr: ErrBadSignature,
			tamper: func(h http.Header, b []byte) []byte {
				h.Set(DefaultSignatureHeader, "zz")
				return b
			}},
		{name: "opencals missing", scheme: SchemeOpencals, signWith: []string{"k1"},
			accept: []string{"k1"}, wantErr: ErrNoSignature,
			tamper: func(h http.Header, b []byte) []byte {
				h.Del(DefaultSignatureHeader)
				return b
			}},
		{name: "standard ok", scheme: SchemeStandardWebhooks, signWith: []string{std},
			accept: []string{std}, wantDetect: SchemeStandardWebhooks},
		{name: "standard accepts any listed", scheme: SchemeStandardWebhooks,
			signWith: []string{stdOld}, accept: []string{std, stdOld},
			wantDetect: SchemeStandardWebhooks},
		{name: "standard wrong secret", scheme: SchemeStandardWebhooks,
			signWith: []string{stdOld}, accept: []string{std}, wantErr: ErrBadSignature,
			wantDetect: SchemeStandardWebhooks},
		{name: "standard id swapped", scheme: SchemeStandardWebhooks, signWith: []string{std},
			accept: []string{std}, wantErr: ErrBadSignature, wantDetect: SchemeStandardWebhooks,
			tamper: func(h http.Header, b []byte) []byte {
				h.Set(HeaderWebhookID, "evt_other")
				return b
			}},
		{name: "standard replay too old", scheme: SchemeStandardWebhooks,
			signWith: []string{std}, accept: []string{std}, signedAt: now.Add(-6 * time.Minute),
			wantErr: ErrBadTimestamp, wantDetect: SchemeStandardWebhooks},
		{name: "standard from the future", scheme: SchemeStandardWebhooks,
			signWith: []string{std}, accept: []string{std}, signedAt: now.Add(6 * time.Minute),
			wantErr: ErrBadTimestamp, wantDetect: SchemeStandardWebhooks},
		{name: "standard within tolerance", scheme: SchemeStandardWebhooks,
			signWith: []string{std}, accept: []string{std}, signedAt: now.Add(-4 * time.Minute),
			wantDetect: SchemeStandardWebhooks},
		{name: "standard missing", scheme: SchemeStandardWebhooks, signWith: []string{std},
			accept: []string{std}, wantErr: ErrNoSignature,
			tamper: func(h http.Header, b []byte) []byte {
				h.Del(HeaderWebhookSignature)
				return b
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewSigner(tt.scheme, "", tt.signWith)
			if err != nil {
				t.Fatalf("NewSigner() = %v", err)
			}
			v, err := NewVerifier(tt.scheme, "", tt.accept, 5*time.Minute)
			if err != nil {
				t.Fatalf("NewVerifier() = %v", err)
			}
			signedAt := tt.signedAt
			if signedAt.IsZero() {
				signedAt = now
			}
			h, body := http.Header{}, append([]byte(nil), trickyBody...)
			s.Sign(h, "evt_1", signedAt, body)
			if tt.tamper != nil {
				body = tt.tamper(h, body)
			}
			if err := v.Verify(h, body, now); !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify() = %v; want %v", err, tt.wantErr)
			}
			wantDetect := schemeOr(tt.wantDetect, SchemeOpencals)
			if got := DetectScheme(h); got != wantDetect && tt.wantErr != ErrNoSignature {
				t.Errorf("DetectScheme() = %q; want %q", got, wantDetect)
			}
		})
	}
}

func schemeOr(a, b Scheme) Scheme {
	if a != "" {
		return a
	}
	return b
}

func TestNewSignerRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		scheme  Scheme
		secrets []string
		wantErr error
	}{
		{name: "no secret", scheme: SchemeOpencals, wantErr: ErrBadSecret},
		{name: "empty secret", scheme: SchemeOpencals, secrets: []string{""},
			wantErr: ErrBadSecret},
		{name: "standard without prefix", scheme: SchemeStandardWebhooks,
			secrets: []string{"c2VjcmV0"}, wantErr: ErrBadSecret},
		{name: "standard not base64", scheme: SchemeStandardWebhooks,
			secrets: []string{"whsec_%%%"}, wantErr: ErrBadSecret},
		{name: "unknown scheme", scheme: "hmac-md5", secrets: []string{"topsecret-value"},
			wantErr: ErrUnknownScheme},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewSigner(tt.scheme, "", tt.secrets)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("NewSigner(%q) = %v; want %v", tt.scheme, err, tt.wantErr)
			}
			for _, s := range tt.secrets {
				if s != "" && strings.Contains(err.Error(), s) {
					t.Errorf("NewSigner() error %q quotes the secret", err)
				}
			}
		})
	}
}
