//go:build faults

package faults

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
)

// daemonConf is what the suite varies in the daemon's config file.
type daemonConf struct {
	Database, StoreID, BaseURL, APIKey string
	AdminToken, Receiver, Secret       string
	LogLevel                           string
	Requests                           int
	Per                                time.Duration
	Interval, MaxAge, Lead             time.Duration
}

func defaultConf(w *world, apiKey, secret string, o worldOptions) daemonConf {
	token := "adm_" + randomHex(12)
	w.s.remember("admin token", token)
	return daemonConf{
		Database: filepath.Join(w.dir, "state.db"), StoreID: w.sb.storeID, BaseURL: w.sb.url,
		APIKey: apiKey, AdminToken: token, Receiver: w.recv.URL(), Secret: secret,
		LogLevel: "debug", Requests: o.requests, Per: o.per,
		Interval: 10 * time.Second, MaxAge: 30 * time.Second, Lead: 5 * time.Second,
	}
}

// yaml renders the config. Looks are as frequent as the config allows
// (10 s), and the completion check looks 5 s before an end, shorter than
// any sandbox slot, so a reschedule can never slip in after it.
func (c daemonConf) yaml() string {
	return fmt.Sprintf(`# Written by the fault suite.
database: %s
log: {level: %s, format: json}
admin: {listen: "127.0.0.1:0", token: %s}
stores:
  - name: sandbox
    id: %s
    base_url: %s
    api_key: %s
    rate_limit: {requests: %d, per: %s, auth_requests: 400, auth_per: 10s}
sync:
  interval: %s
  max_age: %s
  tiers:
    - {name: imminent, boundary_within: 10m, interval: 10s}
    - {name: recent, changed_within: 10m, interval: 10s}
  completion: {verify: true, lead: %s, catch_up: 1h}
endpoints:
  - name: faults-receiver
    url: %s
    secret: %s
    timeout: 5s
`, c.Database, c.LogLevel, c.AdminToken, c.StoreID, c.BaseURL, c.APIKey, c.Requests, c.Per,
		c.Interval, c.MaxAge, c.Lead, c.Receiver, c.Secret)
}

// openDB opens the daemon's database for reading, beside the daemon; the
// caller closes it.
func openDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func fromMS(ms sql.NullInt64) time.Time {
	if !ms.Valid {
		return time.Time{}
	}
	return time.UnixMilli(ms.Int64)
}

// customerRow is one customer as the daemon stored it.
type customerRow struct {
	ID, State              string
	Access, Refresh        string
	Baselined, LastSuccess time.Time
}

