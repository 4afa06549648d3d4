package sandbox

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// The admin endpoints drive merchant activity from outside the process
// (the sandbox command, curl, scripts). They take and answer JSON, need no
// API key, do not count against the rate limits, suffer no faults, and
// answer only loopback callers:
//
//	POST /sandbox/hold           {customerId, from, to} → {appointmentId}
//	POST /sandbox/checkout       {appointmentId}        → {orderId}
//	POST /sandbox/book           {customerId, from, to} → {appointmentId, orderId}
//	POST /sandbox/capture-payment {orderId}
//	POST /sandbox/add-on         {orderId, amount}
//	POST /sandbox/cancel         {appointmentId}
//	POST /sandbox/reschedule     {appointmentId, from, to}
//	POST /sandbox/refund         {orderId, amount}      → {refundId}
//	POST /sandbox/complete       {appointmentId}
//	POST /sandbox/delete         {appointmentId}
//	POST /sandbox/revoke-tokens  {customerId}
//	GET  /sandbox/changes?since=N → {changes: [...]}
//	GET  /sandbox/customers      → {storeId, apiKey, customers: [...]}
//	GET  /sandbox/stats          → Stats
//	GET  /sandbox/faults, POST /sandbox/faults {errorRate, latency: "250ms", …}
//
// Times are RFC 3339; money is in minor units. Errors answer {message}
// with 400 (bad input), 404 (unknown id) or 409 (wrong state).

// adminRequest is the union of the admin endpoints' bodies.
type adminRequest struct {
	CustomerID    string    `json:"customerId"`
	AppointmentID string    `json:"appointmentId"`
	OrderID       string    `json:"orderId"`
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	Amount        int64     `json:"amount"`
}

// adminFaults is Faults with a readable latency ("250ms").
type adminFaults struct {
	ErrorRate     float64 `json:"errorRate"`
	Latency       string  `json:"latency"`
	MalformedRate float64 `json:"malformedRate"`
	TruncateRate  float64 `json:"truncateRate"`
	ShiftRate     float64 `json:"shiftRate"`
}

type adminFunc func(req adminRequest) (any, error)

func (s *Sandbox) adminRoutes(mux *http.ServeMux) {
	post := func(name string, h adminFunc) {
		mux.Handle("POST /sandbox/"+name, s.admin(h))
	}
	post("hold", func(q adminRequest) (any, error) {
		id, err := s.Hold(q.CustomerID, q.From, q.To)
		return map[string]string{"appointmentId": id}, err
	})
	post("checkout", func(q adminRequest) (any, error) {
		id, err := s.Checkout(q.AppointmentID)
		return map[string]string{"orderId": id}, err
	})
	post("book", func(q adminRequest) (any, error) { return s.Book(q.CustomerID, q.From, q.To) })
	post("capture-payment", func(q adminRequest) (any, error) {
		return nil, s.CapturePayment(q.OrderID)
	})
	post("add-on", func(q adminRequest) (any, error) { return nil, s.AddOn(q.OrderID, q.Amount) })
	post("cancel", func(q adminRequest) (any, error) { return nil, s.Cancel(q.AppointmentID) })
	post("reschedule", func(q adminRequest) (any, error) {
		return nil, s.Reschedule(q.AppointmentID, q.From, q.To)
	})
	post("refund", func(q adminRequest) (any, error) {
		id, err := s.Refund(q.OrderID, q.Amount)
		return map[string]string{"refundId": id}, err
	})
	post("complete", func(q adminRequest) (any, error) { return nil, s.Complete(q.AppointmentID) })
	post("delete", func(q adminRequest) (any, error) { return nil, s.Delete(q.AppointmentID) })
	post("revoke-tokens", func(q adminRequest) (any, error) {
		s.RevokeTokens(q.CustomerID)
		return nil, nil
	})
	mux.Handle("GET /sandbox/changes", s.loopback(s.handleChanges))
	mux.Handle("GET /sandbox/customers", s.loopback(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"storeId": s.storeID, "apiKey": s.cfg.APIKey,
			"customers": s.Customers()})
	}))
	mux.Handle("GET /sandbox/stats", s.loopback(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	}))
	mux.Handle("GET /sandbox/faults", s.loopback(s.handleGetFaults))
	mux.Handle("POST /sandbox/faults", s.loopback(s.handleSetFaults))
}

// loopback refuses callers that are not on this machine.
func (s *Sandbox) loopback(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			writeJSON(w, http.StatusForbidden, wireError{Message: "admin endpoints answer loopback only"})
			return
		}
		h(w, r)
	})
}

func (s *Sandbox) admin(h adminFunc) http.Handler {
	return s.loopback(func(w http.ResponseWriter, r *http.Request) {
		var req adminRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, wireError{Message: "decoding request: " + err.Error()})
			return
		}
		out, err := h(req)
		if err != nil {
			writeJSON(w, errorStatus(err), wireError{Message: err.Error()})
			return
		}
		if out == nil {
			out = map[string]bool{"ok": true}
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func (s *Sandbox) handleChanges(w http.ResponseWriter, r *http.Request) {
	var since int64
	if raw := r.URL.Query().Get("since"); raw != "" {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			msg := fmt.Sprintf("since %q: not a number", raw)
			writeJSON(w, http.StatusBadRequest, wireError{Message: msg})
			return
		}
		since = n
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": s.Changes(since)})
}

func (s *Sandbox) handleGetFaults(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	f := s.faults
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, adminFaults{ErrorRate: f.ErrorRate, Latency: f.Latency.String(),
		MalformedRate: f.MalformedRate, TruncateRate: f.TruncateRate, ShiftRate: f.ShiftRate})
}

func (s *Sandbox) handleSetFaults(w http.ResponseWriter, r *http.Request) {
	var req adminFaults
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, wireError{Message: "decoding faults: " + err.Error()})
		return
	}
	f := Faults{ErrorRate: req.ErrorRate, MalformedRate: req.MalformedRate,
		TruncateRate: req.TruncateRate, ShiftRate: req.ShiftRate}
	if req.Latency != "" {
		d, err := time.ParseDuration(req.Latency)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, wireError{Message: "latency: " + err.Error()})
			return
		}
		f.Latency = d
	}
	s.SetFaults(f)
	s.handleGetFaults(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"message":"encoding answer"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
