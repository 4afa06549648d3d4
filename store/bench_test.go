package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/diff"
	"github.com/opencals-sync/opencals-sync/opencals"
)

const (
	benchStore        = "7b0c6a52-5a3e-4c55-9d0e-1f6f1c2b9a10"
	benchAppointments = 10
	benchOrders       = 3
	benchRows         = benchAppointments + benchOrders // per customer
)

// BenchmarkApply measures Apply against a bare prepared upsert of the same
// rows, one transaction per customer in both. One op is a pass over every
// customer: the first pass is each customer's baseline, every later pass
// changes every item (a new updatedAt, so every row is rewritten) and
// reschedules one appointment per customer (one event). Items are the
// fixtures' size. The "apply" run reports its rate as a ratio to the bare
// run just before it. Run:
//
//	go test -run '^$' -bench BenchmarkApply -benchtime 3x ./store/
func BenchmarkApply(b *testing.B) {
	gen := newBenchItems(b)
	for _, customers := range []int{1000, 10000} {
		name := fmt.Sprintf("customers=%d/appointments=%d/orders=%d",
			customers, benchAppointments, benchOrders)
		b.Run(name, func(b *testing.B) {
			var bareRate float64
			b.Run("bare_upsert", func(b *testing.B) {
				bareRate = benchPasses(b, customers, func(db *DB, c, pass int) error {
					return gen.bareUpsert(b.Context(), db, c, pass)
				})
			})
			b.Run("apply", func(b *testing.B) {
				rate := benchPasses(b, customers, func(db *DB, c, pass int) error {
					_, err := db.Apply(b.Context(), benchStore, benchCustomer(c),
						gen.snapshot(c, pass), t0.Add(time.Duration(pass)*time.Minute))
					return err
				})
				if bareRate > 0 {
					b.ReportMetric(rate/bareRate, "ratio_to_bare")
				}
			})
		})
	}
}

// benchPasses runs passes of step over every customer of a fresh database
// and reports rows/s, allocations and bytes per item; it returns rows/s.
func benchPasses(b *testing.B, customers int, step func(db *DB, c, pass int) error) float64 {
	db := openTest(b, Options{})
	for c := range customers {
		addCustomer(b, db, benchStore, benchCustomer(c))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	passes := 0
	for b.Loop() {
		for c := range customers {
			if err := step(db, c, passes); err != nil {
				b.Fatalf("pass %d, customer %d: %v", passes, c, err)
			}
		}
		passes++
	}
	runtime.ReadMemStats(&after)
	items := float64(passes * customers * benchRows)
	rate := items / b.Elapsed().Seconds()
	b.ReportMetric(rate, "rows/s")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/items, "allocs/item")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/items, "B/item")
	return rate
}

func benchCustomer(c int) string { return "cust-" + strconv.Itoa(c) }

// benchItems generates fixture-sized items cheaply: each item's raw JSON is
// the fixture cut at the fields that vary, glued back around new values.
type benchItems struct {
	appointment                 opencals.Appointment
	orderItem                   opencals.Order
	apptRaw, orderRaw           [][]byte // raw JSON split around the varying fields
	apptRedacted, orderRedacted [][]byte // the same without credentials
	base                        time.Time
}

// The markers stand for the varying fields in the split templates, in the
// order they appear in json.Marshal's sorted output.
var (
	apptMarkers  = []string{"@CUSTOMER@", "@FROM@", "@ID@", "@STORE@", "@TO@", "@UPDATED@"}
	orderMarkers = []string{"@CUSTOMER@", "@ID@", "@STORE@", "@UPDATED@"}
)

func newBenchItems(b *testing.B) *benchItems {
	g := &benchItems{base: t0.Add(7 * 24 * time.Hour)}
	g.apptRaw, g.apptRedacted = splitTemplate(b, "appointment.json", map[string]string{
		"customerId": "@CUSTOMER@", "from": "@FROM@", "id": "@ID@", "storeId": "@STORE@",
		"to": "@TO@", "updatedAt": "@UPDATED@",
	}, apptMarkers)
	g.orderRaw, g.orderRedacted = splitTemplate(b, "order.json", map[string]string{
		"customerId": "@CUSTOMER@", "id": "@ID@", "storeId": "@STORE@", "updatedAt": "@UPDATED@",
	}, orderMarkers)
	if err := json.Unmarshal(glue(g.apptRaw, "c", t0.Format(time.RFC3339), "a", benchStore,
		t0.Format(time.RFC3339), t0.Format(time.RFC3339)), &g.appointment); err != nil {
		b.Fatalf("decoding appointment template: %v", err)
	}
	if err := json.Unmarshal(glue(g.orderRaw, "c", "o", benchStore, t0.Format(time.RFC3339)),
		&g.orderItem); err != nil {
		b.Fatalf("decoding order template: %v", err)
	}
	return g
}

