package opencals

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors callers branch on with errors.Is. An *APIError wraps the one that
// matches its status.
var (
	// ErrReauthRequired means the customer's tokens no longer work (refresh
	// answered 401/403, or a fresh token was refused): the customer must sign
	// in again before this daemon can read their data.
	ErrReauthRequired = errors.New("customer must sign in again")
	// ErrBadCredentials means sign-in refused the email and password.
	ErrBadCredentials = errors.New("sign-in refused the credentials")
	// ErrInvalidAPIKey means the API refused the store's API key. The API
	// answers a bad key and a bad customer token alike with 401, so the
	// client checks the key before it blames a customer's tokens.
	ErrInvalidAPIKey = errors.New("API key refused")
	// ErrRateLimited means the API kept answering 429 until the attempts ran
	// out. The key's limiter is paused; retry later.
	ErrRateLimited = errors.New("rate limited by the API")
	// ErrServer means the API failed (5xx) or could not be reached, on every
	// attempt.
	ErrServer = errors.New("API server error")
	// ErrBadResponse means a 200 answer could not be decoded (malformed or
	// truncated), on every attempt. Nothing from it may be applied.
	ErrBadResponse = errors.New("malformed API response")
	// ErrNotFound means the item does not exist or belongs to someone else.
	ErrNotFound = errors.New("not found")
	// ErrInconsistentListing means items kept moving while the pages were
	// read, so no complete listing could be assembled. Retry later; never
	// apply a partial listing.
	ErrInconsistentListing = errors.New("listing changed while it was read")
	// ErrStoreUnknown means no store-scoped listing named the key's store.
	ErrStoreUnknown = errors.New("store id not found: the store lists no products, staff or locations")
)

// maxExcerpt bounds the body excerpt an APIError carries.
const maxExcerpt = 200

// APIError is an answer the client gave up on. It unwraps to the sentinel
// matching its status (ErrServer for 5xx, ErrNotFound for 404, …), if any.
// It never holds a token or the API key: Body is scrubbed.
type APIError struct {
	Method string
	Path   string // without the query string
	Status int
	// Body is an excerpt of the answer, at most 200 bytes, with anything
	// that looks like a token, a password or the API key replaced.
	Body string
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
	// Err is, or wraps, the sentinel this error matches; nil for an
	// unclassified 4xx.
	Err error
}

// Error names the request, the status and the body excerpt.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: status %d", e.Method, e.Path, e.Status)
	if e.Err != nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	if e.Body != "" {
		fmt.Fprintf(&b, ": %q", e.Body)
	}
	return b.String()
}

// Unwrap returns the sentinel, so errors.Is works.
func (e *APIError) Unwrap() error { return e.Err }

// sentinelFor classifies a non-2xx status.
func sentinelFor(status int) error {
	switch {
	case status == 429:
		return ErrRateLimited
	case status == 404:
		return ErrNotFound
	case status >= 500:
		return ErrServer
	default:
		return nil
	}
}

// Patterns of secrets an error body might echo back. Scrubbing is on the
// body, before truncation, so a cut never leaves half a token readable.
var (
	reBearer  = regexp.MustCompile(`(?i)\bbearer\s+[^\s",']+`)
	reJWT     = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(\.[A-Za-z0-9_-]*)?`)
	reKey     = regexp.MustCompile(`\bsfk_[A-Za-z0-9_-]+`)
	reSecrets = regexp.MustCompile(
		`(?i)"(access_?token|refresh_?token|password|token|api_?key|secret)"\s*:\s*"[^"]*"`)
	reSpace = regexp.MustCompile(`\s+`)
)

// scrubLimit bounds how much of a body is scanned for secrets; only the
// first maxExcerpt bytes survive anyway.
const scrubLimit = 4 << 10

// excerpt returns a scrubbed, single-line prefix of body, at most 200 bytes.
// apiKey is replaced wherever it appears, whatever its shape.
func excerpt(body []byte, apiKey string) string {
	if len(body) > scrubLimit {
		body = body[:scrubLimit]
	}
	s := strings.ToValidUTF8(string(body), "?")
	if apiKey != "" {
		s = strings.ReplaceAll(s, apiKey, "[REDACTED]")
	}
	s = reSecrets.ReplaceAllString(s, `"$1":"[REDACTED]"`)
	s = reBearer.ReplaceAllString(s, "Bearer [REDACTED]")
	s = reJWT.ReplaceAllString(s, "[REDACTED]")
	s = reKey.ReplaceAllString(s, "[REDACTED]")
	s = strings.TrimSpace(reSpace.ReplaceAllString(s, " "))
	return truncate(s, maxExcerpt)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
