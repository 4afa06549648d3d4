// Package webhook receives Opencals' real webhooks: it verifies each
// delivery on its raw bytes, maps it to the event envelope with the id
// polling would give the same change, records it in the outbox and answers
// at once; the dispatcher delivers it like any polled event.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/event"
)

// DefaultMaxBody bounds a delivery's body when Settings leave it zero.
const DefaultMaxBody = 1 << 20

// ErrNoVerifier is Settings without a verifier: a receiver never accepts
// unsigned deliveries.
var ErrNoVerifier = errors.New("webhook receiver needs a signature verifier")

// Store is the outbox as the receiver writes to it; *store.DB has it.
type Store interface {
	// InsertEvents records events durably and returns those that were new.
	InsertEvents(ctx context.Context, evs []event.Event) ([]event.Event, error)
	// ApplyWebhookFacts brings the stored snapshot in line with what a
	// webhook reported (canceled, completed, moved), deriving no event.
	ApplyWebhookFacts(ctx context.Context, ev event.Event) error
}

// Outcome classifies one request, for metrics.
type Outcome string

// The outcomes of a request.
const (
	OutcomeAccepted         Outcome = "accepted"
	OutcomeDuplicate        Outcome = "duplicate"
	OutcomeUnauthorized     Outcome = "unauthorized"
	OutcomeBadRequest       Outcome = "bad_request"
	OutcomeTooLarge         Outcome = "too_large"
	OutcomeNotFound         Outcome = "not_found"
	OutcomeMethodNotAllowed Outcome = "method_not_allowed"
	// OutcomeError is a delivery the store could not record: the sender
	// gets a 503 and retries.
	OutcomeError Outcome = "error"
)

// Metrics receives what the receiver measures. Methods must be safe for
// concurrent use and fast.
type Metrics interface {
	// WebhookRequest is called once per request, after the answer, with
	// the time it took to answer.
	WebhookRequest(outcome Outcome, took time.Duration)
}

type nopMetrics struct{}

func (nopMetrics) WebhookRequest(Outcome, time.Duration) {}

// Settings are what a config reload may change.
type Settings struct {
	// Path is where deliveries are accepted; "" accepts any path.
	Path string
	// Verifier checks signatures. Required.
	Verifier *event.Verifier
	// MaxBody bounds a body in bytes; zero means DefaultMaxBody.
	MaxBody int64
	// TrackSnapshots applies what new webhooks report to the stored
	// snapshots, so the completion sweep never completes an appointment a
	// webhook said was canceled or moved. For webhook mode, where no poll
	// keeps the snapshots current; in hybrid mode polling does, and its
	// confirmations are the reconciliation's evidence.
	TrackSnapshots bool
}

// SettingsFromConfig builds the receiver's settings. Errors never quote a
// secret.
func SettingsFromConfig(w config.Webhook) (Settings, error) {
	secrets := make([]string, 0, len(w.AllSecrets()))
	for _, s := range w.AllSecrets() {
		secrets = append(secrets, s.Value())
	}
	v, err := event.NewVerifier(event.Scheme(w.Signature), w.SignatureHeader, secrets,
		w.Tolerance)
	if err != nil {
		return Settings{}, fmt.Errorf("webhook receiver: %w", err)
	}
	return Settings{Path: w.Path, Verifier: v, MaxBody: w.MaxBody}, nil
}

// Options configure a Receiver. Store is required.
type Options struct {
	Store Store
	// Notify is called after a new event was recorded (the dispatcher's
	// wake-up); may be nil.
	Notify func()
	// Clock checks Standard Webhooks timestamps and stamps createdAt; nil
	// means the real clock.
	Clock   clockwork.Clock
	Logger  *slog.Logger
	Metrics Metrics
}

// Receiver is the http.Handler Opencals posts to. It is safe for
// concurrent use; Update swaps its settings while it serves.
//
// A request is read whole (up to MaxBody: 413 beyond), verified on those
// exact bytes (401 without detail), mapped (400 when it is not JSON, of an
// unknown type, or lacks what the id needs), recorded in the outbox
// (503 if that fails, so that Opencals retries) and answered: 202 for a new
// event, 200 for one already recorded, by either side. Nothing else
// happens before the answer; the dispatcher is woken after it.
type Receiver struct {
	opts     Options
	log      *slog.Logger
	settings atomic.Pointer[Settings]
}