// splitTemplate sets the fields to markers, encodes the fixture with and
// without its credentials, and cuts both at the markers.
func splitTemplate(b *testing.B, name string, fields map[string]string,
	markers []string,
) (raw, redacted [][]byte) {
	m := fixture(b, name)
	for k, v := range fields {
		m[k] = v
	}
	raw = cut(b, m, markers)
	dropCredentials(m)
	return raw, cut(b, m, markers)
}

// dropCredentials removes the fixtures' two leaked credentials at any depth.
func dropCredentials(v any) {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "password")
		delete(v, "refreshToken")
		for _, child := range v {
			dropCredentials(child)
		}
	case []any:
		for _, child := range v {
			dropCredentials(child)
		}
	}
}

func cut(b *testing.B, m map[string]any, markers []string) [][]byte {
	enc, err := json.Marshal(m)
	if err != nil {
		b.Fatal(err)
	}
	var parts [][]byte
	for _, mk := range markers {
		before, after, ok := bytes.Cut(enc, []byte(mk))
		if !ok {
			b.Fatalf("marker %s not found in template", mk)
		}
		parts, enc = append(parts, before), after
	}
	return append(parts, enc)
}

// glue joins template parts around values, in marker order.
func glue(parts [][]byte, values ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n+64*len(values))
	for i, v := range values {
		out = append(append(out, parts[i]...), v...)
	}
	return append(out, parts[len(parts)-1]...)
}

// slot is appointment j of customer c at a pass: appointment pass%10 moves
// by pass hours at each pass after the first.
func (g *benchItems) slot(c, j, pass int) (from, to time.Time) {
	shift := 0
	for p := pass; p >= 1; p-- {
		if p%benchAppointments == j {
			shift = p
			break
		}
	}
	from = g.base.Add(time.Duration(c%500*benchAppointments+j+shift) * time.Hour)
	return from, from.Add(time.Hour)
}

func apptID(c, j int) string  { return "a-" + strconv.Itoa(c) + "-" + strconv.Itoa(j) }
func orderID(c, j int) string { return "o-" + strconv.Itoa(c) + "-" + strconv.Itoa(j) }

// snapshot is customer c's listing at a pass.
func (g *benchItems) snapshot(c, pass int) diff.Snapshot {
	updated := g.base.Add(time.Duration(pass) * time.Second)
	upd := updated.Format(time.RFC3339)
	snap := diff.Snapshot{Complete: true,
		Appointments: make([]opencals.Appointment, benchAppointments),
		Orders:       make([]opencals.Order, benchOrders),
	}
	for j := range benchAppointments {
		a := g.appointment
		a.ID, a.CustomerID, a.StoreID, a.UpdatedAt = apptID(c, j), benchCustomer(c), benchStore, updated
		a.From, a.To = g.slot(c, j, pass)
		a.Raw = glue(g.apptRaw, a.CustomerID, a.From.Format(time.RFC3339), a.ID, benchStore,
			a.To.Format(time.RFC3339), upd)
		snap.Appointments[j] = a
	}
	for j := range benchOrders {
		o := g.orderItem
		o.ID, o.CustomerID, o.StoreID, o.UpdatedAt = orderID(c, j), benchCustomer(c), benchStore, updated
		o.Raw = glue(g.orderRaw, o.CustomerID, o.ID, benchStore, upd)
		snap.Orders[j] = o
	}
	return snap
}

// bareUpsert writes customer c's rows at a pass with the upsert statements
// alone, in one transaction: the floor Apply is measured against.
func (g *benchItems) bareUpsert(ctx context.Context, db *DB, c, pass int) error {
	upd := g.base.Add(time.Duration(pass) * time.Second)
	customer := benchCustomer(c)
	return db.inTx(ctx, func(tx *sql.Tx) error {
		appts := tx.StmtContext(ctx, db.stmts.upsertAppointment)
		for j := range benchAppointments {
			from, to := g.slot(c, j, pass)
			id := apptID(c, j)
			body := glue(g.apptRedacted, customer, from.Format(time.RFC3339), id, benchStore,
				to.Format(time.RFC3339), upd.Format(time.RFC3339))
			if _, err := appts.ExecContext(ctx, benchStore, customer, id, "scheduled",
				from.UnixMilli(), to.UnixMilli(), false, upd.UnixMilli(), true, false, false,
				false, int64(pass), body); err != nil {
				return err
			}
		}
		orders := tx.StmtContext(ctx, db.stmts.upsertOrder)
		for j := range benchOrders {
			id := orderID(c, j)
			body := glue(g.orderRedacted, customer, id, benchStore, upd.Format(time.RFC3339))
			if _, err := orders.ExecContext(ctx, benchStore, customer, id, "paid", int64(5535),
				int64(0), "[]", false, upd.UnixMilli(), false, int64(pass), body); err != nil {
				return err
			}
		}
		return nil
	})
}
