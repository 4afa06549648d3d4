// Package listen is a local receiver for people building a handler: it
// verifies each delivery's signature (either scheme), prints it as one
// readable line, keeps counts, and can append every verified event to a
// file as a JSON line. `opencals-sync listen` and the demo run it.
package listen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/event"
)

// DefaultMaxBody bounds a request body when Options leaves it zero.
const DefaultMaxBody = 1 << 20

// shutdownTimeout bounds how long Close waits for requests in progress.
const shutdownTimeout = 5 * time.Second

// Options configure a Receiver. Secrets is required.
type Options struct {
	// Addr is where to listen; "" means 127.0.0.1:0 (a free port).
	Addr string
	// Secrets are the accepted signing secrets.
	Secrets []string
	// Scheme is the signature scheme to require; "" accepts either,
	// recognising Standard Webhooks by its headers. Standard Webhooks needs
	// whsec_ secrets.
	Scheme event.Scheme
	// SignatureHeader names the opencals scheme's header; "" means
	// event.DefaultSignatureHeader.
	SignatureHeader string
	// Tolerance bounds the age of a Standard Webhooks timestamp; zero means
	// event.DefaultTolerance.
	Tolerance time.Duration
	// Out receives one line per request; nil discards them.
	Out io.Writer
	// Color adds terminal colours to the lines.
	Color bool
	// EventsOut receives every verified event as one JSON line, its bytes
	// as received (whitespace aside); nil writes none.
	EventsOut io.Writer
	// OnEvent, if set, is called with every verified event, in order.
	OnEvent func(event.Event)
	// MaxBody bounds a request body; zero means DefaultMaxBody.
	MaxBody int64
	Clock   clockwork.Clock
	// Logger receives serving errors; nil discards them.
	Logger *slog.Logger
}

// Counts is what a Receiver has seen.
type Counts struct {
	// Verified counts requests whose signature and body were good,
	// Duplicates those among them with an event id seen before.
	Verified, Duplicates int
	// Rejected counts requests refused (bad signature, method or body).
	Rejected int
	// ByType counts verified events by type.
	ByType map[event.Type]int
}

// Receiver is a running local receiver.
type Receiver struct {
	opts      Options
	verifiers map[event.Scheme]*event.Verifier
	srv       *http.Server
	url       string
	done      chan error

	mu     sync.Mutex
	counts Counts
	seen   map[string]bool
}

var errNoSecret = errors.New("listen: at least one secret is required")

// Start listens and serves until Close. The address in use is in URL.
func Start(ctx context.Context, opts Options) (*Receiver, error) {
	r, err := newReceiver(opts)
	if err != nil {
		return nil, err
	}
	addr := cmpOr(opts.Addr, "127.0.0.1:0")
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	r.url = "http://" + l.Addr().String() + "/"
	r.srv = &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(r.opts.Logger.Handler(), slog.LevelDebug),
	}
	go func() { r.done <- r.srv.Serve(l) }()
	return r, nil
}

