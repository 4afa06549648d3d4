package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/diff"
	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
)

// The crash test runs a deterministic stream of generations. Generation g
// applies one snapshot of customer g%crashCustomers at time crashNow(g); it
// books appointment g, whose later life (pending→scheduled, reschedule,
// payment, refund, cancellation, completion) happens in the following
// generations. Every fifth generation also runs the completion sweep.
const (
	crashChildEnv  = "STORE_CRASH_TEST_CHILD_DB"
	crashStore     = "crash-store"
	crashCustomers = 4
	crashWindow    = 6 * crashCustomers // generations an item stays listed
	crashSweepEach = 5
	crashKills     = 20
)

func crashNow(g int) time.Time { return t0.Add(time.Duration(g) * time.Minute) }

func crashCustomer(i int) string { return "cust-" + strconv.Itoa(i%crashCustomers) }

// crashWire is the item the crash stream generates: a few fields the rules
// read, and a credential that must never reach the store.
type crashWire struct {
	ID            string    `json:"id"`
	StoreID       string    `json:"storeId"`
	CustomerID    string    `json:"customerId"`
	Status        string    `json:"status,omitempty"`
	From          time.Time `json:"from,omitzero"`
	To            time.Time `json:"to,omitzero"`
	PaymentStatus string    `json:"paymentStatus,omitempty"`
	PaidTotal     int64     `json:"paidTotal"`
	RefundedTotal int64     `json:"refundedTotal"`
	Transactions  []any     `json:"transactions,omitempty"`
	UpdatedAt     time.Time `json:"updatedAt"`
	Customer      struct {
		Password string `json:"password"`
	} `json:"customer"`
}

// crashAppointment is appointment i as listed at generation g >= i.
func crashAppointment(i, g int) (opencals.Appointment, error) {
	w := crashWire{ID: fmt.Sprintf("a-%06d", i), StoreID: crashStore, CustomerID: crashCustomer(i)}
	w.Customer.Password = "hunter2"
	w.Status, w.UpdatedAt = "scheduled", crashNow(i)
	if i%7 == 0 {
		w.Status = "pending"
		if g >= i+crashCustomers {
			w.Status, w.UpdatedAt = "scheduled", crashNow(i+crashCustomers)
		}
	}
	w.To = crashNow(i + 3*crashCustomers)
	if i%3 == 0 && g >= i+crashCustomers {
		w.To, w.UpdatedAt = w.To.Add(2*time.Minute), crashNow(i+crashCustomers)
	}
	w.From = w.To.Add(-5 * time.Minute)
	if i%5 == 0 && g >= i+2*crashCustomers {
		w.Status, w.UpdatedAt = "canceled", crashNow(i+2*crashCustomers)
	}
	var a opencals.Appointment
	return a, decodeWire(w, &a)
}

// crashOrder is the order of appointment i (even i only) at generation g.
func crashOrder(i, g int) (opencals.Order, error) {
	w := crashWire{ID: fmt.Sprintf("o-%06d", i), StoreID: crashStore, CustomerID: crashCustomer(i)}
	w.Customer.Password = "hunter2"
	w.PaymentStatus, w.UpdatedAt = "unpaid", crashNow(i)
	if g >= i+crashCustomers {
		w.PaymentStatus, w.PaidTotal, w.UpdatedAt = "paid", 4500, crashNow(i+crashCustomers)
	}
	if i%4 == 0 && g >= i+2*crashCustomers {
		w.RefundedTotal, w.UpdatedAt = 1500, crashNow(i+2*crashCustomers)
		w.Transactions = []any{map[string]any{
			"refundId": fmt.Sprintf("rf-%06d", i), "type": "refund", "status": "success",
			"amount": 1500, "createdAt": w.UpdatedAt,
		}}
	}
	var o opencals.Order
	return o, decodeWire(w, &o)
}

// decodeWire turns a wire item into an API item with its Raw bytes.
func decodeWire(w crashWire, item any) error {
	b, err := json.Marshal(w)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, item)
}

// crashSnapshot is the complete listing of generation g's customer.
func crashSnapshot(g int) (diff.Snapshot, error) {
	snap := diff.Snapshot{Complete: true}
	for i := max(1, g-crashWindow+1); i <= g; i++ {
		if i%crashCustomers != g%crashCustomers {
			continue
		}
		a, err := crashAppointment(i, g)
		if err != nil {
			return snap, err
		}
		snap.Appointments = append(snap.Appointments, a)
		if i%2 == 0 {
			o, err := crashOrder(i, g)
			if err != nil {
				return snap, err
			}
			snap.Orders = append(snap.Orders, o)
		}
	}
	return snap, nil
}

