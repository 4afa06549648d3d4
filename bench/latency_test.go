//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/deliver"
	"github.com/opencals-sync/opencals-sync/event"
)

// BenchmarkBarePOSTArrival is the floor of deliver's
// BenchmarkCommitToFirstAttempt: the time from deciding to send an event to
// the endpoint's handler having read it, for a bare POST on the
// dispatcher's transport, one at a time, with nothing to claim, sign or
// record. It reports p50_ms and p99_ms.
func BenchmarkBarePOSTArrival(b *testing.B) {
	arrived := make(chan time.Time, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		arrived <- time.Now()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	transport := deliver.NewTransport()
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	ev, err := event.Sample(event.OrderPaid, time.Now())
	if err != nil {
		b.Fatalf("Sample() = %v", err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		b.Fatalf("encoding the sample: %v", err)
	}
	send := func() time.Duration {
		began := time.Now()
		resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatalf("POST: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return (<-arrived).Sub(began)
	}

	// The first request opens the connection and is not counted.
	send()
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		lat = append(lat, send())
	}
	reportLatencies(b, lat)
}

// reportLatencies reports the median and the 99th percentile in ms.
func reportLatencies(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		b.Fatal("no latency measured")
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(lat[len(lat)/2]), "p50_ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99_ms")
}
