package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/store"
)

// benchConcurrency is the concurrency of both sides of the comparison.
const benchConcurrency = 16

// benchEvents returns n realistic events (the samples' objects), each about
// its own resource, as the poller would record them.
func benchEvents(b *testing.B, n int) []event.Event {
	b.Helper()
	now := time.Now()
	evs := make([]event.Event, n)
	for i := range evs {
		typ := event.Types[i%len(event.Types)]
		ev, err := event.Sample(typ, now)
		if err != nil {
			b.Fatalf("Sample() = %v", err)
		}
		ev.Test = false
		ev.ResourceID = "r" + strconv.Itoa(i)
		ev.ID = event.ID(ev.StoreID, typ, ev.ResourceID, "")
		evs[i] = ev
	}
	return evs
}

// noContentServer answers 204 after reading the body, like a handler that
// queues the event.
func noContentServer(b *testing.B, onRequest func(*http.Request)) *httptest.Server {
	b.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if onRequest != nil {
			onRequest(r)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkDeliveryVsBarePOST delivers b.N events to a loopback endpoint
// answering 204, first with a bare POST loop (16 goroutines, the same
// bodies, no bookkeeping), then through the dispatcher (fan-out, claims,
// signatures, every attempt recorded in SQLite), and reports both rates and
// their ratio. Run it with a fixed count, e.g. -benchtime=20000x.
func BenchmarkDeliveryVsBarePOST(b *testing.B) {
	evs := benchEvents(b, b.N)
	bodies := make([][]byte, len(evs))
	for i, ev := range evs {
		var err error
		if bodies[i], err = json.Marshal(ev); err != nil {
			b.Fatalf("encoding event: %v", err)
		}
	}
	srv := noContentServer(b, nil)

	b.ResetTimer()
	bare := barePOSTRate(b, srv.URL, bodies)
	dispatched := dispatcherRate(b, srv.URL, evs)
	b.StopTimer()

	b.ReportMetric(bare.rate, "bare_events/s")
	b.ReportMetric(dispatched.rate, "dispatched_events/s")
	b.ReportMetric(dispatched.rate/bare.rate, "ratio")
	// CPU per event is steadier than rates on a shared machine; both
	// include the loopback endpoint's share.
	b.ReportMetric(bare.cpuPerEvent, "bare_cpu_us/event")
	b.ReportMetric(dispatched.cpuPerEvent, "dispatched_cpu_us/event")
}

// measured is one side of the comparison.
type measured struct {
	rate        float64 // events per second
	cpuPerEvent float64 // microseconds of process CPU per event
}

// measure times n events from start, by the wall clock and the CPU.
func measure(n int, start time.Time, cpuStart time.Duration) measured {
	return measured{
		rate:        float64(n) / time.Since(start).Seconds(),
		cpuPerEvent: float64((cpuTime() - cpuStart).Microseconds()) / float64(n),
	}
}

// barePOSTRate posts every body once with benchConcurrency goroutines.
func barePOSTRate(b *testing.B, url string, bodies [][]byte) measured {
	b.Helper()
	transport := NewTransport()
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	var next atomic.Int64
	var wg sync.WaitGroup
	start, cpuStart := time.Now(), cpuTime()
	for range benchConcurrency {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(bodies)); i = next.Add(1) - 1 {
				resp, err := client.Post(url, "application/json", bytes.NewReader(bodies[i]))
				if err != nil {
					b.Errorf("bare POST: %v", err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			}
		})
	}
	wg.Wait()
	return measure(len(bodies), start, cpuStart)
}

// countingMetrics closes done when n deliveries were recorded.
type countingMetrics struct {
	nopMetrics
	n     int64
	count atomic.Int64
	done  chan struct{}
}

func (m *countingMetrics) AttemptDone(o Outcome) {
	if o.State == store.DeliveryDelivered && m.count.Add(1) == m.n {
		close(m.done)
	}
}

// dispatcherRate records evs in the outbox, then starts a dispatcher and
// measures from its start to the last recorded delivery.
func dispatcherRate(b *testing.B, url string, evs []event.Event) measured {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "state.db"), store.Options{})
	if err != nil {
		b.Fatalf("store.Open() = %v", err)
	}
	defer db.Close()
	ep := benchEndpoint(b, url)
	registerBench(b, db, ep)
	for batch := range slices.Chunk(evs, 500) {
		if _, err := db.InsertEvents(ctx, batch); err != nil {
			b.Fatalf("InsertEvents() = %v", err)
		}
	}

	m := &countingMetrics{n: int64(len(evs)), done: make(chan struct{})}
	d := NewDispatcher(Options{Store: db, Metrics: m, Concurrency: benchConcurrency})
	d.Update([]Endpoint{ep})
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	start, cpuStart := time.Now(), cpuTime()
	go func() { stopped <- d.Run(runCtx) }()
	<-m.done
	got := measure(len(evs), start, cpuStart)
	cancel()
	if err := <-stopped; err != nil {
		b.Errorf("Run() = %v", err)
	}
	return got
}

// registerBench registers the endpoint before any event, as a running
// daemon would have.
func registerBench(b *testing.B, db *store.DB, ep Endpoint) {
	b.Helper()
	_, err := db.RegisterEndpoints(context.Background(), []store.EndpointTarget{{
		Name: ep.Name, Types: ep.Filter.Types()}}, time.Now())
	if err != nil {
		b.Fatalf("RegisterEndpoints() = %v", err)
	}
}

func benchEndpoint(b *testing.B, url string) Endpoint {
	b.Helper()
	signer, err := event.NewSigner(event.SchemeOpencals, "", []string{"bench-secret"})
	if err != nil {
		b.Fatalf("NewSigner() = %v", err)
	}
	transport := NewTransport()
	b.Cleanup(transport.CloseIdleConnections)
	h, err := NewHTTPHandler(HTTPOptions{URL: url, Signer: signer, Transport: transport})
	if err != nil {
		b.Fatalf("NewHTTPHandler() = %v", err)
	}
	return Endpoint{Name: "bench", Handler: h}
}

// BenchmarkCommitToFirstAttempt records one event at a time, wakes the
// dispatcher as the poller does, and measures the time from the commit to
// the request reaching the endpoint; it reports the median and the 99th
// percentile.
func BenchmarkCommitToFirstAttempt(b *testing.B) {
	ctx := context.Background()
	arrived := make(chan time.Time, 1)
	srv := noContentServer(b, func(*http.Request) { arrived <- time.Now() })
	db, err := store.Open(ctx, filepath.Join(b.TempDir(), "state.db"), store.Options{})
	if err != nil {
		b.Fatalf("store.Open() = %v", err)
	}
	defer db.Close()
	ep := benchEndpoint(b, srv.URL)
	registerBench(b, db, ep)
	d := NewDispatcher(Options{Store: db, Concurrency: benchConcurrency})
	d.Update([]Endpoint{ep})
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- d.Run(runCtx) }()
	defer func() {
		cancel()
		if err := <-stopped; err != nil {
			b.Errorf("Run() = %v", err)
		}
	}()
	evs := benchEvents(b, b.N+1)

	// The first event opens the connection and is not counted.
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i, ev := range evs {
		if _, err := db.InsertEvents(ctx, []event.Event{ev}); err != nil {
			b.Fatalf("InsertEvents() = %v", err)
		}
		committed := time.Now()
		d.Notify()
		if took := (<-arrived).Sub(committed); i > 0 {
			lat = append(lat, took)
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}
