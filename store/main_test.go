package store

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"

	"github.com/opencals-sync/opencals-sync/opencals"
)

func TestMain(m *testing.M) {
	// The crash test re-executes this binary as the process it kills.
	if path := os.Getenv(crashChildEnv); path != "" {
		os.Exit(runCrashChild(path))
	}
	goleak.VerifyTestMain(m)
}

// t0 is the fake clock's start and the base of every test time.
var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// openTest opens a fresh database in the test's temporary directory and
// closes it at the end of the test.
func openTest(t testing.TB, opts Options) *DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "state.db"), opts)
}

// openAt opens the database at path and closes it at the end of the test.
func openAt(t testing.TB, path string, opts Options) *DB {
	t.Helper()
	if opts.Clock == nil {
		opts.Clock = clockwork.NewFakeClockAt(t0)
	}
	db, err := Open(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Open(%s) = %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return db
}

// addCustomer adds an active customer with dummy tokens.
func addCustomer(t testing.TB, db *DB, storeID, id string) {
	t.Helper()
	tokens := opencals.Tokens{AccessToken: "access-" + id, RefreshToken: "refresh-" + id}
	err := db.UpsertCustomer(context.Background(), storeID, id, id+"@example.test", tokens)
	if err != nil {
		t.Fatalf("UpsertCustomer(%s, %s) = %v", storeID, id, err)
	}
}

// appt describes a test appointment; the rest of the item comes from
// testdata/appointment.json.
type appt struct {
	id       string
	status   opencals.AppointmentStatus
	from, to time.Time
	updated  time.Time
}

// ord describes a test order; refunds are successful refund transactions
// by refund id and amount.
type ord struct {
	id      string
	payment opencals.PaymentStatus
	paid    int64
	refunds map[string]int64
	updated time.Time
}

// appointmentItem builds an API item from the fixture.
func appointmentItem(t testing.TB, storeID, customerID string, a appt) opencals.Appointment {
	t.Helper()
	m := fixture(t, "appointment.json")
	m["id"], m["storeId"], m["customerId"] = a.id, storeID, customerID
	m["status"] = string(a.status)
	m["from"], m["to"] = a.from.Format(time.RFC3339Nano), a.to.Format(time.RFC3339Nano)
	m["updatedAt"] = a.updated.Format(time.RFC3339Nano)
	var item opencals.Appointment
	decodeItem(t, m, &item)
	return item
}

// orderItem builds an API item from the fixture.
func orderItem(t testing.TB, storeID, customerID string, o ord) opencals.Order {
	t.Helper()
	m := fixture(t, "order.json")
	m["id"], m["storeId"], m["customerId"] = o.id, storeID, customerID
	m["paymentStatus"], m["paidTotal"] = string(o.payment), o.paid
	m["updatedAt"] = o.updated.Format(time.RFC3339Nano)
	var refunded int64
	txs := m["transactions"].([]any)
	for id, amount := range o.refunds {
		refunded += amount
		txs = append(txs, map[string]any{
			"orderId": o.id, "externalId": "re_" + id, "refundId": id, "type": "refund",
			"status": "success", "amount": amount, "currencyCode": "EUR",
			"provider": "stripe", "createdAt": o.updated.Format(time.RFC3339Nano),
		})
	}
	m["transactions"], m["refundedTotal"] = txs, refunded
	var item opencals.Order
	decodeItem(t, m, &item)
	return item
}

// fixture decodes one item of testdata.
func fixture(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decoding fixture %s: %v", name, err)
	}
	return m
}

// decodeItem encodes m and decodes it into item, as the client would.
func decodeItem(t testing.TB, m map[string]any, item any) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("encoding item: %v", err)
	}
	if err := json.Unmarshal(b, item); err != nil {
		t.Fatalf("decoding item: %v", err)
	}
}

// count returns the result of a COUNT query on the writer.
func count(t testing.TB, db *DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.w.QueryRowContext(context.Background(), query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
