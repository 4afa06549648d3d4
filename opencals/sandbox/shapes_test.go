package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// shapeErrors compares a decoded JSON document with a field list: every
// key must be listed, every required key present, every value of its
// listed type, and null only where the list allows it. It returns the
// problems and the paths it saw carrying a value.
func shapeErrors(fields map[string]field, doc any) (problems []string, seen map[string]bool) {
	seen = map[string]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		f, ok := fields[path]
		if !ok {
			problems = append(problems, path+": not in the SDK's schema")
			return
		}
		if v == nil {
			if !f.nullable {
				problems = append(problems, path+": null, want "+f.typ)
			}
			return
		}
		seen[path] = true
		if got := jsonType(v); f.typ != "any" && got != f.typ {
			problems = append(problems, fmt.Sprintf("%s: %s, want %s", path, got, f.typ))
			return
		}
		switch v := v.(type) {
		case map[string]any:
			children := childKeys(fields, path)
			if len(children) == 0 {
				return // a record (customAttributes): any keys
			}
			for _, k := range children {
				if _, present := v[k]; !present && !fields[path+"."+k].optional {
					problems = append(problems, path+"."+k+": missing")
				}
			}
			for k, child := range v {
				walk(path+"."+k, child)
			}
		case []any:
			for _, child := range v {
				walk(path+"[]", child)
			}
		}
	}
	walk("$", doc)
	slices.Sort(problems)
	return problems, seen
}

func childKeys(fields map[string]field, path string) []string {
	var keys []string
	for p := range fields {
		if rest, ok := strings.CutPrefix(p, path+"."); ok && !strings.ContainsAny(rest, ".[") {
			keys = append(keys, rest)
		}
	}
	return keys
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// richOrder books an appointment for customer 0 and takes its order
// through payment, an add-on, a second payment and a full refund, so that
// every nested array of the detail views has items.
func richOrder(t *testing.T, h *harness) Booking {
	t.Helper()
	c := h.customer(0)
	from := testStart.Add(48 * time.Hour)
	b, err := h.sb.Book(c.id, from, from.Add(time.Hour))
	if err != nil {
		t.Fatalf("Book() = %v", err)
	}
	steps := []func() error{
		func() error { return h.sb.CapturePayment(b.OrderID) },
		func() error { return h.sb.AddOn(b.OrderID, 1500) },
		func() error { return h.sb.CapturePayment(b.OrderID) },
		func() error { return h.sb.Cancel(b.AppointmentID) },
		func() error {
			_, err := h.sb.Refund(b.OrderID, 2000)
			return err
		},
		func() error {
			_, err := h.sb.Refund(b.OrderID, h.sb.orders[b.OrderID].figures().balance)
			return err
		},
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("rich order step %d = %v", i, err)
		}
	}
	return b
}

func TestEndpointShapes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	b := richOrder(t, h)
	tok := h.signIn(h.customer(0).email, "")
	refreshed := h.refresh(tok.RefreshToken)

	tests := []struct {
		name   string
		fields string
		got    response
		// wantSeen are paths that must carry a value, so nested objects
		// are really exercised and not only empty.
		wantSeen []string
	}{
		{name: "sign-in", fields: "sign-in",
			got: h.do(http.MethodPost, "/storefront/auth/sign-in", "", map[string]string{
				"email": h.customer(1).email, "password": SandboxPassword})},
		{name: "refresh", fields: "refresh", got: refreshed},
		{name: "appointments list", fields: "appointments-list",
			got: h.mustGet("/storefront/appointments?take=100", tok.AccessToken),
			wantSeen: []string{"$.data[].orderLineItem.orderId", "$.data[].customer.password",
				"$.data[].staffMember.refreshToken", "$.meta.pageCount"}},
		{name: "appointment detail", fields: "appointments-get",
			got: h.mustGet("/storefront/appointments/"+b.AppointmentID, tok.AccessToken),
			wantSeen: []string{"$.addOns[].addOn.price", "$.orderLineItem.order.transactions[].refundId",
				"$.orderLineItem.order.lineItems[].addOnLineItems[].addOn.id", "$.order.paidTotal",
				"$.order.lineItems[].appointment.product.id"}},
		{name: "orders list", fields: "orders-list",
			got: h.mustGet("/storefront/orders?take=100", tok.AccessToken),
			wantSeen: []string{"$.data[].lineItems[].appointment.staffMember.refreshToken",
				"$.data[].lineItems[].addOnLineItems[].lineItemId", "$.data[].transactions[].parentId"}},
		{name: "order detail", fields: "orders-get",
			got: h.mustGet("/storefront/orders/"+b.OrderID, tok.AccessToken),
			wantSeen: []string{"$.refunds[].lineItems[].lineItemId", "$.refunds[].transactions[].amount",
				"$.transactions[].parentTransaction.amount", "$.transactions[].childTransactions[].amount",
				"$.transactions[].refund.total", "$.lineItems[].refundLineItems[].refundId",
				"$.lineItems[].addOnLineItems[].addOn.title", "$.logs[].title"}},
		{name: "products", fields: "products-list",
			got: h.mustGet("/storefront/products", ""),
			wantSeen: []string{"$.data[].variants[].staffMembers[].locations[].id",
				"$.data[].variants[].locations[].staffMembers[].refreshToken",
				"$.data[].variants[].schedule.id"}},
		{name: "staff members", fields: "staff-members-list",
			got: h.mustGet("/storefront/staff-members", ""),
			wantSeen: []string{"$.data[].refreshToken", "$.data[].products[].price",
				"$.data[].locations[].id", "$.data[].schedule.timezone"}},
		{name: "locations", fields: "locations-list",
			got: h.mustGet("/storefront/locations", ""),
			wantSeen: []string{"$.data[].products[].id", "$.data[].staffMembers[].id",
				"$.data[].availabilities[].day"}},
		{name: "validation error", fields: "error",
			got:      h.get("/storefront/appointments?take=101", tok.AccessToken),
			wantSeen: []string{"$.errors[].messages[]"}},
		{name: "unauthorized", fields: "error", got: h.get("/storefront/orders", "nope")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var doc any
			tt.got.decode(t, &doc)
			problems, seen := shapeErrors(loadFields(t, tt.fields), doc)
			if len(problems) > 0 {
				t.Errorf("answer does not match %s.tsv:\n%s", tt.fields, strings.Join(problems, "\n"))
			}
			for _, p := range tt.wantSeen {
				if !seen[p] {
					t.Errorf("answer carries no value at %s; want one", p)
				}
			}
		})
	}
}

