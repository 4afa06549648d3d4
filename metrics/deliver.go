package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencals-sync/opencals-sync/deliver"
)

// deliveryMetrics are the dispatcher's metrics.
type deliveryMetrics struct {
	attempts *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	dead     *prometheus.CounterVec
	disabled *prometheus.CounterVec
	backlog  prometheus.Gauge
	oldest   prometheus.Gauge
}

func newDeliveryMetrics() deliveryMetrics {
	return deliveryMetrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "delivery_attempts_total",
			Help: "Delivery attempts by endpoint and the delivery's state after it: delivered, pending (will retry), failed, disabled.",
		}, []string{"endpoint", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "delivery_duration_seconds",
			Help:    "Time one delivery attempt took, by endpoint.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"endpoint"}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "dead_letters_total",
			Help: "Deliveries failed for good after the retry window, by endpoint.",
		}, []string{"endpoint"}),
		disabled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "endpoints_disabled_total",
			Help: "Endpoints disabled because they answered 410 Gone.",
		}, []string{"endpoint"}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "outbox_backlog",
			Help: "Deliveries pending, all configured endpoints together.",
		}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "outbox_oldest_pending_age_seconds",
			Help: "Age of the oldest pending delivery's event; 0 when none is pending.",
		}),
	}
}

func (d deliveryMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{d.attempts, d.latency, d.dead, d.disabled, d.backlog, d.oldest}
}

var _ deliver.Metrics = (*Metrics)(nil)

// AttemptDone counts a recorded delivery attempt.
func (m *Metrics) AttemptDone(o deliver.Outcome) {
	m.delivery.attempts.WithLabelValues(o.Endpoint, string(o.State)).Inc()
	m.delivery.latency.WithLabelValues(o.Endpoint).Observe(o.Latency.Seconds())
}

// DeadLetter counts a delivery failed for good.
func (m *Metrics) DeadLetter(endpoint string) {
	m.delivery.dead.WithLabelValues(endpoint).Inc()
}

// EndpointDisabled counts an endpoint disabled by 410 Gone.
func (m *Metrics) EndpointDisabled(endpoint string) {
	m.delivery.disabled.WithLabelValues(endpoint).Inc()
}

// Backlog sets the outbox backlog gauges.
func (m *Metrics) Backlog(pending int, oldest time.Duration) {
	m.delivery.backlog.Set(float64(pending))
	m.delivery.oldest.Set(oldest.Seconds())
}
