package sandbox

import (
	"net/http"
	"time"
)

// Fault names, as Stats and the debug log report them.
const (
	faultServerError = "server_error"
	faultPlainError  = "server_error_text"
	faultMalformed   = "malformed"
	faultTruncated   = "truncated"
)

// rawBody is a reply body sent as is, not encoded as JSON.
type rawBody []byte

// wait adds the configured latency on the sandbox clock. It reports false
// when the client went away first.
func (s *Sandbox) wait(r *http.Request) bool {
	s.mu.Lock()
	d := s.faults.Latency
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	select {
	case <-s.clock.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}

// rollServerError decides, before the handler runs, whether the request
// fails with a 5xx, so a failed request has no effect. Callers hold s.mu.
func (s *Sandbox) rollServerError() (reply, string) {
	if s.faults.ErrorRate <= 0 || s.faultRand.Float64() >= s.faults.ErrorRate {
		return reply{}, ""
	}
	status := []int{http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable}[s.faultRand.IntN(3)]
	if s.faultRand.IntN(2) == 0 {
		return fail(status, "Internal server error"), faultServerError
	}
	text := "upstream connect error or disconnect/reset before headers"
	return reply{status: status, body: rawBody(text)}, faultPlainError
}

// mangle decides, after the handler ran, whether a 200 body arrives broken:
// not JSON at all, or cut short. The handler's effects stand, as when a
// proxy drops a connection mid-answer.
func (s *Sandbox) mangle(body []byte) ([]byte, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	if f.MalformedRate <= 0 && f.TruncateRate <= 0 {
		return nil, ""
	}
	roll := s.faultRand.Float64()
	switch {
	case roll < f.MalformedRate:
		return []byte("<html><body>Service temporarily unavailable</body></html>"), faultMalformed
	case roll < f.MalformedRate+f.TruncateRate:
		return body[:len(body)/2], faultTruncated
	}
	return nil, ""
}

// maybeShift inserts, at the configured rate, an item dated before every
// other item of the customer, so that each later page in the default order
// starts one item earlier than the reader expects: a backdated hold for
// appointments, a backdated booking for orders.
func (s *Sandbox) maybeShift(resource string, c *customer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.ShiftRate <= 0 || s.faultRand.Float64() >= s.faults.ShiftRate {
		return
	}
	s.stats.Faults++
	now := s.clock.Now()
	created := now
	for _, a := range c.appointments {
		created = minTime(created, a.createdAt)
	}
	created = created.Add(-time.Minute)
	from := now.Add(72 * time.Hour).Truncate(time.Hour)
	a := s.hold(c, from, from.Add(time.Hour), created)
	s.record(Change{At: now, Kind: KindHold, CustomerID: c.id, AppointmentID: a.id,
		From: a.from, To: a.to})
	if resource != "orders" {
		return
	}
	o := s.checkout(a, created)
	s.record(Change{At: now, Kind: KindBooked, CustomerID: c.id, AppointmentID: a.id,
		OrderID: o.id, From: a.from, To: a.to, Amount: o.figures().total})
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// count records one answer in the stats.
func (s *Sandbox) count(route string, status int, fault string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	byStatus := s.stats.Requests[route]
	if byStatus == nil {
		byStatus = map[int]int{}
		s.stats.Requests[route] = byStatus
	}
	byStatus[status]++
	s.stats.Total++
	if status == http.StatusTooManyRequests {
		s.stats.RateLimited++
	}
	if fault != "" {
		s.stats.Faults++
	}
}
