package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// admin posts to an admin endpoint and decodes the answer into out.
func (h *harness) admin(path string, body any, out any) int {
	h.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		h.t.Fatalf("encoding %v: %v", body, err)
	}
	resp, err := h.client.Post(h.sb.URL()+path, "application/json", bytes.NewReader(b))
	if err != nil {
		h.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			h.t.Fatalf("decoding POST %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{Customers: 1})
	c := h.customer(0)
	from := testStart.Add(72 * time.Hour)
	var b Booking
	if st := h.admin("/sandbox/book", map[string]any{"customerId": c.id, "from": from,
		"to": from.Add(time.Hour)}, &b); st != http.StatusOK || b.OrderID == "" {
		t.Fatalf("POST /sandbox/book = %d %+v; want 200 with ids", st, b)
	}
	var refund struct{ RefundID string }
	steps := []struct {
		path       string
		body       map[string]any
		out        any
		wantStatus int
	}{
		{path: "/sandbox/refund", body: map[string]any{"orderId": b.OrderID, "amount": 100},
			wantStatus: http.StatusConflict},
		{path: "/sandbox/capture-payment", body: map[string]any{"orderId": b.OrderID},
			wantStatus: http.StatusOK},
		{path: "/sandbox/add-on", body: map[string]any{"orderId": b.OrderID, "amount": 300},
			wantStatus: http.StatusOK},
		{path: "/sandbox/refund", body: map[string]any{"orderId": b.OrderID, "amount": 100},
			out: &refund, wantStatus: http.StatusOK},
		{path: "/sandbox/reschedule", body: map[string]any{"appointmentId": b.AppointmentID,
			"from": from.Add(time.Hour), "to": from.Add(2 * time.Hour)}, wantStatus: http.StatusOK},
		{path: "/sandbox/complete", body: map[string]any{"appointmentId": b.AppointmentID},
			wantStatus: http.StatusOK},
		{path: "/sandbox/cancel", body: map[string]any{"appointmentId": "nope"},
			wantStatus: http.StatusNotFound},
		{path: "/sandbox/reschedule", body: map[string]any{"appointmentId": b.AppointmentID},
			wantStatus: http.StatusConflict},
		{path: "/sandbox/delete", body: map[string]any{"appointmentId": b.AppointmentID},
			wantStatus: http.StatusOK},
		{path: "/sandbox/revoke-tokens", body: map[string]any{"customerId": c.id},
			wantStatus: http.StatusOK},
	}
	for _, st := range steps {
		if got := h.admin(st.path, st.body, st.out); got != st.wantStatus {
			t.Fatalf("POST %s = %d; want %d", st.path, got, st.wantStatus)
		}
	}
	var log struct{ Changes []Change }
	r := h.get("/sandbox/changes?since=2", "")
	r.decode(t, &log)
	var kinds []string
	for _, ch := range log.Changes {
		kinds = append(kinds, ch.Kind)
	}
	want := []string{KindPaid, KindAddOn, KindRefunded, KindRescheduled, KindCompleted, KindDeleted}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("GET /sandbox/changes?since=2 kinds (-want +got):\n%s", diff)
	}
	if log.Changes[2].RefundID != refund.RefundID || refund.RefundID == "" {
		t.Errorf("refund change id %q; want the answered %q", log.Changes[2].RefundID, refund.RefundID)
	}
}

func TestAdminFaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	var got adminFaults
	in := adminFaults{ErrorRate: 0.25, Latency: "250ms", ShiftRate: 0.5}
	if st := h.admin("/sandbox/faults", in, &got); st != http.StatusOK {
		t.Fatalf("POST /sandbox/faults = %d; want 200", st)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("faults answered (-want +got):\n%s", diff)
	}
	h.sb.mu.Lock()
	f := h.sb.faults
	h.sb.mu.Unlock()
	if f.Latency != 250*time.Millisecond || f.ErrorRate != 0.25 {
		t.Errorf("faults set to %+v; want latency 250ms, error rate 0.25", f)
	}
	bad := map[string]string{"latency": "soon"}
	if st := h.admin("/sandbox/faults", bad, nil); st != http.StatusBadRequest {
		t.Errorf("POST /sandbox/faults with a bad latency = %d; want 400", st)
	}
}

func TestAdminLoopbackOnly(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Customers: 1})
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	tests := []struct {
		remote string
		want   int
	}{
		{remote: "192.0.2.7:4000", want: http.StatusForbidden},
		{remote: "[2001:db8::1]:4000", want: http.StatusForbidden},
		{remote: "127.0.0.1:4000", want: http.StatusOK},
		{remote: "[::1]:4000", want: http.StatusOK},
	}
	for _, tt := range tests {
		req := httptest.NewRequest(http.MethodGet, "/sandbox/stats", nil)
		req.RemoteAddr = tt.remote
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != tt.want {
			t.Errorf("GET /sandbox/stats from %s = %d; want %d", tt.remote, rec.Code, tt.want)
		}
	}
}
