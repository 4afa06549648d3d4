//go:build faults

package faults

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // the locker opens the daemon's database

	"github.com/opencals-sync/opencals-sync/opencals/sandbox"
)

// The helper processes. Each one is this test binary run again with
// childEnv set; it ends when its standard input closes (the parent went
// away or is done) or on SIGTERM, so none outlives the suite.

// Environment variables that configure the children.
const (
	sandboxSpecEnv = "OPENCALS_FAULTS_SANDBOX"
	lockerDBEnv    = "OPENCALS_FAULTS_DB"
)

// sandboxSpec configures the sandbox child.
type sandboxSpec struct {
	APIKey       string        `json:"apiKey"`
	Customers    int           `json:"customers"`
	Seed         int64         `json:"seed"`
	Requests     int           `json:"requests"`
	Per          time.Duration `json:"per"`
	AuthRequests int           `json:"authRequests"`
	AuthPer      time.Duration `json:"authPer"`
	TokenTTL     time.Duration `json:"tokenTtl"`
}

// sandboxHello is the one line the sandbox child prints once it listens.
type sandboxHello struct {
	URL     string `json:"url"`
	StoreID string `json:"storeId"`
}

// activityStopped answers DELETE /faults/activity.
type activityStopped struct {
	LastSeq int64     `json:"lastSeq"`
	At      time.Time `json:"at"`
}

func runChild(kind string) int {
	var err error
	switch kind {
	case "sandbox":
		err = runSandboxChild()
	case "locker":
		err = runLockerChild()
	default:
		err = fmt.Errorf("unknown child %q", kind)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults child:", err)
		return 1
	}
	return 0
}

// untilParentDone returns a context that ends when stdin closes or a
// SIGTERM or SIGINT arrives.
func untilParentDone() (context.Context, context.CancelFunc) {
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	return ctx, cancel
}

func runSandboxChild() error {
	var spec sandboxSpec
	if err := json.Unmarshal([]byte(os.Getenv(sandboxSpecEnv)), &spec); err != nil {
		return fmt.Errorf("reading %s: %w", sandboxSpecEnv, err)
	}
	sb, err := sandbox.New(sandbox.Config{
		APIKey: spec.APIKey, Customers: spec.Customers, Seed: spec.Seed,
		RateLimit:      sandbox.Limit{Requests: spec.Requests, Per: spec.Per},
		AuthRateLimit:  sandbox.Limit{Requests: spec.AuthRequests, Per: spec.AuthPer},
		AccessTokenTTL: spec.TokenTTL,
	})
	if err != nil {
		return err
	}
	defer sb.Close()
	ctx, cancel := untilParentDone()
	defer cancel()

	act := &activity{sb: sb, parent: ctx}
	mux := http.NewServeMux()
	mux.Handle("/", sb.Handler())
	mux.HandleFunc("POST /faults/activity", act.start)
	mux.HandleFunc("DELETE /faults/activity", act.stop)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	hello, _ := json.Marshal(sandboxHello{URL: "http://" + ln.Addr().String(),
		StoreID: sb.StoreID()})
	fmt.Println(string(hello))

	<-ctx.Done()
	act.halt()
	err = srv.Close()
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

// activity starts and stops the sandbox's merchant activity on request.
type activity struct {
	sb     *sandbox.Sandbox
	parent context.Context

	mu      sync.Mutex
	cancel  context.CancelFunc
	started bool
}

func (a *activity) start(w http.ResponseWriter, r *http.Request) {
	every, err := time.ParseDuration(r.URL.Query().Get("every"))
	if err != nil || every <= 0 {
		http.Error(w, "every: want a positive duration", http.StatusBadRequest)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.started {
		http.Error(w, "activity already started", http.StatusConflict)
		return
	}
	var ctx context.Context
	ctx, a.cancel = context.WithCancel(a.parent)
	a.started = true
	a.sb.RunActivity(ctx, every)
	w.WriteHeader(http.StatusNoContent)
}

// stop ends the activity. A step already running finishes within
// microseconds; the grace below covers it before the last seq is read.
func (a *activity) stop(w http.ResponseWriter, _ *http.Request) {
	a.halt()
	time.Sleep(200 * time.Millisecond)
	changes := a.sb.Changes(0)
	var last int64
	if len(changes) > 0 {
		last = changes[len(changes)-1].Seq
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(activityStopped{LastSeq: last, At: time.Now()})
}

func (a *activity) halt() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		a.cancel()
	}
}

// runLockerChild takes the database's write lock with BEGIN IMMEDIATE,
// says "locked", and holds it until its standard input closes.
func runLockerChild() error {
	path := os.Getenv(lockerDBEnv)
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)")
	if err != nil {
		return err
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("taking the write lock: %w", err)
	}
	fmt.Println("locked")
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		return fmt.Errorf("releasing the write lock: %w", err)
	}
	fmt.Println("released")
	return nil
}