// crashApply applies generation g's snapshot.
func crashApply(ctx context.Context, db *DB, g int) error {
	snap, err := crashSnapshot(g)
	if err != nil {
		return fmt.Errorf("generation %d: %w", g, err)
	}
	_, err = db.Apply(ctx, crashStore, crashCustomer(g), snap, crashNow(g))
	return err
}

// crashSweep runs generation g's sweep, if it has one.
func crashSweep(ctx context.Context, db *DB, g int) error {
	if g%crashSweepEach != 0 {
		return nil
	}
	_, err := db.SweepCompletions(ctx, crashStore, crashNow(g))
	return err
}

// crashSetup adds the stream's customers (again, harmlessly, after a crash).
func crashSetup(ctx context.Context, db *DB) error {
	for c := range crashCustomers {
		id := crashCustomer(c)
		err := db.UpsertCustomer(ctx, crashStore, id, id+"@example.test", opencals.Tokens{})
		if err != nil {
			return err
		}
	}
	return nil
}

// committedGeneration is the last generation whose snapshot is stored: the
// highest appointment number, since generation g books appointment g.
func committedGeneration(ctx context.Context, db *DB) (int, error) {
	var id sql.NullString
	err := db.r.QueryRowContext(ctx, `SELECT max(id) FROM appointments WHERE store_id = ?`,
		crashStore).Scan(&id)
	if err != nil || !id.Valid {
		return 0, err
	}
	return strconv.Atoi(strings.TrimPrefix(id.String, "a-"))
}

// runCrashChild is the killed process: it resumes the stream after the
// last committed generation and applies snapshots until it is killed.
func runCrashChild(path string) int {
	ctx := context.Background()
	if err := crashChild(ctx, path); err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		return 1
	}
	return 0
}

func crashChild(ctx context.Context, path string) error {
	db, err := Open(ctx, path, Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := crashSetup(ctx, db); err != nil {
		return err
	}
	g, err := committedGeneration(ctx, db)
	if err != nil {
		return err
	}
	// The sweep of the last committed generation may not have committed.
	if err := crashSweep(ctx, db, g); err != nil {
		return err
	}
	fmt.Println("ready")
	for g++; ; g++ {
		if err := crashApply(ctx, db, g); err != nil {
			return err
		}
		if err := crashSweep(ctx, db, g); err != nil {
			return err
		}
	}
}

// crashState is what the check compares: the outbox in order, and a digest
// of the snapshot tables and the customers' diff bookkeeping.
type crashState struct {
	events []string // id and body
	digest string
}

// readCrashState reads the state to compare.
func readCrashState(ctx context.Context, db *DB) (crashState, error) {
	var st crashState
	var err error
	st.events, err = queryStrings(ctx, db,
		`SELECT id || ' ' || body FROM events ORDER BY seq`)
	if err != nil {
		return st, err
	}
	h := sha256.New()
	for _, q := range []string{
		`SELECT quote(customer_id) || quote(id) || status || from_ms || to_ms || deleted ||
		        updated_at || created || canceled || completed || missing || hash || quote(body)
		 FROM appointments ORDER BY customer_id, id`,
		`SELECT quote(customer_id) || quote(id) || payment_status || paid_total ||
		        refunded_total || refunds || deleted || updated_at || missing || hash || quote(body)
		 FROM orders ORDER BY customer_id, id`,
		`SELECT quote(id) || quote(baselined_at) || quote(last_change_at) ||
		        quote(next_boundary_at)
		 FROM customers WHERE baselined_at IS NOT NULL ORDER BY id`,
	} {
		rows, err := queryStrings(ctx, db, q)
		if err != nil {
			return st, err
		}
		for _, r := range rows {
			h.Write([]byte(r + "\n"))
		}
	}
	st.digest = hex.EncodeToString(h.Sum(nil))
	return st, nil
}

// queryStrings runs a query of one text column on the read pool.
func queryStrings(ctx context.Context, db *DB, query string) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// crashReference replays the stream without crashes in its own database
// and remembers the state after each generation's Apply and after its
// sweep: a crashed database must be in one of the two.
type crashReference struct {
	db                   *DB
	done                 int
	afterApply, afterGen []crashState
}

// advance replays the reference up to generation g.
func (r *crashReference) advance(ctx context.Context, g int) error {
	for ; r.done < g; r.done++ {
		next := r.done + 1
		if err := crashApply(ctx, r.db, next); err != nil {
			return err
		}
		applied, err := readCrashState(ctx, r.db)
		if err != nil {
			return err
		}
		if err := crashSweep(ctx, r.db, next); err != nil {
			return err
		}
		swept, err := readCrashState(ctx, r.db)
		if err != nil {
			return err
		}
		r.afterApply, r.afterGen = append(r.afterApply, applied), append(r.afterGen, swept)
	}
	return nil
}

// TestCrashSafety kills a process applying snapshots at random points and
// checks that each reopened database holds exactly the committed snapshots
// with exactly their events.
func TestCrashSafety(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill schedule seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	path := filepath.Join(dir, "crash.db")

	ref := &crashReference{db: openAt(t, filepath.Join(dir, "reference.db"), Options{})}
	if err := crashSetup(ctx, ref.db); err != nil {
		t.Fatal(err)
	}
	start, err := readCrashState(ctx, ref.db)
	if err != nil {
		t.Fatal(err)
	}
	// Generation 0: nothing applied yet.
	ref.afterApply, ref.afterGen = []crashState{start}, []crashState{start}

	last := 0
	for kill := range crashKills {
		runAndKill(t, path, kill%4 == 0, rng)
		g := checkCrashedDatabase(t, path, ref)
		if g < last {
			t.Fatalf("kill %d: committed generation went back from %d to %d", kill, last, g)
		}
		last = g
	}
	if last < crashKills {
		t.Errorf("the child committed %d generations in %d runs; want at least %d for a meaningful test",
			last, crashKills, crashKills)
	}
	t.Logf("%d generations committed across %d kills", last, crashKills)
}

// readyWriter is the child's stdout: it signals the line "ready".
type readyWriter struct {
	once  sync.Once
	ready chan struct{}
}

func (w *readyWriter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("ready")) {
		w.once.Do(func() { close(w.ready) })
	}
	return len(p), nil
}

