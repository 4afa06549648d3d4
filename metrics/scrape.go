package metrics

import (
	"context"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opencals-sync/opencals-sync/opencals"
	"github.com/opencals-sync/opencals-sync/store"
)

// CustomerCounter counts customers by store and state.
type CustomerCounter interface {
	CountCustomers(ctx context.Context) ([]store.CustomerCount, error)
}

// BudgetSource is a key's limiter, as the collector reads it.
type BudgetSource interface {
	Stats(c opencals.Category) opencals.LimitStats
}

// scraped computes gauges when Prometheus scrapes, from the store and the
// limiters, so they are never stale and cost nothing between scrapes.
type scraped struct {
	customers *prometheus.Desc
	budget    *prometheus.Desc
	paused    *prometheus.Desc

	mu      gosync.Mutex
	counter CustomerCounter
	budgets map[string]BudgetSource // by store name
}

func newScraped() *scraped {
	return &scraped{
		customers: prometheus.NewDesc(namespace+"_customers",
			"Customers by store and state (active, needs_reauth, disabled).",
			[]string{"store", "state"}, nil),
		budget: prometheus.NewDesc(namespace+"_api_budget_in_use_ratio",
			"Share of the API key's allowance used in the current window, by store and budget.",
			[]string{"store", "budget"}, nil),
		paused: prometheus.NewDesc(namespace+"_api_paused",
			"1 while the key is paused after a 429, by store and budget.",
			[]string{"store", "budget"}, nil),
		budgets: make(map[string]BudgetSource),
	}
}

// Describe implements prometheus.Collector.
func (s *scraped) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.customers
	ch <- s.budget
	ch <- s.paused
}

// Collect implements prometheus.Collector.
func (s *scraped) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	counter := s.counter
	budgets := make(map[string]BudgetSource, len(s.budgets))
	for k, v := range s.budgets {
		budgets[k] = v
	}
	s.mu.Unlock()

	if counter != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		counts, err := counter.CountCustomers(ctx)
		cancel()
		if err != nil {
			ch <- prometheus.NewInvalidMetric(s.customers, err)
		}
		for _, c := range counts {
			ch <- prometheus.MustNewConstMetric(s.customers, prometheus.GaugeValue,
				float64(c.Count), c.StoreID, string(c.State))
		}
	}
	for name, b := range budgets {
		for _, cat := range []opencals.Category{opencals.General, opencals.Auth} {
			st := b.Stats(cat)
			ratio := 0.0
			if st.Allowed > 0 {
				ratio = float64(st.InUse) / float64(st.Allowed)
			}
			ch <- prometheus.MustNewConstMetric(s.budget, prometheus.GaugeValue, ratio, name, cat.String())
			paused := 0.0
			if st.PausedUntil.After(time.Now()) {
				paused = 1
			}
			ch <- prometheus.MustNewConstMetric(s.paused, prometheus.GaugeValue, paused, name, cat.String())
		}
	}
}

// WatchCustomers makes scrapes count customers from c.
func (m *Metrics) WatchCustomers(c CustomerCounter) {
	m.scraped.mu.Lock()
	defer m.scraped.mu.Unlock()
	m.scraped.counter = c
}

// WatchBudget makes scrapes report the budget of a store's key; nil stops.
func (m *Metrics) WatchBudget(storeName string, b BudgetSource) {
	m.scraped.mu.Lock()
	defer m.scraped.mu.Unlock()
	if b == nil {
		delete(m.scraped.budgets, storeName)
		return
	}
	m.scraped.budgets[storeName] = b
}