// customerRows reads every customer, and remembers their tokens as secrets.
func (w *world) customerRows() []customerRow {
	w.t.Helper()
	db := openDB(w.t, w.conf.Database)
	defer db.Close()
	rows, err := db.Query(`SELECT id, state, access_token, refresh_token, baselined_at,
		last_success_at FROM customers ORDER BY id`)
	if err != nil {
		w.t.Fatalf("reading customers: %v", err)
	}
	defer rows.Close()
	var out []customerRow
	for rows.Next() {
		var c customerRow
		var base, last sql.NullInt64
		if err := rows.Scan(&c.ID, &c.State, &c.Access, &c.Refresh, &base, &last); err != nil {
			w.t.Fatal(err)
		}
		c.Baselined, c.LastSuccess = fromMS(base), fromMS(last)
		w.s.remember("access token", c.Access)
		w.s.remember("refresh token", c.Refresh)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// waitBaselined waits until every registered customer has a baseline.
func (w *world) waitBaselined(within time.Duration) {
	w.t.Helper()
	eventually(w.t, within, "every customer's baseline", func() bool {
		cs := w.customerRows()
		for _, c := range cs {
			if c.Baselined.IsZero() {
				return false
			}
		}
		return len(cs) == len(w.customers)
	})
}

// startState reads what the baselines recorded, for the oracle. Nothing
// may change in the sandbox between the baselines and this read.
func (w *world) startState() Start {
	w.t.Helper()
	db := openDB(w.t, w.conf.Database)
	defer db.Close()
	st := Start{StoreID: w.sb.storeID}
	rows, err := db.Query(`SELECT id, customer_id, from_ms, to_ms, created, canceled, completed
		FROM appointments`)
	if err != nil {
		w.t.Fatalf("reading appointments: %v", err)
	}
	for rows.Next() {
		var a ApptStart
		var from, to int64
		if err := rows.Scan(&a.ID, &a.CustomerID, &from, &to, &a.Booked, &a.Canceled,
			&a.Completed); err != nil {
			w.t.Fatal(err)
		}
		a.From, a.To = time.UnixMilli(from).UTC(), time.UnixMilli(to).UTC()
		st.Appointments = append(st.Appointments, a)
	}
	rows.Close()
	rows, err = db.Query(`SELECT id, customer_id, paid_total FROM orders`)
	if err != nil {
		w.t.Fatalf("reading orders: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var o OrderStart
		if err := rows.Scan(&o.ID, &o.CustomerID, &o.PaidTotal); err != nil {
			w.t.Fatal(err)
		}
		st.Orders = append(st.Orders, o)
	}
	return st
}

// outbox reads where every event sits in the daemon's outbox.
func (w *world) outbox() map[string]Outboxed {
	w.t.Helper()
	db := openDB(w.t, w.conf.Database)
	defer db.Close()
	rows, err := db.Query(`SELECT id, seq, type, resource_id FROM events`)
	if err != nil {
		w.t.Fatalf("reading events: %v", err)
	}
	defer rows.Close()
	out := map[string]Outboxed{}
	for rows.Next() {
		var id, typ, res string
		var seq int64
		if err := rows.Scan(&id, &seq, &typ, &res); err != nil {
			w.t.Fatal(err)
		}
		out[id] = Outboxed{Seq: seq, Resource: event.Type(typ).Resource() + "/" + res}
	}
	return out
}

// pendingDeliveries counts deliveries still to be made.
func (w *world) pendingDeliveries() int {
	w.t.Helper()
	db := openDB(w.t, w.conf.Database)
	defer db.Close()
	var n int
	err := db.QueryRow(`SELECT count(*) FROM deliveries WHERE state = 'pending'`).Scan(&n)
	if err != nil {
		w.t.Fatalf("counting pending deliveries: %v", err)
	}
	return n
}

// integrity runs PRAGMA integrity_check on the stopped daemon's database.
func integrity(t *testing.T, path string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var lines []string
	rows, err := db.QueryContext(context.Background(), "PRAGMA integrity_check")
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err.Error()
		}
		lines = append(lines, s)
	}
	return strings.Join(lines, "; ")
}

// metrics is one scrape of /metrics: series (name and labels, as
// printed) to value.
type metrics map[string]float64

var seriesRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?$`)
var labelRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// scrape reads the daemon's metrics.
func (w *world) scrape(admin string) metrics {
	w.t.Helper()
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		w.t.Fatalf("scraping metrics: %v", err)
	}
	defer resp.Body.Close()
	m := metrics{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			continue
		}
		m[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		w.t.Fatalf("scraping metrics: %v", err)
	}
	return m
}

// sum adds the series of a metric whose labels pass keep (nil: all).
func (m metrics) sum(name string, keep func(labels map[string]string) bool) float64 {
	var total float64
	for series, v := range m {
		parts := seriesRE.FindStringSubmatch(series)
		if parts == nil || parts[1] != name {
			continue
		}
		labels := map[string]string{}
		for _, l := range labelRE.FindAllStringSubmatch(parts[2], -1) {
			labels[l[1]] = l[2]
		}
		if keep == nil || keep(labels) {
			total += v
		}
	}
	return total
}

// label keeps series whose label k has one of the values.
func label(k string, values ...string) func(map[string]string) bool {
	return func(l map[string]string) bool {
		for _, v := range values {
			if l[k] == v {
				return true
			}
		}
		return false
	}
}

// readyz asks the current life whether it is ready; it returns the status
// and the body.
func readyz(admin string) (int, string) {
	c := http.Client{Timeout: 15 * time.Second}
	resp, err := c.Get(admin + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&b)
	return resp.StatusCode, b.String()
}