// runAndKill starts the child on path and SIGKILLs it after a random delay:
// counted from its start when early is set (so that some kills land in
// Open and its migration), else from its first ready line.
func runAndKill(t *testing.T, path string, early bool, rng *rand.Rand) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	out := &readyWriter{ready: make(chan struct{})}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = out, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting child: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	delay := time.Duration(rng.Int64N(int64(300 * time.Millisecond)))
	if early {
		delay = time.Duration(rng.Int64N(int64(30 * time.Millisecond)))
	} else {
		select {
		case <-out.ready:
		case err := <-exited:
			t.Fatalf("child exited before it was ready: %v\n%s", err, stderr.String())
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Fatalf("child not ready after 30s\n%s", stderr.String())
		}
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	select {
	case err := <-exited:
		t.Fatalf("child exited on its own: %v\n%s", err, stderr.String())
	case <-timer.C:
	}
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("killing child: %v", err)
	}
	if err := <-exited; err == nil || cmd.ProcessState.ExitCode() != -1 {
		t.Fatalf("child ended with %v; want killed by a signal\n%s", err, stderr.String())
	}
}

// checkCrashedDatabase reopens the crashed database and compares it with
// the reference at its committed generation; it returns that generation.
func checkCrashedDatabase(t *testing.T, path string, ref *crashReference) int {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopening after kill: %v", err)
	}
	defer db.Close()
	var integrity string
	if err := db.r.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&integrity); err != nil {
		t.Fatal(err)
	}
	if integrity != "ok" {
		t.Fatalf("PRAGMA integrity_check = %q; want ok", integrity)
	}
	g, err := committedGeneration(ctx, db)
	if err != nil {
		t.Fatalf("reading committed generation: %v", err)
	}
	got, err := readCrashState(ctx, db)
	if err != nil {
		t.Fatalf("reading crashed state: %v", err)
	}
	if err := ref.advance(ctx, g); err != nil {
		t.Fatalf("replaying the reference to generation %d: %v", g, err)
	}
	if sameCrashState(got, ref.afterApply[g]) || sameCrashState(got, ref.afterGen[g]) {
		assertEventsHaveSnapshots(t, db)
		return g
	}
	t.Fatalf("after the kill at generation %d: %d events, digest %s; want %d events, digest %s"+
		" (after Apply) or %d events, digest %s (after the sweep)", g, len(got.events), got.digest,
		len(ref.afterApply[g].events), ref.afterApply[g].digest,
		len(ref.afterGen[g].events), ref.afterGen[g].digest)
	return 0
}

func sameCrashState(a, b crashState) bool {
	return a.digest == b.digest && strings.Join(a.events, "\n") == strings.Join(b.events, "\n")
}

// assertEventsHaveSnapshots checks, without the reference, that every
// appointment event's stored record carries the flag of that event.
func assertEventsHaveSnapshots(t *testing.T, db *DB) {
	t.Helper()
	flags := map[event.Type]string{
		event.AppointmentCreated:   "created",
		event.AppointmentCanceled:  "canceled",
		event.AppointmentCompleted: "completed",
	}
	for typ, column := range flags {
		n := count(t, db, `SELECT count(*) FROM events AS e
			LEFT JOIN appointments AS a ON a.store_id = e.store_id AND a.id = e.resource_id
			WHERE e.type = ? AND coalesce(a.`+column+`, 0) = 0`, string(typ))
		if n != 0 {
			t.Errorf("%d %s events whose appointment is not marked %s", n, typ, column)
		}
	}
}
