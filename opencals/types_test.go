package opencals

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// readFixture reads a file of testdata/, copied from the shared fixtures
// that passed the official SDK's runtime schemas.
func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return v
}

func TestDecodeAppointmentsPage(t *testing.T) {
	t.Parallel()
	raw := readFixture(t, "appointments-page.json")
	var page Page[Appointment]
	if err := json.Unmarshal(raw, &page); err != nil {
		t.Fatalf("Unmarshal(appointments-page.json) = %v; want nil", err)
	}
	want := Page[Appointment]{
		Data: []Appointment{{
			ID:                "0a1b2c3d-6666-4666-8666-000000000001",
			Name:              "1001",
			StoreID:           "7b0c6a52-5a3e-4c55-9d0e-1f6f1c2b9a10",
			CustomerID:        "c1d2e3f4-0000-4000-8000-000000000001",
			ProductID:         "a9f1e2d3-1111-4111-8111-000000000001",
			StaffMemberID:     "e5f6a7b8-3333-4333-8333-000000000001",
			LocationID:        "b1c2d3e4-5555-4555-8555-000000000001",
			From:              mustTime(t, "2026-12-05T14:00:00Z"),
			To:                mustTime(t, "2026-12-05T15:00:00Z"),
			Status:            AppointmentScheduled,
			NumberOfAttendees: 1,
			CreatedBy:         "customer",
			CreatedAt:         mustTime(t, "2026-12-01T09:12:33Z"),
			UpdatedAt:         mustTime(t, "2026-12-01T09:15:02Z"),
			OrderLineItem: &LineItem{
				OrderID:            "9e8d7c6b-7777-4777-8777-000000000001",
				AppointmentID:      "0a1b2c3d-6666-4666-8666-000000000001",
				Quantity:           1,
				RefundableQuantity: 1,
				DiscountedTotal:    5535,
			},
		}},
		Meta: Meta{Page: 1, Take: 100, ItemCount: 1, PageCount: 1},
	}
	if diff := cmp.Diff(want, page, cmpopts.IgnoreFields(Appointment{}, "Raw")); diff != "" {
		t.Errorf("decoded appointments page differs (-want +got):\n%s", diff)
	}
	checkRaw(t, raw, page.Data[0].Raw)
}

func TestDecodeOrdersPage(t *testing.T) {
	t.Parallel()
	raw := readFixture(t, "orders-page.json")
	var page Page[Order]
	if err := json.Unmarshal(raw, &page); err != nil {
		t.Fatalf("Unmarshal(orders-page.json) = %v; want nil", err)
	}
	if len(page.Data) != 1 {
		t.Fatalf("len(Data) = %d; want 1", len(page.Data))
	}
	got := page.Data[0]
	want := Order{
		ID:                  "9e8d7c6b-7777-4777-8777-000000000001",
		Name:                "1001",
		StoreID:             "7b0c6a52-5a3e-4c55-9d0e-1f6f1c2b9a10",
		CustomerID:          "c1d2e3f4-0000-4000-8000-000000000001",
		CartID:              "cc00aa11-8888-4888-8888-000000000001",
		PaymentCurrencyCode: "EUR",
		Subtotal:            4500, Total: 5535, TotalTax: 1035,
		PaidTotal: 5535, Balance: 5535,
		IsFullyPaid:       true,
		PaymentStatus:     PaymentPaid,
		RefundStatus:      RefundNone,
		FulfillmentStatus: "unfulfilled",
		LineItems: []LineItem{{
			OrderID:            "9e8d7c6b-7777-4777-8777-000000000001",
			AppointmentID:      "0a1b2c3d-6666-4666-8666-000000000001",
			Quantity:           1,
			RefundableQuantity: 1,
			DiscountedTotal:    5535,
			Appointment: &Appointment{
				ID:                "0a1b2c3d-6666-4666-8666-000000000001",
				Name:              "1001",
				StoreID:           "7b0c6a52-5a3e-4c55-9d0e-1f6f1c2b9a10",
				CustomerID:        "c1d2e3f4-0000-4000-8000-000000000001",
				ProductID:         "a9f1e2d3-1111-4111-8111-000000000001",
				StaffMemberID:     "e5f6a7b8-3333-4333-8333-000000000001",
				LocationID:        "b1c2d3e4-5555-4555-8555-000000000001",
				From:              mustTime(t, "2026-12-05T14:00:00Z"),
				To:                mustTime(t, "2026-12-05T15:00:00Z"),
				Status:            AppointmentScheduled,
				NumberOfAttendees: 1,
				CreatedBy:         "customer",
				CreatedAt:         mustTime(t, "2026-12-01T09:12:33Z"),
				UpdatedAt:         mustTime(t, "2026-12-01T09:15:02Z"),
			},
		}},
		Transactions: []Transaction{{
			OrderID:      "9e8d7c6b-7777-4777-8777-000000000001",
			ExternalID:   "pi_3Q000000000000001",
			Type:         TransactionSale,
			Status:       TransactionSuccess,
			Amount:       5535,
			CurrencyCode: "EUR",
			Provider:     "stripe",
			CreatedAt:    mustTime(t, "2026-12-01T09:15:01Z"),
		}},
		CreatedAt: mustTime(t, "2026-12-01T09:12:33Z"),
		UpdatedAt: mustTime(t, "2026-12-01T09:15:02Z"),
	}
	ignoreRaw := cmp.Options{
		cmpopts.IgnoreFields(Order{}, "Raw"), cmpopts.IgnoreFields(Appointment{}, "Raw"),
	}
	if diff := cmp.Diff(want, got, ignoreRaw); diff != "" {
		t.Errorf("decoded order differs (-want +got):\n%s", diff)
	}
	checkRaw(t, raw, got.Raw)
	if a := got.LineItems[0].Appointment; !json.Valid(a.Raw) || len(a.Raw) == 0 {
		t.Errorf("embedded appointment Raw = %q; want its JSON", a.Raw)
	}
}

// checkRaw verifies an item's Raw is valid JSON holding the fields the Go
// type does not model, so they still reach events.
func checkRaw(t *testing.T, page, raw []byte) {
	t.Helper()
	if !json.Valid(raw) {
		t.Fatalf("Raw is not valid JSON: %q", raw)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("Raw is not an object: %v", err)
	}
	if _, ok := m["customer"]; !ok {
		t.Errorf("Raw lacks the unmodelled field customer; keys %v", keys(m))
	}
	if !bytes.Contains(page, bytes.TrimSpace(raw)) {
		t.Errorf("Raw is not a verbatim slice of the page")
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDecodeTokensMasksThem(t *testing.T) {
	t.Parallel()
	var tok Tokens
	if err := json.Unmarshal(readFixture(t, "tokens.json"), &tok); err != nil {
		t.Fatalf("Unmarshal(tokens.json) = %v; want nil", err)
	}
	want := Tokens{AccessToken: "eyJhbGciOi.access.sig", RefreshToken: "eyJhbGciOi.refresh.sig"}
	if tok != want {
		t.Fatalf("decoded tokens differ from the fixture")
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("t", "tokens", tok)
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", tok), "%+v": fmt.Sprintf("%+v", tok),
		//lint:ignore S1025 each verb is what the test checks
		"%#v": fmt.Sprintf("%#v", tok), "%s": fmt.Sprintf("%s", tok),
		"slog": logged.String(),
	}
	for verb, out := range outputs {
		if strings.Contains(out, "eyJ") {
			t.Errorf("formatting Tokens with %s = %q; want the tokens masked", verb, out)
		}
	}
}
