//go:build faults

package faults

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
)

// Answer is how the receiver treats one delivery.
type Answer int

// The answers a Receiver can give.
const (
	// Accept answers 204 at once.
	Accept Answer = iota
	// Fail answers 500.
	Fail
	// Slow answers 204 after ReceiverOptions.SlowFor.
	Slow
	// Drop closes the connection before reading the body: the request
	// dies mid-way and the sender gets no answer.
	Drop
)

var answerNames = [...]string{"accept", "fail", "slow", "drop"}

// String names the answer in reports.
func (a Answer) String() string { return answerNames[a] }

// ReceiverOptions configure a Receiver.
type ReceiverOptions struct {
	// Secret verifies the opencals signature of every delivery. Required.
	Secret string
	// Answer picks the answer to each verified delivery; nil accepts all.
	// It is called from the serving goroutines, one call at a time.
	Answer func() Answer
	// SlowFor is how long a Slow answer takes. Default one second.
	SlowFor time.Duration
}

// Delivery is one request the receiver got.
type Delivery struct {
	// N numbers the request's arrival; arrivals and acceptances share one
	// counter, from 1, so that they can be ordered.
	N int
	Observed
	// Body is the raw request body; nil for a dropped request.
	Body []byte
	// Answer is what the receiver did. Accepted says the event was taken
	// (Accept, or Slow, whose answer may come after the sender gave up);
	// AcceptedAt numbers that moment on the same scale as N.
	Answer     Answer
	Accepted   bool
	AcceptedAt int
}

// Observed is a delivered event as the checks read it.
type Observed struct {
	ID         string
	Type       event.Type
	ResourceID string
	CustomerID string
	// From and To are data.object's slot, for appointment events.
	From, To time.Time
}

// Receiver is a loopback webhook endpoint that verifies and records every
// delivery, and can misbehave on request: go down, answer slowly, fail, or
// drop connections.
type Receiver struct {
	opts     ReceiverOptions
	verifier *event.Verifier
	addr     string

	mu         sync.Mutex
	srv        *http.Server
	served     chan error
	deliveries []Delivery
	tick       int // the last number handed out for an arrival or acceptance
	rejected   int
}

// errReceiverUp is Up on a receiver that is up already.
var errReceiverUp = errors.New("receiver is already up")

// StartReceiver listens on a free loopback port and serves.
func StartReceiver(opts ReceiverOptions) (*Receiver, error) {
	v, err := event.NewVerifier(event.SchemeOpencals, "", []string{opts.Secret}, 0)
	if err != nil {
		return nil, fmt.Errorf("starting receiver: %w", err)
	}
	if opts.Answer == nil {
		opts.Answer = func() Answer { return Accept }
	}
	if opts.SlowFor <= 0 {
		opts.SlowFor = time.Second
	}
	r := &Receiver{opts: opts, verifier: v, addr: "127.0.0.1:0"}
	if err := r.Up(); err != nil {
		return nil, err
	}
	return r, nil
}

// URL is where deliveries go; it stays the same across Down and Up.
func (r *Receiver) URL() string { return "http://" + r.addr + "/hooks" }

// Up listens again, on the same port, after Down.
func (r *Receiver) Up() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		return errReceiverUp
	}
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		return fmt.Errorf("receiver listening on %s: %w", r.addr, err)
	}
	r.addr = ln.Addr().String()
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	r.served = make(chan error, 1)
	go func(srv *http.Server, served chan<- error) { served <- srv.Serve(ln) }(r.srv, r.served)
	return nil
}

// Down stops listening and cuts every open connection: senders get
// "connection refused" until Up.
func (r *Receiver) Down() error {
	r.mu.Lock()
	srv, served := r.srv, r.served
	r.srv = nil
	r.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		return fmt.Errorf("stopping receiver: %w", err)
	}
	return nil
}

// Close is Down for good.
func (r *Receiver) Close() error { return r.Down() }

// SetAnswer replaces the answer picker.
func (r *Receiver) SetAnswer(pick func() Answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opts.Answer = pick
}

// Deliveries returns a copy of every request recorded so far.
func (r *Receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.deliveries...)
}

// Rejected counts requests whose signature or envelope was bad.
func (r *Receiver) Rejected() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rejected
}

// ServeHTTP verifies and records one delivery, then answers as told.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	answer := r.pick()
	if answer == Drop {
		r.drop(w, req)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 1<<20))
	if err != nil {
		return // the sender went away mid-body
	}
	obs, err := r.check(req.Header, body)
	if err != nil {
		r.mu.Lock()
		r.rejected++
		r.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	n := r.record(Delivery{Observed: obs, Body: body, Answer: answer})
	if answer == Fail {
		http.Error(w, "injected failure", http.StatusInternalServerError)
		return
	}
	// A slow handler has done its work; only its answer is late, and a
	// sender that gave up meanwhile will send the event again.
	r.accepted(n)
	if answer == Slow {
		select {
		case <-time.After(r.opts.SlowFor):
		case <-req.Context().Done():
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *Receiver) pick() Answer {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.opts.Answer()
}

// drop records a request cut before its body and closes the connection.
func (r *Receiver) drop(w http.ResponseWriter, req *http.Request) {
	r.record(Delivery{Observed: Observed{ID: req.Header.Get(event.HeaderEventID),
		Type: event.Type(req.Header.Get(event.HeaderEventType))}, Answer: Drop})
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // net/http closes the connection
	}
	_ = conn.Close()
}

// check verifies the signature and reads what the checks need.
func (r *Receiver) check(h http.Header, body []byte) (Observed, error) {
	if err := r.verifier.Verify(h, body, time.Now()); err != nil {
		return Observed{}, err
	}
	var env struct {
		ID         string     `json:"id"`
		Type       event.Type `json:"type"`
		CustomerID string     `json:"customerId"`
		Data       struct {
			Object struct {
				ID   string    `json:"id"`
				From time.Time `json:"from"`
				To   time.Time `json:"to"`
			} `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.ID == "" || !env.Type.Valid() {
		return Observed{}, fmt.Errorf("not an event envelope: %w", errors.Join(err,
			errors.New("id or type missing")))
	}
	if env.ID != h.Get(event.HeaderEventID) {
		return Observed{}, fmt.Errorf("header id %q, body id %q", h.Get(event.HeaderEventID), env.ID)
	}
	obs := Observed{ID: env.ID, Type: env.Type, ResourceID: env.Data.Object.ID,
		CustomerID: env.CustomerID}
	if env.Type.Resource() == "appointment" {
		obs.From, obs.To = env.Data.Object.From, env.Data.Object.To
	}
	return obs, nil
}

// record appends a delivery and returns its index.
func (r *Receiver) record(d Delivery) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tick++
	d.N = r.tick
	r.deliveries = append(r.deliveries, d)
	return len(r.deliveries) - 1
}

func (r *Receiver) accepted(i int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tick++
	r.deliveries[i].Accepted, r.deliveries[i].AcceptedAt = true, r.tick
}
