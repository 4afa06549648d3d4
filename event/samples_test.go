package event

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/opencals"
)

func TestSampleOfEveryType(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 9, 30, 15, 0, time.UTC)
	tests := []struct {
		typ          Type
		wantResource string
		wantStatus   string // appointment status or order payment/refund status
		wantPrevious []string
	}{
		{typ: AppointmentCreated, wantResource: SampleAppointmentID, wantStatus: "scheduled"},
		{typ: AppointmentCanceled, wantResource: SampleAppointmentID, wantStatus: "canceled",
			wantPrevious: []string{"status"}},
		{typ: AppointmentRescheduled, wantResource: SampleAppointmentID,
			wantStatus: "scheduled", wantPrevious: []string{"from", "to"}},
		{typ: AppointmentCompleted, wantResource: SampleAppointmentID, wantStatus: "completed",
			wantPrevious: []string{"status"}},
		{typ: OrderPaid, wantResource: SampleOrderID, wantStatus: "paid/unrefunded",
			wantPrevious: []string{"paidTotal", "paymentStatus"}},
		{typ: OrderRefunded, wantResource: SampleOrderID, wantStatus: "paid/partially-refunded",
			wantPrevious: []string{"refundStatus", "refundedTotal"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ), func(t *testing.T) {
			t.Parallel()
			ev, err := Sample(tt.typ, now)
			if err != nil {
				t.Fatalf("Sample(%s) = %v", tt.typ, err)
			}
			if !ev.Test || ev.Type != tt.typ || ev.ResourceID != tt.wantResource {
				t.Errorf("Sample(%s) = test %v, type %s, resource %s; want test, %s, %s",
					tt.typ, ev.Test, ev.Type, ev.ResourceID, tt.typ, tt.wantResource)
			}
			if got := sampleStatus(t, ev); got != tt.wantStatus {
				t.Errorf("Sample(%s) object status = %q; want %q", tt.typ, got, tt.wantStatus)
			}
			var gotPrevious []string
			for k := range ev.Data.Previous {
				gotPrevious = append(gotPrevious, k)
			}
			if !sameSet(gotPrevious, tt.wantPrevious) {
				t.Errorf("Sample(%s) previous keys = %v; want %v", tt.typ, gotPrevious,
					tt.wantPrevious)
			}
			redacted, err := Redact(ev.Data.Object)
			if err != nil {
				t.Fatalf("Redact(sample) = %v", err)
			}
			if !bytes.Equal(redacted, ev.Data.Object) {
				t.Errorf("Sample(%s) object holds a credential Redact removes", tt.typ)
			}
			if _, err := json.Marshal(ev); err != nil {
				t.Errorf("encoding Sample(%s) = %v", tt.typ, err)
			}
		})
	}
}

// sampleStatus decodes the sample's object as the client would.
func sampleStatus(t *testing.T, ev Event) string {
	t.Helper()
	if ev.Type.Resource() == "order" {
		var o opencals.Order
		if err := json.Unmarshal(ev.Data.Object, &o); err != nil {
			t.Fatalf("decoding sample order: %v", err)
		}
		if len(o.LineItems) != 1 || o.LineItems[0].Appointment == nil {
			t.Errorf("sample order has %d line items; want 1 with its appointment",
				len(o.LineItems))
		}
		return string(o.PaymentStatus) + "/" + string(o.RefundStatus)
	}
	var a opencals.Appointment
	if err := json.Unmarshal(ev.Data.Object, &a); err != nil {
		t.Fatalf("decoding sample appointment: %v", err)
	}
	if !a.To.After(a.From) {
		t.Errorf("sample appointment runs from %s to %s", a.From, a.To)
	}
	return string(a.Status)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[string]bool, len(a))
	for _, s := range a {
		seen[s] = true
	}
	for _, s := range b {
		if !seen[s] {
			return false
		}
	}
	return true
}

func TestSampleIDsDifferPerCall(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 9, 30, 15, 0, time.UTC)
	a, errA := Sample(OrderPaid, now)
	b, errB := Sample(OrderPaid, now.Add(time.Millisecond))
	if errA != nil || errB != nil {
		t.Fatalf("Sample() = %v, %v", errA, errB)
	}
	if a.ID == b.ID {
		t.Errorf("two samples a millisecond apart share id %s", a.ID)
	}
}

func TestSampleRescheduleMovesTheSlot(t *testing.T) {
	t.Parallel()
	ev, err := Sample(AppointmentRescheduled, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("Sample() = %v", err)
	}
	var a opencals.Appointment
	if err := json.Unmarshal(ev.Data.Object, &a); err != nil {
		t.Fatalf("decoding sample: %v", err)
	}
	oldFrom, err := time.Parse(time.RFC3339Nano, ev.Data.Previous["from"].(string))
	if err != nil {
		t.Fatalf("previous.from: %v", err)
	}
	if got, want := a.From.Sub(oldFrom), 24*time.Hour; got != want {
		t.Errorf("reschedule moved the slot by %s; want %s", got, want)
	}
}

func TestSampleRejectsUnknownType(t *testing.T) {
	t.Parallel()
	if _, err := Sample("appointment.exploded", time.Now()); err == nil {
		t.Errorf("Sample(appointment.exploded) = nil error; want one")
	}
}
