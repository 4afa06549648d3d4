package sandbox

import (
	stdcmp "cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestListValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	tok := h.signIn(h.customer(0).email, "")
	tests := []struct {
		path string
		want []wireFieldError
	}{
		{path: "/storefront/appointments?take=101", want: []wireFieldError{
			{Property: "take", Messages: []string{"take must not be greater than 100"}}}},
		{path: "/storefront/appointments?take=0", want: []wireFieldError{
			{Property: "take", Messages: []string{"take must not be less than 1"}}}},
		{path: "/storefront/appointments?page=0&take=x", want: []wireFieldError{
			{Property: "page", Messages: []string{"page must not be less than 1"}},
			{Property: "take", Messages: []string{"take must be an integer number"}}}},
		{path: "/storefront/appointments?status=scheduled&status=booked", want: []wireFieldError{
			{Property: "status", Messages: []string{"each value in status must be one of the " +
				"following values: pending, scheduled, completed, canceled"}}}},
		{path: "/storefront/appointments?orderBy=name&order=up", want: []wireFieldError{
			{Property: "order", Messages: []string{"order must be one of the following values: ASC, DESC"}},
			{Property: "orderBy", Messages: []string{"orderBy must be one of the following values: " +
				"from, to, productId, staffMemberId, customerId, createdAt"}}}},
		{path: "/storefront/appointments?date=2026-13-01", want: []wireFieldError{
			{Property: "date", Messages: []string{"date must be a valid ISO 8601 date string"}}}},
		{path: "/storefront/orders?paymentStatuses[]=refunded", want: []wireFieldError{
			{Property: "paymentStatuses", Messages: []string{"each value in paymentStatuses must be " +
				"one of the following values: unpaid, paid, partially-paid"}}}},
		{path: "/storefront/orders?orderBy=from", want: []wireFieldError{
			{Property: "orderBy", Messages: []string{"orderBy must be one of the following values: " +
				"customerId, createdAt"}}}},
		{path: "/storefront/products?take=500", want: []wireFieldError{
			{Property: "take", Messages: []string{"take must not be greater than 100"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			r := h.get(tt.path, tok.AccessToken)
			if r.status != http.StatusBadRequest {
				t.Fatalf("GET %s = %d; want 400", tt.path, r.status)
			}
			var got wireError
			r.decode(t, &got)
			if diff := cmp.Diff(tt.want, got.Errors); diff != "" || got.Message == "" {
				t.Errorf("GET %s errors (-want +got):\n%s message %q", tt.path, diff, got.Message)
			}
		})
	}
}

// bookMany gives the customer n more scheduled appointments, one a minute.
func bookMany(t *testing.T, h *harness, c *customer, n int) {
	t.Helper()
	for i := range n {
		h.clock.Advance(time.Minute)
		from := testStart.Add(time.Duration(24+i) * time.Hour)
		if _, err := h.sb.Book(c.id, from, from.Add(time.Hour)); err != nil {
			t.Fatalf("Book() = %v", err)
		}
	}
}

type appointmentsPage struct {
	Data []struct {
		ID        string `json:"id"`
		Status    string `json:"status"`
		From      string `json:"from"`
		CreatedAt string `json:"createdAt"`
	} `json:"data"`
	Meta wireMeta `json:"meta"`
}

func (p appointmentsPage) ids() []string {
	var ids []string
	for _, a := range p.Data {
		ids = append(ids, a.ID)
	}
	return ids
}

func TestPagination(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	c := h.customer(0)
	bookMany(t, h, c, 20)
	total := len(c.appointments)
	tok := h.signIn(c.email, "")
	var all appointmentsPage
	h.mustGet("/storefront/appointments?take=100", tok.AccessToken).decode(t, &all)

	pageCount := (total + 9) / 10
	var joined []string
	for p := 1; p <= pageCount+1; p++ {
		var got appointmentsPage
		path := "/storefront/appointments?take=10&page=" + strconv.Itoa(p)
		h.mustGet(path, tok.AccessToken).decode(t, &got)
		want := wireMeta{Page: p, Take: 10, ItemCount: total, PageCount: pageCount,
			HasPreviousPage: p > 1, HasNextPage: p < pageCount}
		if diff := cmp.Diff(want, got.Meta); diff != "" {
			t.Errorf("page %d meta (-want +got):\n%s", p, diff)
		}
		joined = append(joined, got.ids()...)
	}
	if diff := cmp.Diff(all.ids(), joined); diff != "" {
		t.Errorf("pages joined differ from one big page (-want +got):\n%s", diff)
	}
	var def appointmentsPage
	h.mustGet("/storefront/appointments", tok.AccessToken).decode(t, &def)
	if def.Meta.Take != defaultTake || len(def.Data) != defaultTake {
		t.Errorf("default page: take %d with %d items; want %d", def.Meta.Take, len(def.Data),
			defaultTake)
	}
}

func TestAppointmentFilters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	c := h.customer(0)
	tok := h.signIn(c.email, "")
	day := c.appointments[len(c.appointments)-1].from.Format(time.DateOnly)
	var wantDay []string
	for _, a := range c.appointments {
		if a.from.Format(time.DateOnly) == day {
			wantDay = append(wantDay, a.id)
		}
	}
	tests := []struct {
		name  string
		query string
		keep  func(a *appointment) bool
	}{
		{name: "repeated", query: "status=scheduled&status=completed", keep: scheduledOrCompleted},
		{name: "bracketed", query: "status[]=scheduled&status[]=completed", keep: scheduledOrCompleted},
		{name: "comma-separated", query: "status=scheduled,completed", keep: scheduledOrCompleted},
		{name: "canceled", query: "status=canceled",
			keep: func(a *appointment) bool { return a.status == statusCanceled }},
		{name: "date", query: "date=" + day,
			keep: func(a *appointment) bool { return slices.Contains(wantDay, a.id) }},
		{name: "product", query: "products=" + c.appointments[0].product.id,
			keep: func(a *appointment) bool { return a.product == c.appointments[0].product }},
		{name: "staff and location", query: "staffMembers=" + c.appointments[0].staff.id +
			"&locations=" + c.appointments[0].location.id, keep: func(a *appointment) bool {
			return a.staff == c.appointments[0].staff && a.location == c.appointments[0].location
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var want []string
			for _, a := range c.appointments {
				if tt.keep(a) {
					want = append(want, a.id)
				}
			}
			var got appointmentsPage
			h.mustGet("/storefront/appointments?take=100&"+tt.query, tok.AccessToken).decode(t, &got)
			if diff := cmp.Diff(want, got.ids()); diff != "" || len(want) == 0 {
				t.Errorf("GET ?%s ids (-want +got):\n%s (want %d items)", tt.query, diff, len(want))
			}
		})
	}
}

func scheduledOrCompleted(a *appointment) bool {
	return a.status == statusScheduled || a.status == statusCompleted
}

// TestListOrder checks the orderings and that ties are broken by createdAt
// then id, so equal keys never swap between two reads.
func TestListOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	c := h.customer(0)
	from := testStart.Add(30 * time.Hour)
	for range 4 { // same slot, same createdAt: only the id tells them apart
		if _, err := h.sb.Book(c.id, from, from.Add(time.Hour)); err != nil {
			t.Fatalf("Book() = %v", err)
		}
	}
	tok := h.signIn(c.email, "")
	byCreated := func(a, b *appointment) int {
		return stdcmp.Or(a.createdAt.Compare(b.createdAt), strings.Compare(a.id, b.id))
	}
	byFrom := func(a, b *appointment) int {
		return stdcmp.Or(a.from.Compare(b.from), byCreated(a, b))
	}
	tests := []struct {
		query string
		cmp   func(a, b *appointment) int
	}{
		{query: "", cmp: byCreated},
		{query: "order=DESC", cmp: func(a, b *appointment) int { return -byCreated(a, b) }},
		{query: "orderBy=from", cmp: byFrom},
		{query: "orderBy=from&order=DESC", cmp: func(a, b *appointment) int { return -byFrom(a, b) }},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			sorted := slices.Clone(c.appointments)
			slices.SortFunc(sorted, tt.cmp)
			var want []string
			for _, a := range sorted {
				want = append(want, a.id)
			}
			var got appointmentsPage
			h.mustGet("/storefront/appointments?take=100&"+tt.query, tok.AccessToken).decode(t, &got)
			if diff := cmp.Diff(want, got.ids()); diff != "" {
				t.Errorf("GET ?%s order (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

func TestOrderFilters(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	c := h.customer(0)
	tok := h.signIn(c.email, "")
	tests := []struct {
		query string
		keep  func(o *order) bool
	}{
		{query: "paymentStatuses=paid",
			keep: func(o *order) bool { return o.figures().payment == paymentPaid }},
		{query: "paymentStatuses=unpaid&fulfillmentStatuses=unfulfilled", keep: func(o *order) bool {
			return o.figures().payment == paymentUnpaid && o.figures().fulfilment == fulfillmentNone
		}},
		{query: "fulfillmentStatuses[]=fulfilled",
			keep: func(o *order) bool { return o.figures().fulfilment == fulfillmentFully }},
		{query: "name=" + c.orders[1].name, keep: func(o *order) bool { return o == c.orders[1] }},
		{query: "services=" + c.orders[0].lines[0].appt.product.id, keep: func(o *order) bool {
			return o.lines[0].appt.product == c.orders[0].lines[0].appt.product
		}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			var want []string
			for _, o := range c.orders {
				if tt.keep(o) {
					want = append(want, o.id)
				}
			}
			var got struct {
				Data []struct {
					ID string `json:"id"`
				} `json:"data"`
			}
			h.mustGet("/storefront/orders?take=100&"+tt.query, tok.AccessToken).decode(t, &got)
			var ids []string
			for _, o := range got.Data {
				ids = append(ids, o.ID)
			}
			if diff := cmp.Diff(want, ids); diff != "" || len(want) == 0 {
				t.Errorf("GET ?%s ids (-want +got):\n%s (want %d items)", tt.query, diff, len(want))
			}
		})
	}
}

// TestCustomerScope pins that another customer's items answer 404, as the
// real API does, and that lists only hold the caller's own.
func TestCustomerScope(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	mine, theirs := h.customer(0), h.customer(1)
	tok := h.signIn(mine.email, "")
	tests := []struct {
		path       string
		wantStatus int
	}{
		{path: "/storefront/appointments/" + theirs.appointments[0].id, wantStatus: http.StatusNotFound},
		{path: "/storefront/orders/" + theirs.orders[0].id, wantStatus: http.StatusNotFound},
		{path: "/storefront/appointments/no-such-id", wantStatus: http.StatusNotFound},
		{path: "/storefront/appointments/" + mine.appointments[0].id, wantStatus: http.StatusOK},
		{path: "/storefront/orders/" + mine.orders[0].id, wantStatus: http.StatusOK},
		{path: "/storefront/no-such-endpoint", wantStatus: http.StatusNotFound},
	}
	for _, tt := range tests {
		if r := h.get(tt.path, tok.AccessToken); r.status != tt.wantStatus {
			t.Errorf("GET %s = %d %s; want %d", tt.path, r.status, r.body, tt.wantStatus)
		}
	}
	var got appointmentsPage
	h.mustGet("/storefront/appointments?take=100", tok.AccessToken).decode(t, &got)
	if len(got.Data) != len(mine.appointments) {
		t.Errorf("GET appointments has %d items; want the caller's %d", len(got.Data),
			len(mine.appointments))
	}
}
