// Package metrics defines opencals-sync's Prometheus metrics and implements
// the small metric interfaces the other packages declare.
package metrics

import (
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/opencals-sync/opencals-sync/event"
)

const namespace = "opencals_sync"

// Metrics holds every metric of one daemon, registered on its own registry
// (no global state).
type Metrics struct {
	Registry *prometheus.Registry

	apiRequests       *prometheus.CounterVec
	apiLatency        *prometheus.HistogramVec
	looks             *prometheus.CounterVec
	lookDuration      *prometheus.HistogramVec
	effectiveInterval *prometheus.GaugeVec
	events            *prometheus.CounterVec
	scraped           *scraped
	delivery          deliveryMetrics
}

// New registers the metrics, plus the Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "api_requests_total",
			Help: "Opencals API requests by endpoint and HTTP status (0: no answer).",
		}, []string{"endpoint", "status"}),
		apiLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "api_request_duration_seconds",
			Help:    "Opencals API request latency by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.025, 2, 10),
		}, []string{"endpoint"}),
		looks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "polls_total",
			Help: "Looks at customers by store, kind (light: orders only; full) and outcome.",
		}, []string{"store", "kind", "outcome"}),
		lookDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "poll_duration_seconds",
			Help:    "Time one look at a customer took, retries and waits for budget included.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 10),
		}, []string{"store"}),
		effectiveInterval: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "effective_poll_interval_seconds",
			Help: "The default poll interval as the API budget lets it be kept.",
		}, []string{"store"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "events_total",
			Help: "Events recorded in the outbox by type and source.",
		}, []string{"type", "source"}),
		scraped:  newScraped(),
		delivery: newDeliveryMetrics(),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.apiRequests, m.apiLatency, m.looks, m.lookDuration, m.effectiveInterval, m.events,
		m.scraped,
	)
	m.Registry.MustRegister(m.delivery.collectors()...)
	return m
}

// LookDone counts one look at a customer.
func (m *Metrics) LookDone(storeID, kind string, d time.Duration, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.looks.WithLabelValues(storeID, kind, outcome).Inc()
	m.lookDuration.WithLabelValues(storeID).Observe(d.Seconds())
}

// EffectiveInterval records the interval the budget lets the scheduler keep.
func (m *Metrics) EffectiveInterval(storeID string, d time.Duration) {
	m.effectiveInterval.WithLabelValues(storeID).Set(d.Seconds())
}

// EventsRecorded counts events newly written to the outbox.
func (m *Metrics) EventsRecorded(evs []event.Event) {
	for _, e := range evs {
		m.events.WithLabelValues(string(e.Type), string(e.Source)).Inc()
	}
}

// idSegment matches path segments that are ids, so endpoints stay a small
// label set: /storefront/orders/{id}.
var idSegment = regexp.MustCompile(`/[0-9a-fA-F-]{8,}(/|$)`)

// Transport wraps an http.RoundTripper to count and time API requests by
// endpoint and status; 429s appear as status "429".
func (m *Metrics) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		endpoint := req.Method + " " + idSegment.ReplaceAllString(req.URL.Path, "/{id}$1")
		began := time.Now()
		resp, err := next.RoundTrip(req)
		m.apiLatency.WithLabelValues(endpoint).Observe(time.Since(began).Seconds())
		status := "0"
		if err == nil {
			status = strconv.Itoa(resp.StatusCode)
		}
		m.apiRequests.WithLabelValues(endpoint, status).Inc()
		return resp, err
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
