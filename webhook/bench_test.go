package webhook

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/store"
)

// BenchmarkReceiverAnswer measures how long a valid delivery waits for its
// answer over loopback: read, verify, map, commit to SQLite, answer. The
// baseline, measured in the same loop, is the same request to a handler
// that only reads the body and answers 202, so the ratio is what the
// receiver adds to plain HTTP on this machine. It reports the p50 and p99
// of both, and the ratio of the p99s.
func BenchmarkReceiverAnswer(b *testing.B) {
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "state.db"),
		store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	recv, err := New(Options{Store: db}, settings(b, event.SchemeOpencals, testSecret))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(recv)
	defer srv.Close()
	base := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer base.Close()

	// Each delivery is a new event; a template keeps building it cheap.
	template := appointmentCreated(b, "@ID@")
	var recvTook, baseTook []time.Duration
	for i := 0; b.Loop(); i++ {
		body := bytes.Replace(template, []byte("@ID@"), []byte("a"+strconv.Itoa(i)), 1)
		baseTook = append(baseTook, timePost(b, base.URL+testPath, body, http.StatusAccepted))
		recvTook = append(recvTook, timePost(b, srv.URL+testPath, body, http.StatusAccepted))
	}
	recvP99, baseP99 := percentile(recvTook, 0.99), percentile(baseTook, 0.99)
	b.ReportMetric(float64(percentile(recvTook, 0.50).Microseconds()), "p50-µs")
	b.ReportMetric(float64(recvP99.Microseconds()), "p99-µs")
	b.ReportMetric(float64(percentile(baseTook, 0.50).Microseconds()), "base-p50-µs")
	b.ReportMetric(float64(baseP99.Microseconds()), "base-p99-µs")
	b.ReportMetric(float64(recvP99)/float64(max(baseP99, 1)), "p99-ratio")
}

// timePost posts a signed body and returns how long the answer took.
func timePost(b *testing.B, url string, body []byte, wantStatus int) time.Duration {
	b.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	signOpencals(b, req.Header, testSecret, body)
	began := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(began)
	if resp.StatusCode != wantStatus {
		b.Fatalf("POST %s = %d; want %d", url, resp.StatusCode, wantStatus)
	}
	return took
}

// percentile is the q-quantile of ds (nearest rank).
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
