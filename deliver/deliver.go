// Package deliver takes events out of the store's outbox and hands them to
// the merchant's handlers: a signed HTTP POST, a command, or any Go
// Handler. The Dispatcher delivers each event to every endpoint whose
// filter accepts it, at least once, in order per appointment or order,
// retrying on a documented schedule; every attempt and all retry state are
// recorded in the store, never only in memory.
package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opencals-sync/opencals-sync/event"
)

// Handler receives events. It is the one interface that synthesized events
// (from polling) and real webhooks (received later) share. Handle returns
// nil once the event is safely handled; any error means "try again later".
// An error wrapping ErrGone asks never to be called again (the endpoint is
// disabled), and an *HTTPError with RetryAfter asks to wait at least that
// long. Handle may be called more than once for one event: deduplicate by
// the event id.
type Handler interface {
	Handle(ctx context.Context, ev event.Event) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, ev event.Event) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, ev event.Event) error { return f(ctx, ev) }

// Delivery is one attempt at one event for one endpoint, as a Sender sees
// it.
type Delivery struct {
	EventID    string
	Type       event.Type
	ResourceID string
	// Body is the event exactly as the outbox stored it: the bytes to send
	// and to sign. It must not be modified.
	Body []byte
	// Attempt is the number of this attempt, from 1.
	Attempt int
}

// Sender is what a Handler implements when it must send the stored bytes
// themselves rather than a decoded event (a signature covers exact bytes).
// The dispatcher prefers Send when a Handler has it. The status is the
// HTTP status, or 0 when there is none.
type Sender interface {
	Send(ctx context.Context, d Delivery) (status int, err error)
}

// Errors the dispatcher branches on.
var (
	// ErrGone means the handler is gone for good (HTTP 410): its endpoint
	// is disabled until its target changes or the operator enables it.
	ErrGone = errors.New("endpoint gone")
	// ErrInvalidEndpoint is an endpoint that cannot be built from its
	// configuration.
	ErrInvalidEndpoint = errors.New("invalid endpoint")
	// ErrUnknownEndpoint names an endpoint that is not configured.
	ErrUnknownEndpoint = errors.New("unknown endpoint")
	// ErrDisabled names an endpoint a 410 Gone disabled.
	ErrDisabled = errors.New("endpoint disabled (it answered 410 Gone); " +
		"`opencals-sync events enable` resumes it")
	// ErrRunning is returned by Run and DeliverNow while Run is running.
	ErrRunning = errors.New("dispatcher already running")
)

// HTTPError is a non-2xx answer. Handlers other than HTTP may return one to
// get the same treatment (RetryAfter, 410).
type HTTPError struct {
	StatusCode int
	// RetryAfter is the wait the server asked for with Retry-After on a 429
	// or 503; zero when it asked for none.
	RetryAfter time.Duration
	// Excerpt is the start of the response body, bounded and on one line.
	Excerpt string
}

// Error describes the answer: status and the start of the body.
func (e *HTTPError) Error() string {
	msg := "HTTP " + strconv.Itoa(e.StatusCode)
	if e.Excerpt != "" {
		msg += ": " + e.Excerpt
	}
	return msg
}

// Is makes a 410 match ErrGone.
func (e *HTTPError) Is(target error) bool {
	return target == ErrGone && e.StatusCode == http.StatusGone
}

// retryAfter returns the wait an error asks for, zero if none.
func retryAfter(err error) time.Duration {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.RetryAfter
	}
	return 0
}

// handlerSender sends through a plain Handler by decoding the stored body.
type handlerSender struct{ h Handler }

func (s handlerSender) Send(ctx context.Context, d Delivery) (int, error) {
	var ev event.Event
	if err := json.Unmarshal(d.Body, &ev); err != nil {
		return 0, fmt.Errorf("decoding event %s: %w", d.EventID, err)
	}
	ev.ResourceID = d.ResourceID
	return 0, s.h.Handle(ctx, ev)
}

// senderOf returns h's own Send, or one that decodes for Handle.
func senderOf(h Handler) Sender {
	if s, ok := h.(Sender); ok {
		return s
	}
	return handlerSender{h: h}
}

// maxExcerpt bounds the text kept from a response body or a command's
// output in an error.
const maxExcerpt = 256

// excerpt makes b fit in an error message and a log line: valid UTF-8, one
// line, at most maxExcerpt bytes.
func excerpt(b []byte) string {
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxExcerpt {
		return s
	}
	cut := maxExcerpt
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
