// Package admin serves the operator's HTTP endpoints: liveness, readiness,
// Prometheus metrics and customer registration.
package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"github.com/opencals-sync/opencals-sync/customer"
)

// Check is one readiness condition; nil means ready.
type Check func(ctx context.Context) error

// Registrar registers a customer of the named store ("" for the only one)
// and returns its id.
type Registrar func(ctx context.Context, store string, r customer.Registration) (string, error)

// Server holds the handlers. Token is read on every request, so a reloaded
// token applies at once; an empty token disables registration.
type Server struct {
	Checks   map[string]Check
	Metrics  http.Handler
	Register Registrar
	Token    func() string
	Logger   *slog.Logger
}

// Handler routes the admin endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics)
	}
	mux.HandleFunc("POST /v1/customers", s.registerCustomer)
	return mux
}

// checkTimeout bounds each readiness check on its own, so one slow check
// (a locked database waits out its busy timeout) cannot fail the others.
const checkTimeout = 3 * time.Second

// ready runs every check at once, each with its own deadline, and answers
// 503 when any fails, naming it.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	names := make([]string, 0, len(s.Checks))
	for name := range s.Checks {
		names = append(names, name)
	}
	sort.Strings(names)
	errs := make([]error, len(names))
	var wg gosync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
			defer cancel()
			errs[i] = s.Checks[name](ctx)
		})
	}
	wg.Wait()
	status := http.StatusOK
	results := make(map[string]string, len(names))
	for i, name := range names {
		results[name] = "ok"
		if errs[i] != nil {
			status = http.StatusServiceUnavailable
			results[name] = errs[i].Error()
		}
	}
	writeJSON(w, status, results)
}

// registration is the body of POST /v1/customers.
type registration struct {
	Store        string `json:"store"`
	CustomerID   string `json:"customerId"`
	Email        string `json:"email"`
	Password     string `json:"password"`
	RefreshToken string `json:"refreshToken"`
}

func (s *Server) registerCustomer(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "unauthorized"})
		return
	}
	var body registration
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "invalid JSON body: " + err.Error()})
		return
	}
	id, err := s.Register(r.Context(), body.Store, customer.Registration{
		Email: body.Email, Password: body.Password,
		RefreshToken: body.RefreshToken, CustomerID: body.CustomerID,
	})
	if err != nil {
		status := http.StatusBadGateway
		if errors.Is(err, customer.ErrIncomplete) || errors.Is(err, customer.ErrUnknownCustomer) ||
			errors.Is(err, ErrUnknownStore) {
			status = http.StatusBadRequest
		}
		s.Logger.Warn("customer registration failed", "err", err)
		writeJSON(w, status, map[string]string{"message": err.Error()})
		return
	}
	s.Logger.Info("customer registered", "customer", id, "store", body.Store)
	writeJSON(w, http.StatusCreated, map[string]string{"customerId": id})
}

// ErrUnknownStore means a registration named a store the config lacks.
var ErrUnknownStore = errors.New("unknown store")

// authorized compares the bearer token in constant time.
func (s *Server) authorized(r *http.Request) bool {
	want := s.Token()
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return want != "" && ok && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