func newReceiver(opts Options) (*Receiver, error) {
	if len(opts.Secrets) == 0 {
		return nil, errNoSecret
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	vs, err := verifiers(opts)
	if err != nil {
		return nil, err
	}
	return &Receiver{
		opts: opts, verifiers: vs, done: make(chan error, 1),
		counts: Counts{ByType: map[event.Type]int{}}, seen: map[string]bool{},
	}, nil
}

// verifiers builds a verifier per accepted scheme. Accepting either, a
// scheme whose secrets do not fit (Standard Webhooks wants whsec_) is left
// out, and requests signed with it are refused with that reason.
func verifiers(opts Options) (map[event.Scheme]*event.Verifier, error) {
	schemes := []event.Scheme{event.SchemeOpencals, event.SchemeStandardWebhooks}
	if opts.Scheme != "" {
		s, err := event.ParseScheme(string(opts.Scheme))
		if err != nil {
			return nil, err
		}
		schemes = []event.Scheme{s}
	}
	vs := map[event.Scheme]*event.Verifier{}
	var errs []error
	for _, s := range schemes {
		secrets := opts.Secrets
		if opts.Scheme == "" && s == event.SchemeStandardWebhooks {
			secrets = standardSecrets(secrets)
		}
		v, err := event.NewVerifier(s, opts.SignatureHeader, secrets, opts.Tolerance)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		vs[s] = v
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("listen: %w", errors.Join(errs...))
	}
	return vs, nil
}

// standardSecrets keeps the secrets shaped for Standard Webhooks.
func standardSecrets(secrets []string) []string {
	var kept []string
	for _, s := range secrets {
		if strings.HasPrefix(s, "whsec_") {
			kept = append(kept, s)
		}
	}
	return kept
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// URL is the address to point an endpoint at.
func (r *Receiver) URL() string { return r.url }

// Counts returns what the receiver has seen so far.
func (r *Receiver) Counts() Counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.counts
	c.ByType = maps.Clone(r.counts.ByType)
	return c
}

// Summary words the counts in one line, for the end of a session.
func (r *Receiver) Summary() string {
	c := r.Counts()
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(c.ByType)) {
		parts = append(parts, fmt.Sprintf("%d %s", c.ByType[t], t))
	}
	s := fmt.Sprintf("%d verified", c.Verified)
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s + fmt.Sprintf(", %d duplicates, %d rejected", c.Duplicates, c.Rejected)
}

// Close stops listening and waits for requests in progress.
func (r *Receiver) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := r.srv.Shutdown(ctx)
	if serveErr := <-r.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		return fmt.Errorf("closing receiver: %w", err)
	}
	return nil
}

// ServeHTTP verifies, prints and counts one delivery.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := r.opts.Clock.Now()
	if req.Method != http.MethodPost {
		r.reject(w, now, http.StatusMethodNotAllowed, "method "+req.Method+" (want POST)")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.opts.MaxBody))
	if err != nil {
		r.reject(w, now, http.StatusRequestEntityTooLarge, "body larger than the limit")
		return
	}
	scheme := event.DetectScheme(req.Header)
	if r.opts.Scheme != "" {
		scheme = r.opts.Scheme
	}
	v := r.verifiers[scheme]
	if v == nil {
		r.reject(w, now, http.StatusUnauthorized, string(scheme)+
			" signature, but no secret fits it (Standard Webhooks needs whsec_ secrets)")
		return
	}
	if err := v.Verify(req.Header, body, now); err != nil {
		r.reject(w, now, http.StatusUnauthorized, err.Error())
		return
	}
	var ev event.Event
	if err := json.Unmarshal(body, &ev); err != nil || !ev.Type.Valid() || ev.ID == "" {
		r.reject(w, now, http.StatusBadRequest, "signed, but not an event envelope")
		return
	}
	r.accept(now, req.Header, body, ev)
	w.WriteHeader(http.StatusNoContent)
}

// reject counts and prints a refused request and answers it.
func (r *Receiver) reject(w http.ResponseWriter, now time.Time, code int, why string) {
	r.mu.Lock()
	r.counts.Rejected++
	fmt.Fprintln(r.opts.Out, r.style(now).rejected(code, why))
	r.mu.Unlock()
	http.Error(w, why, code)
}

// accept counts, prints and records a verified event.
func (r *Receiver) accept(now time.Time, h http.Header, body []byte, ev event.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	again := r.seen[ev.ID]
	r.seen[ev.ID] = true
	r.counts.Verified++
	r.counts.ByType[ev.Type]++
	if again {
		r.counts.Duplicates++
	}
	fmt.Fprintln(r.opts.Out, r.style(now).verified(ev, h.Get(event.HeaderAttempt), again))
	if r.opts.EventsOut != nil {
		var line bytes.Buffer
		if err := json.Compact(&line, body); err == nil {
			line.WriteByte('\n')
			if _, err := r.opts.EventsOut.Write(line.Bytes()); err != nil {
				r.opts.Logger.Error("writing event to file", "event_id", ev.ID, "err", err)
			}
		}
	}
	if r.opts.OnEvent != nil {
		r.opts.OnEvent(ev)
	}
}
