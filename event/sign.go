package event

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// This file is the one place that knows how a delivery looks on the wire
// besides its body: header names and the two signature schemes. Opencals
// has not published the final header name; when it does, only this file
// changes.

// Scheme names a way of signing a delivery.
type Scheme string

// The signature schemes.
const (
	// SchemeOpencals is what Opencals' documentation tells merchants to
	// verify: the hex HMAC-SHA256 of the exact body, keyed with the
	// endpoint secret, in one header (DefaultSignatureHeader unless
	// configured otherwise).
	SchemeOpencals Scheme = "opencals"
	// SchemeStandardWebhooks follows the Standard Webhooks specification:
	// base64 HMAC-SHA256 of "id.timestamp.body" keyed with the decoded
	// whsec_ secret, so that receivers can refuse replays.
	SchemeStandardWebhooks Scheme = "standard-webhooks"
)

// Header names of a delivery. Go writes them in canonical case; HTTP header
// names are case-insensitive.
const (
	// DefaultSignatureHeader carries the SchemeOpencals signature.
	DefaultSignatureHeader = "Opencals-Signature"
	// HeaderEventID and HeaderEventType repeat the envelope's id and type so
	// that a receiver can route or deduplicate before parsing the body.
	HeaderEventID   = "Opencals-Event-Id"
	HeaderEventType = "Opencals-Event-Type"
	// HeaderAttempt is the 1-based number of this delivery attempt.
	HeaderAttempt = "Opencals-Delivery-Attempt"
	// The Standard Webhooks headers.
	HeaderWebhookID        = "Webhook-Id"
	HeaderWebhookTimestamp = "Webhook-Timestamp"
	HeaderWebhookSignature = "Webhook-Signature"
)

// standardSecretPrefix starts every Standard Webhooks secret.
const standardSecretPrefix = "whsec_"

// Errors of signing and verification. A verification error never quotes a
// secret or a signature.
var (
	// ErrUnknownScheme is a scheme other than the two known.
	ErrUnknownScheme = errors.New("unknown signature scheme")
	// ErrBadSecret is a missing secret, or a Standard Webhooks secret that
	// is not whsec_ followed by base64.
	ErrBadSecret = errors.New("unusable signing secret")
	// ErrNoSignature is a request without the signature headers.
	ErrNoSignature = errors.New("no signature")
	// ErrBadSignature is a signature that matches none of the secrets.
	ErrBadSignature = errors.New("signature does not match")
	// ErrBadTimestamp is a Standard Webhooks timestamp that is malformed or
	// further from now than the tolerance allows.
	ErrBadTimestamp = errors.New("timestamp outside the tolerance")
)

// ParseScheme reads a scheme name; "" means SchemeOpencals.
func ParseScheme(s string) (Scheme, error) {
	switch Scheme(s) {
	case "", SchemeOpencals:
		return SchemeOpencals, nil
	case SchemeStandardWebhooks:
		return SchemeStandardWebhooks, nil
	}
	return "", fmt.Errorf("signature scheme %q: %w", s, ErrUnknownScheme)
}

// DetectScheme guesses the scheme a request was signed with from its
// headers: Standard Webhooks when it carries a webhook-signature header.
func DetectScheme(h http.Header) Scheme {
	if h.Get(HeaderWebhookSignature) != "" {
		return SchemeStandardWebhooks
	}
	return SchemeOpencals
}

// keyring is a scheme, its header and its decoded keys, primary first.
type keyring struct {
	scheme Scheme
	header string
	keys   [][]byte
}

func newKeyring(scheme Scheme, header string, secrets []string) (keyring, error) {
	scheme, err := ParseScheme(string(scheme))
	if err != nil {
		return keyring{}, err
	}
	if header == "" {
		header = DefaultSignatureHeader
	}
	k := keyring{scheme: scheme, header: header}
	for i, s := range secrets {
		key, err := decodeSecret(scheme, s)
		if err != nil {
			return keyring{}, fmt.Errorf("secret %d: %w", i+1, err)
		}
		k.keys = append(k.keys, key)
	}
	if len(k.keys) == 0 {
		return keyring{}, fmt.Errorf("no secret: %w", ErrBadSecret)
	}
	return k, nil
}

// decodeSecret turns a configured secret into HMAC key bytes.
func decodeSecret(scheme Scheme, secret string) ([]byte, error) {
	if secret == "" {
		return nil, fmt.Errorf("empty: %w", ErrBadSecret)
	}
	if scheme == SchemeOpencals {
		return []byte(secret), nil
	}
	b64, ok := strings.CutPrefix(secret, standardSecretPrefix)
	if !ok {
		return nil, fmt.Errorf("want %s<base64>: %w", standardSecretPrefix, ErrBadSecret)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("want %s<base64>: %w", standardSecretPrefix, ErrBadSecret)
	}
	return key, nil
}

// Signer signs the deliveries of one endpoint. It is safe for concurrent
// use. It holds the keys; it never prints them.
type Signer struct {
	k keyring
}

