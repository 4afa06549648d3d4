package daemon

import (
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/opencals-sync/opencals-sync/event"
)

// scrape parses /metrics with Prometheus' own text parser.
func (e *e2e) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(e.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return families
}

// value sums the samples of a family whose labels include want.
func value(families map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := families[name]
	if !ok {
		return 0, false
	}
	sum, found := 0.0, false
	for _, m := range f.GetMetric() {
		labels := make(map[string]string)
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		found = true
		switch {
		case m.GetCounter() != nil:
			sum += m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			sum += m.GetGauge().GetValue()
		case m.GetHistogram() != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum, found
}

// checkMetricsAfterScript checks names, labels and values of /metrics
// against what the scripted run did: the outbox's events, the registered
// customers, the API calls the sandbox counted.
func (e *e2e) checkMetricsAfterScript(t *testing.T, events map[string]event.Type) {
	t.Helper()
	families := e.scrape(t)
	byType := make(map[event.Type]int)
	for _, typ := range events {
		byType[typ]++
	}
	for _, typ := range event.Types {
		got, _ := value(families, "opencals_sync_events_total", map[string]string{
			"type": string(typ), "source": "poll"})
		if int(got) != byType[typ] {
			t.Errorf("events_total{type=%q,source=poll} = %v; want %d (the outbox)", typ, got, byType[typ])
		}
	}
	if got, _ := value(families, "opencals_sync_customers", map[string]string{
		"store": e.storeID, "state": "active"}); int(got) != len(e.sb.Customers()) {
		t.Errorf("customers{state=active} = %v; want %d", got, len(e.sb.Customers()))
	}
	if got, _ := value(families, "opencals_sync_polls_total", map[string]string{
		"store": e.storeID, "outcome": "ok"}); got == 0 {
		t.Error("polls_total{outcome=ok} = 0")
	}
	if got, found := value(families, "opencals_sync_api_requests_total", map[string]string{
		"status": "429"}); found && got != 0 {
		t.Errorf("api_requests_total{status=429} = %v; the sandbox saw none", got)
	}
	requests, _ := value(families, "opencals_sync_api_requests_total", map[string]string{
		"status": "200"})
	if sandbox := e.sb.Stats().Total; requests == 0 || int(requests) > sandbox {
		t.Errorf("api_requests_total{status=200} = %v; the sandbox answered %d requests", requests, sandbox)
	}
	for _, name := range []string{"opencals_sync_effective_poll_interval_seconds",
		"opencals_sync_api_budget_in_use_ratio", "opencals_sync_outbox_backlog",
		"opencals_sync_poll_duration_seconds", "opencals_sync_api_request_duration_seconds"} {
		if _, ok := families[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}
