package metrics

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/store"
	"github.com/opencals-sync/opencals-sync/webhook"
)

// gather reads the registry as "name{k=v,...}" → value, for counters,
// gauges and histogram sample counts.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather() = %v", err)
	}
	out := make(map[string]float64)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			sort.Strings(labels)
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestWebhookReportsRequestsAndReconciliation(t *testing.T) {
	t.Parallel()
	counts := []store.ReconcileCount{
		{StoreID: "s1", Type: event.OrderPaid, PollOnly: 2, WebhookOnly: 1, Matched: 40},
	}
	w := NewWebhook(func(context.Context) ([]store.ReconcileCount, error) { return counts, nil })
	reg := prometheus.NewRegistry()
	if err := w.Register(reg); err != nil {
		t.Fatalf("Register() = %v", err)
	}
	w.WebhookRequest(webhook.OutcomeAccepted, time.Millisecond)
	w.WebhookRequest(webhook.OutcomeAccepted, time.Millisecond)
	w.WebhookRequest(webhook.OutcomeUnauthorized, time.Millisecond)

	want := map[string]float64{
		`opencals_sync_reconcile_events{seen=both,store=s1,type=order.paid}`:         40,
		`opencals_sync_reconcile_events{seen=poll_only,store=s1,type=order.paid}`:    2,
		`opencals_sync_reconcile_events{seen=webhook_only,store=s1,type=order.paid}`: 1,
		`opencals_sync_webhook_requests_total{outcome=accepted}`:                     2,
		`opencals_sync_webhook_requests_total{outcome=unauthorized}`:                 1,
		`opencals_sync_webhook_answer_duration_seconds{}`:                            3,
	}
	if diff := cmp.Diff(want, gather(t, reg)); diff != "" {
		t.Errorf("metrics mismatch (-want +got):\n%s", diff)
	}
}

func TestWebhookReportsNoReconciliationWithoutCounts(t *testing.T) {
	t.Parallel()
	w := NewWebhook(func(context.Context) ([]store.ReconcileCount, error) { return nil, nil })
	reg := prometheus.NewRegistry()
	if err := w.Register(reg); err != nil {
		t.Fatalf("Register() = %v", err)
	}
	want := map[string]float64{`opencals_sync_webhook_answer_duration_seconds{}`: 0}
	if diff := cmp.Diff(want, gather(t, reg)); diff != "" {
		t.Errorf("metrics mismatch (-want +got):\n%s", diff)
	}
}

func TestWebhookReportsAFailedCountAsAnError(t *testing.T) {
	t.Parallel()
	w := NewWebhook(func(context.Context) ([]store.ReconcileCount, error) {
		return nil, errors.New("database is locked")
	})
	reg := prometheus.NewRegistry()
	if err := w.Register(reg); err != nil {
		t.Fatalf("Register() = %v", err)
	}
	if _, err := reg.Gather(); err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Errorf("Gather() = %v; want the counter's error", err)
	}
}
