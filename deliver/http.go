package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/event"
)

// DefaultTimeout bounds one attempt when the options leave it zero.
const DefaultTimeout = 10 * time.Second

// drainLimit bounds how much of a response body is read so that the
// connection can be reused; a longer body closes the connection instead.
const drainLimit = 64 << 10

// HTTPOptions configure an HTTPHandler.
type HTTPOptions struct {
	// URL receives the POST. Required.
	URL string
	// Signer signs every attempt. Required.
	Signer *event.Signer
	// Timeout bounds one attempt, from connecting to reading the status.
	// Zero means DefaultTimeout.
	Timeout time.Duration
	// Headers are added to every request. Naming a header the handler
	// sets itself (Content-Type, User-Agent, Host, the signature header,
	// any Opencals-* or Webhook-* header) is an error: configuration must
	// not forge or hide what the receiver verifies.
	Headers map[string]string
	// UserAgent names the sender; "" means "opencals-sync".
	UserAgent string
	// Transport carries the requests; nil means a new NewTransport(). Share
	// one between endpoints to share connections.
	Transport http.RoundTripper
	// Clock stamps Standard Webhooks timestamps and reads Retry-After
	// dates; nil means the real clock.
	Clock clockwork.Clock
}

// HTTPHandler POSTs events to a URL, signed. A 2xx answer is a delivery;
// anything else, a 3xx included (redirects are not followed: a moved
// handler must be reconfigured, not guessed), is an error, an *HTTPError
// when there was an answer.
type HTTPHandler struct {
	target  *url.URL
	signer  *event.Signer
	timeout time.Duration
	headers http.Header
	agent   string
	client  *http.Client
	clock   clockwork.Clock
}

var (
	_ Handler = (*HTTPHandler)(nil)
	_ Sender  = (*HTTPHandler)(nil)
)

// NewTransport returns a transport tuned for delivering: it keeps enough
// idle connections per host for the dispatcher's concurrency (the default
// keeps two, so most of sixteen deliveries in flight would dial anew).
// Proxies come from the environment, as with the default transport.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	return t
}

// NewHTTPHandler checks the options and returns a handler. A bad URL or a
// missing signer wraps ErrInvalidEndpoint.
func NewHTTPHandler(opts HTTPOptions) (*HTTPHandler, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("endpoint URL %q: want http or https: %w",
			redactURL(opts.URL), ErrInvalidEndpoint)
	}
	if opts.Signer == nil {
		return nil, fmt.Errorf("endpoint %s: no signer: %w", redactURL(opts.URL),
			ErrInvalidEndpoint)
	}
	h := &HTTPHandler{
		target: u, signer: opts.Signer, timeout: opts.Timeout, headers: http.Header{},
		agent: opts.UserAgent, clock: opts.Clock,
	}
	for k, v := range opts.Headers {
		if reservedHeader(k, opts.Signer) {
			return nil, fmt.Errorf("endpoint %s: header %s is set by opencals-sync: %w",
				redactURL(opts.URL), k, ErrInvalidEndpoint)
		}
		h.headers.Set(k, v)
	}
	if h.timeout <= 0 {
		h.timeout = DefaultTimeout
	}
	if h.agent == "" {
		h.agent = "opencals-sync"
	}
	if h.clock == nil {
		h.clock = clockwork.NewRealClock()
	}
	transport := opts.Transport
	if transport == nil {
		transport = NewTransport()
	}
	h.client = &http.Client{
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return h, nil
}

// Handle encodes ev and sends it as a first attempt. The dispatcher uses
// Send, which sends the stored bytes instead.
func (h *HTTPHandler) Handle(ctx context.Context, ev event.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding event %s: %w", ev.ID, err)
	}
	_, err = h.Send(ctx, Delivery{EventID: ev.ID, Type: ev.Type, ResourceID: ev.ResourceID,
		Body: body, Attempt: 1})
	return err
}

// Send POSTs d.Body, byte for byte, signed, and returns the status.
func (h *HTTPHandler) Send(ctx context.Context, d Delivery) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.target.String(),
		bytes.NewReader(d.Body))
	if err != nil {
		return 0, fmt.Errorf("building request: %w", err)
	}
	h.setHeaders(req.Header, d)
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, h.requestError(ctx, err)
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxExcerpt))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	return resp.StatusCode, &HTTPError{
		StatusCode: resp.StatusCode,
		RetryAfter: h.retryAfter(resp),
		Excerpt:    excerpt(head),
	}
}

// reservedHeader reports whether the handler sets header k itself.
func reservedHeader(k string, s *event.Signer) bool {
	k = http.CanonicalHeaderKey(k)
	switch {
	case k == "Content-Type", k == "Content-Length", k == "User-Agent", k == "Host",
		k == http.CanonicalHeaderKey(s.Header()),
		strings.HasPrefix(k, "Opencals-"), strings.HasPrefix(k, "Webhook-"):
		return true
	}
	return false
}

// setHeaders sets the configured headers, then the handler's own.
func (h *HTTPHandler) setHeaders(hdr http.Header, d Delivery) {
	for k, v := range h.headers {
		hdr[k] = v
	}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("User-Agent", h.agent)
	hdr.Set(event.HeaderEventID, d.EventID)
	hdr.Set(event.HeaderEventType, string(d.Type))
	hdr.Set(event.HeaderAttempt, strconv.Itoa(d.Attempt))
	h.signer.Sign(hdr, d.EventID, h.clock.Now(), d.Body)
}

// requestError words a failed request without the URL's credentials or
// query.
func (h *HTTPHandler) requestError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s", h.timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("no answer within %s", h.timeout)
	}
	return fmt.Errorf("posting to %s: %w", redactURL(h.target.String()), err)
}

// retryAfter reads Retry-After on a 429 or 503: seconds or an HTTP date.
func (h *HTTPHandler) retryAfter(resp *http.Response) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests &&
		resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs > 0 {
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		return min(max(at.Sub(h.clock.Now()), 0), maxRetryAfter)
	}
	return 0
}

// maxRetryAfter caps what a Retry-After may ask; the retry window caps it
// further.
const maxRetryAfter = 24 * time.Hour

// redactURL keeps a URL's scheme, host and path: user info and query may
// hold credentials, and they must not reach logs or the store.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
}
