package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencals-sync/opencals-sync/store"
	"github.com/opencals-sync/opencals-sync/webhook"
)

// ReconcileCounter returns hybrid mode's reconciliation counts at scrape
// time, nil when there is nothing to reconcile (poll mode).
type ReconcileCounter func(ctx context.Context) ([]store.ReconcileCount, error)

// Webhook holds the receiver's metrics and reports the reconciliation
// counts at scrape time. Register it on the daemon's registry.
type Webhook struct {
	requests  *prometheus.CounterVec
	answer    prometheus.Histogram
	reconcile *reconcileCollector
}

var _ webhook.Metrics = (*Webhook)(nil)

// NewWebhook creates the receiver's metrics, counting reconciliation with
// counter; Register adds them to a registry.
func NewWebhook(counter ReconcileCounter) *Webhook {
	return &Webhook{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "webhook_requests_total",
			Help: "Requests to the webhook receiver by outcome: accepted, duplicate, " +
				"unauthorized, bad_request, too_large, not_found, method_not_allowed, error.",
		}, []string{"outcome"}),
		answer: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "webhook_answer_duration_seconds",
			Help:    "Time the webhook receiver took to answer a request, the durable insert included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 12),
		}),
		reconcile: &reconcileCollector{count: counter, desc: prometheus.NewDesc(
			namespace+"_reconcile_events",
			"Events of the reconciliation window (the last 7 days, less a grace period, since "+
				"the store's first webhook) by store, type and how they were seen: poll_only "+
				"(webhooks never delivered them), webhook_only (polling never found them), both.",
			[]string{"store", "type", "seen"}, nil)},
	}
}

// Register adds the metrics to reg.
func (w *Webhook) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{w.requests, w.answer, w.reconcile} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// WebhookRequest counts one request and its time to answer.
func (w *Webhook) WebhookRequest(outcome webhook.Outcome, took time.Duration) {
	w.requests.WithLabelValues(string(outcome)).Inc()
	w.answer.Observe(took.Seconds())
}

// reconcileCollector reads the counts when Prometheus scrapes, so they are
// never stale and cost nothing between scrapes.
type reconcileCollector struct {
	count ReconcileCounter
	desc  *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *reconcileCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector.
func (c *reconcileCollector) Collect(ch chan<- prometheus.Metric) {
	if c.count == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	for _, rc := range counts {
		for seen, n := range map[string]int{
			"poll_only": rc.PollOnly, "webhook_only": rc.WebhookOnly, "both": rc.Matched,
		} {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n),
				rc.StoreID, string(rc.Type), seen)
		}
	}
}