// kinds maps every path of a JSON document to its kind, telling null and
// "" apart from other values, so two documents with different data can
// be compared for their conventions.
func kinds(doc any, path string, out map[string]string) {
	switch v := doc.(type) {
	case nil:
		out[path] = "null"
	case string:
		out[path] = "string"
		if v == "" {
			out[path] = `""`
		}
	case map[string]any:
		out[path] = "object"
		for k, child := range v {
			kinds(child, path+"."+k, out)
		}
	case []any:
		out[path] = "array"
		if len(v) > 0 {
			kinds(v[0], path+"[]", out)
		}
	default:
		out[path] = jsonType(v)
	}
}

// TestMatchesFixtures compares a seeded scheduled, paid appointment and its
// order with the real answers in testdata/fixtures: same keys, nesting, and
// null and "" in the same places.
func TestMatchesFixtures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	c := h.customer(0)
	var want *appointment
	for _, a := range c.appointments {
		if a.status == statusScheduled && a.line != nil &&
			a.line.order.figures().payment == paymentPaid {
			want = a
			break
		}
	}
	if want == nil {
		t.Fatal("seed has no scheduled, paid appointment")
	}
	tok := h.signIn(c.email, "")
	tests := []struct {
		fixture string
		path    string
		id      string
	}{
		{fixture: "appointments-page.json", path: "/storefront/appointments?take=100", id: want.id},
		{fixture: "orders-page.json", path: "/storefront/orders?take=100", id: want.line.order.id},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(filepath.Join("testdata", "fixtures", tt.fixture))
			if err != nil {
				t.Fatalf("reading fixture: %v", err)
			}
			var fixture, ours struct {
				Data []map[string]any `json:"data"`
				Meta map[string]any   `json:"meta"`
			}
			if err := json.Unmarshal(raw, &fixture); err != nil {
				t.Fatalf("decoding fixture: %v", err)
			}
			h.mustGet(tt.path, tok.AccessToken).decode(t, &ours)
			i := slices.IndexFunc(ours.Data, func(m map[string]any) bool { return m["id"] == tt.id })
			if i < 0 {
				t.Fatalf("GET %s has no item %s", tt.path, tt.id)
			}
			wantKinds, gotKinds := map[string]string{}, map[string]string{}
			kinds(fixture.Data[0], "$", wantKinds)
			kinds(ours.Data[i], "$", gotKinds)
			kinds(fixture.Meta, "$meta", wantKinds)
			kinds(ours.Meta, "$meta", gotKinds)
			if diff := cmp.Diff(wantKinds, gotKinds); diff != "" {
				t.Errorf("item kinds differ from the fixture (-fixture +sandbox):\n%s", diff)
			}
		})
	}
}

// TestLeakedCredentialsPresent pins that the sandbox, like the real API,
// sends customer.password and staffMember.refreshToken, so redaction
// downstream is tested against reality.
func TestLeakedCredentialsPresent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, Config{})
	c := h.customer(0)
	tok := h.signIn(c.email, "")
	a := c.appointments[0]
	tests := []struct {
		path      string
		passwords int // want at least this many customer.password values
		tokens    int // and staffMember.refreshToken values
	}{
		{path: "/storefront/appointments?take=100", passwords: len(c.appointments),
			tokens: len(c.appointments)},
		{path: "/storefront/appointments/" + a.id, passwords: 1, tokens: 2},
		{path: "/storefront/orders?take=100", passwords: len(c.orders), tokens: len(c.orders)},
		{path: "/storefront/orders/" + a.line.order.id, passwords: 1, tokens: 1},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			var doc any
			h.mustGet(tt.path, tok.AccessToken).decode(t, &doc)
			passwords := countKey(doc, "customer", "password")
			tokens := countKey(doc, "staffMember", "refreshToken")
			if passwords < tt.passwords || tokens < tt.tokens {
				t.Errorf("GET %s has %d customer.password and %d staffMember.refreshToken; "+
					"want >= %d and >= %d",
					tt.path, passwords, tokens, tt.passwords, tt.tokens)
			}
		})
	}
}

// countKey counts non-empty string values at parent.key anywhere in doc.
func countKey(doc any, parent, key string) int {
	n := 0
	switch v := doc.(type) {
	case map[string]any:
		for k, child := range v {
			if obj, ok := child.(map[string]any); ok && k == parent {
				if s, ok := obj[key].(string); ok && s != "" {
					n++
				}
			}
			n += countKey(child, parent, key)
		}
	case []any:
		for _, child := range v {
			n += countKey(child, parent, key)
		}
	}
	return n
}