// New returns a receiver with settings s.
func New(opts Options, s Settings) (*Receiver, error) {
	if opts.Store == nil {
		return nil, errors.New("webhook receiver needs a store")
	}
	if opts.Notify == nil {
		opts.Notify = func() {}
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = nopMetrics{}
	}
	r := &Receiver{opts: opts, log: opts.Logger.With("component", "webhook")}
	if err := r.Update(s); err != nil {
		return nil, err
	}
	return r, nil
}

// Update swaps the settings; requests already reading keep the old ones.
func (r *Receiver) Update(s Settings) error {
	if s.Verifier == nil {
		return ErrNoVerifier
	}
	if s.MaxBody <= 0 {
		s.MaxBody = DefaultMaxBody
	}
	r.settings.Store(&s)
	return nil
}

// answer is the JSON body of a 2xx.
type answer struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

// ServeHTTP handles one delivery; see Receiver.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	began := r.opts.Clock.Now()
	outcome, ev := r.serve(w, req)
	r.opts.Metrics.WebhookRequest(outcome, r.opts.Clock.Since(began))
	if outcome == OutcomeAccepted {
		r.opts.Notify()
	}
	if ev.ID != "" {
		r.log.Debug("webhook received", "event_id", ev.ID, "type", string(ev.Type),
			"store_id", ev.StoreID, "outcome", string(outcome))
	}
}

// serve answers the request and says how it went, with the event when
// there was one.
func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) (Outcome, event.Event) {
	s := r.settings.Load()
	if s.Path != "" && req.URL.Path != s.Path {
		http.NotFound(w, req)
		return OutcomeNotFound, event.Event{}
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		plain(w, http.StatusMethodNotAllowed, "")
		return OutcomeMethodNotAllowed, event.Event{}
	}
	body, outcome := r.readBody(w, req, s.MaxBody)
	if outcome != "" {
		return outcome, event.Event{}
	}
	now := r.opts.Clock.Now()
	if err := s.Verifier.Verify(req.Header, body, now); err != nil {
		r.log.Debug("webhook refused", "err", err)
		plain(w, http.StatusUnauthorized, "")
		return OutcomeUnauthorized, event.Event{}
	}
	ev, err := Map(body, now)
	if err != nil {
		r.log.Debug("webhook not understood", "err", err)
		plain(w, http.StatusBadRequest, err.Error())
		return OutcomeBadRequest, event.Event{}
	}
	return r.record(req.Context(), w, ev), ev
}

// readBody reads the whole body, answering 413 or 400 itself when it
// cannot; then the outcome is set.
func (r *Receiver) readBody(w http.ResponseWriter, req *http.Request,
	limit int64,
) ([]byte, Outcome) {
	if req.ContentLength > limit {
		plain(w, http.StatusRequestEntityTooLarge, "")
		return nil, OutcomeTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		plain(w, http.StatusRequestEntityTooLarge, "")
		return nil, OutcomeTooLarge
	case err != nil:
		r.log.Debug("webhook body unreadable", "err", err)
		plain(w, http.StatusBadRequest, "body unreadable")
		return nil, OutcomeBadRequest
	}
	return body, ""
}

// record writes the event durably and answers.
func (r *Receiver) record(ctx context.Context, w http.ResponseWriter,
	ev event.Event,
) Outcome {
	inserted, err := r.opts.Store.InsertEvents(ctx, []event.Event{ev})
	if err != nil {
		r.log.Error("recording webhook event", "event_id", ev.ID, "err", err)
		plain(w, http.StatusServiceUnavailable, "")
		return OutcomeError
	}
	status, outcome := http.StatusOK, OutcomeDuplicate
	if len(inserted) == 1 {
		status, outcome = http.StatusAccepted, OutcomeAccepted
	}
	// Encoding two strings and a bool cannot fail.
	b, _ := json.Marshal(answer{ID: ev.ID, Duplicate: outcome == OutcomeDuplicate})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	if outcome == OutcomeAccepted && r.settings.Load().TrackSnapshots {
		// After the answer: the event is durable; this only keeps the
		// sweep from acting on a stale snapshot.
		if err := r.opts.Store.ApplyWebhookFacts(ctx, ev); err != nil {
			r.log.Warn("webhook not applied to the stored snapshot", "event_id", ev.ID, "err", err)
		}
	}
	return outcome
}

// plain writes a short text answer: the status text, or detail.
func plain(w http.ResponseWriter, status int, detail string) {
	if detail == "" {
		detail = http.StatusText(status)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, detail+"\n")
}