// NewSigner returns a signer. header names the SchemeOpencals header (""
// means DefaultSignatureHeader). SchemeStandardWebhooks signs with every
// secret, so a receiver can rotate; SchemeOpencals signs with the first
// secret only, because a receiver that follows Opencals' documentation
// compares its header with one hex digest (rotate it by accepting both
// secrets on the receiving side for a while).
func NewSigner(scheme Scheme, header string, secrets []string) (*Signer, error) {
	k, err := newKeyring(scheme, header, secrets)
	if err != nil {
		return nil, fmt.Errorf("creating signer: %w", err)
	}
	return &Signer{k: k}, nil
}

// Scheme returns the signer's scheme.
func (s *Signer) Scheme() Scheme { return s.k.scheme }

// Header returns the header that carries the signature.
func (s *Signer) Header() string {
	if s.k.scheme == SchemeStandardWebhooks {
		return HeaderWebhookSignature
	}
	return s.k.header
}

// Sign sets the signature headers of one delivery of body (the exact bytes
// sent) on h. id is the event id; at is the time of this attempt, which
// SchemeStandardWebhooks signs so receivers can refuse old replays.
func (s *Signer) Sign(h http.Header, id string, at time.Time, body []byte) {
	if s.k.scheme == SchemeOpencals {
		h.Set(s.k.header, hex.EncodeToString(mac(s.k.keys[0], body)))
		return
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	payload := standardPayload(id, ts, body)
	sigs := make([]string, len(s.k.keys))
	for i, key := range s.k.keys {
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(mac(key, payload))
	}
	h.Set(HeaderWebhookID, id)
	h.Set(HeaderWebhookTimestamp, ts)
	h.Set(HeaderWebhookSignature, strings.Join(sigs, " "))
}

// Verifier checks the signature of incoming deliveries against one or more
// accepted secrets. It is safe for concurrent use.
type Verifier struct {
	k         keyring
	tolerance time.Duration
}

// DefaultTolerance is how far a Standard Webhooks timestamp may be from the
// receiver's clock when NewVerifier is given zero.
const DefaultTolerance = 5 * time.Minute

// NewVerifier returns a verifier accepting a signature made with any of
// secrets. header names the SchemeOpencals header ("" means
// DefaultSignatureHeader); tolerance bounds the age (and the lead) of a
// Standard Webhooks timestamp, zero meaning DefaultTolerance.
func NewVerifier(scheme Scheme, header string, secrets []string,
	tolerance time.Duration,
) (*Verifier, error) {
	k, err := newKeyring(scheme, header, secrets)
	if err != nil {
		return nil, fmt.Errorf("creating verifier: %w", err)
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	return &Verifier{k: k, tolerance: tolerance}, nil
}

// Scheme returns the verifier's scheme.
func (v *Verifier) Scheme() Scheme { return v.k.scheme }

// Verify checks the signature on h against body, the raw bytes received
// (never a re-encoding), at time now. The comparison takes the same time
// whatever the bytes. The error wraps ErrNoSignature, ErrBadSignature or
// ErrBadTimestamp.
func (v *Verifier) Verify(h http.Header, body []byte, now time.Time) error {
	if v.k.scheme == SchemeOpencals {
		return v.verifyOpencals(h, body)
	}
	return v.verifyStandard(h, body, now)
}

func (v *Verifier) verifyOpencals(h http.Header, body []byte) error {
	got := h.Get(v.k.header)
	if got == "" {
		return fmt.Errorf("verifying %s header: %w", v.k.header, ErrNoSignature)
	}
	sig, err := hex.DecodeString(strings.TrimSpace(got))
	if err != nil {
		return fmt.Errorf("verifying %s header: not hex: %w", v.k.header, ErrBadSignature)
	}
	for _, key := range v.k.keys {
		if hmac.Equal(sig, mac(key, body)) {
			return nil
		}
	}
	return fmt.Errorf("verifying %s header: %w", v.k.header, ErrBadSignature)
}

func (v *Verifier) verifyStandard(h http.Header, body []byte, now time.Time) error {
	id, ts, sigs := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp),
		h.Get(HeaderWebhookSignature)
	if id == "" || ts == "" || sigs == "" {
		return fmt.Errorf("verifying standard webhook: %w", ErrNoSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("verifying standard webhook: malformed timestamp: %w", ErrBadTimestamp)
	}
	if skew := now.Sub(time.Unix(sec, 0)).Abs(); skew > v.tolerance {
		return fmt.Errorf("verifying standard webhook: %s off: %w", skew.Round(time.Second),
			ErrBadTimestamp)
	}
	payload := standardPayload(id, ts, body)
	for _, candidate := range strings.Fields(sigs) {
		b64, ok := strings.CutPrefix(candidate, "v1,")
		if !ok {
			continue // another version of the scheme
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		for _, key := range v.k.keys {
			if hmac.Equal(sig, mac(key, payload)) {
				return nil
			}
		}
	}
	return fmt.Errorf("verifying standard webhook: %w", ErrBadSignature)
}

// standardPayload is what Standard Webhooks signs: "id.timestamp.body".
func standardPayload(id, ts string, body []byte) []byte {
	p := make([]byte, 0, len(id)+len(ts)+len(body)+2)
	p = append(append(append(p, id...), '.'), ts...)
	return append(append(p, '.'), body...)
}

func mac(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}
