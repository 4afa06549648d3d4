//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// picker reads figures and keeps the first error, so a suite can read all
// it needs and check once.
type picker struct {
	f   figures
	err error
}

func (p *picker) get(name, unit string) float64 {
	if p.err != nil {
		return 0
	}
	v, err := p.f.get(name, unit)
	p.err = err
	return v
}

// The BenchmarkApply sizes the table shows: the one issue 3 names, and a
// tenth of it, repeated for a steadier median and to show that memory per
// item does not grow with the number of customers.
const (
	applyLarge = 10000
	applySmall = 1000
)

// storeRows compares Apply with a bare prepared upsert of the same rows.
func storeRows(ctx context.Context, e *env) ([]Row, error) {
	small, err := e.applyBench(ctx, applySmall, e.opts.count)
	if err != nil {
		return nil, err
	}
	large, err := e.applyBench(ctx, applyLarge, 1)
	if err != nil {
		return nil, err
	}
	p := picker{f: mergeFigures(small, large)}
	row := func(customers, count int) Row {
		prefix := applyPrefix(customers)
		size := formatNumber(float64(customers)) + " customers × (10 appointments + 3 orders); " +
			"3 passes: first sight, then every row changed"
		if count > 1 {
			size += fmt.Sprintf("; median of %d runs", count)
		}
		return Row{Measure: "Apply: snapshot and events in one transaction", Size: size,
			Figure:       Quantity{p.get(prefix+"apply", "rows/s"), "rows/s"},
			Baseline:     Quantity{p.get(prefix+"bare_upsert", "rows/s"), "rows/s"},
			BaselineName: "bare prepared upsert of the same rows", Goal: atLeastRatio(0.5)}
	}
	rows := []Row{row(applyLarge, 1), row(applySmall, e.opts.count), {
		Measure: "Apply: allocations per item",
		Size: fmt.Sprintf("%s customers against %s", formatNumber(applyLarge),
			formatNumber(applySmall)),
		Figure:       Quantity{p.get(applyPrefix(applyLarge)+"apply", "allocs/item"), "allocs"},
		Baseline:     Quantity{p.get(applyPrefix(applySmall)+"apply", "allocs/item"), "allocs"},
		BaselineName: formatNumber(applySmall) + " customers", Goal: atMostRatio(1.05),
	}}
	return rows, p.err
}

func (e *env) applyBench(ctx context.Context, customers, count int) (figures, error) {
	return e.goBench(ctx, benchCmd{pkg: "./store/",
		pattern:   fmt.Sprintf("^BenchmarkApply$/^customers=%d$", customers),
		benchtime: "3x", count: count, timeout: 8 * time.Minute})
}

func applyPrefix(customers int) string {
	return fmt.Sprintf("BenchmarkApply/customers=%d/appointments=10/orders=3/", customers)
}

// mergeFigures joins the figures of several runs of distinct benchmarks.
func mergeFigures(all ...figures) figures {
	out := make(figures)
	for _, f := range all {
		for name, units := range f {
			out[name] = units
		}
	}
	return out
}

// Sizes of the delivery benchmarks.
const (
	deliveryEvents = 5000
	latencyEvents  = 1000
)

// deliverRows compares the dispatcher with a bare POST loop, and the time
// from commit to first attempt with a bare POST's arrival.
func deliverRows(ctx context.Context, e *env) ([]Row, error) {
	rate, err := e.goBench(ctx, benchCmd{pkg: "./deliver/",
		pattern:   "^BenchmarkDeliveryVsBarePOST$",
		benchtime: fmt.Sprintf("%dx", deliveryEvents), count: e.opts.count, timeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	p := picker{f: rate}
	dispatched := p.get("BenchmarkDeliveryVsBarePOST", "dispatched_events/s")
	bare := p.get("BenchmarkDeliveryVsBarePOST", "bare_events/s")
	if p.err != nil {
		return nil, p.err
	}
	rows := []Row{{
		Measure: "Delivery rate: signed, every attempt recorded",
		Size: fmt.Sprintf("%s events, concurrency 16, loopback endpoint answering 204",
			formatNumber(deliveryEvents)),
		Figure: Quantity{dispatched, "events/s"}, Baseline: Quantity{bare, "events/s"},
		BaselineName: "bare net/http POST loop, same bodies and concurrency",
		Goal:         atLeastRatio(0.5),
	}}
	latency, err := latencyRows(ctx, e)
	return append(rows, latency...), err
}

// commitGoalMs is the proposed bound on commit → first attempt: far below
// the one-second scheduler tick that detects a change in the first place.
const commitGoalMs = 100

func latencyRows(ctx context.Context, e *env) ([]Row, error) {
	commit, err := e.goBench(ctx, benchCmd{pkg: "./deliver/",
		pattern:   "^BenchmarkCommitToFirstAttempt$",
		benchtime: fmt.Sprintf("%dx", latencyEvents), count: 1, timeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	bare, err := e.goBench(ctx, benchCmd{pkg: "./bench/", pattern: "^BenchmarkBarePOSTArrival$",
		benchtime: fmt.Sprintf("%dx", latencyEvents), count: 1, timeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	p, q := picker{f: commit}, picker{f: bare}
	row := func(quantile string, goal Goal) Row {
		return Row{Measure: "Commit → first attempt, " + quantile,
			Size:         formatNumber(latencyEvents) + " events, one at a time",
			Figure:       Quantity{p.get("BenchmarkCommitToFirstAttempt", quantile+"_ms"), "ms"},
			Baseline:     Quantity{q.get("BenchmarkBarePOSTArrival", quantile+"_ms"), "ms"},
			BaselineName: "bare POST: send → handler", Goal: goal}
	}
	rows := []Row{row("p50", Goal{}), row("p99", atMostFigure(commitGoalMs).proposed())}
	if err := errors.Join(p.err, q.err); err != nil {
		return nil, err
	}
	return rows, nil
}

// receiverRequests is how many deliveries the receiver benchmark times.
const receiverRequests = 2000

// receiverGoalMs is the proposed bound on a webhook's answer: a small
// fraction of the seconds a sender waits before it retries.
const receiverGoalMs = 100

// receiverRows reads the webhook package's benchmark: the receiver's
// answer time against a bare handler's, measured in the same loop.
func receiverRows(ctx context.Context, e *env) ([]Row, error) {
	f, err := e.goBench(ctx, benchCmd{pkg: "./webhook/", pattern: "^BenchmarkReceiverAnswer$",
		benchtime: fmt.Sprintf("%dx", receiverRequests), count: 1, timeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	const name = "BenchmarkReceiverAnswer"
	p := picker{f: f}
	size := formatNumber(receiverRequests) + " deliveries, one at a time, loopback"
	row := func(q string, goal Goal) Row {
		return Row{Measure: "Webhook receiver answer, " + q, Size: size,
			Figure:       Quantity{p.get(name, q+"-µs") / 1000, "ms"},
			Baseline:     Quantity{p.get(name, "base-"+q+"-µs") / 1000, "ms"},
			BaselineName: "bare handler: read body, answer", Goal: goal}
	}
	rows := []Row{row("p50", Goal{}), row("p99", atMostFigure(receiverGoalMs).proposed())}
	return rows, p.err
}

// syncRows reads the scheduler simulation: detection latency of the
// adaptive planner against round-robin under the same budget.
func syncRows(ctx context.Context, e *env) ([]Row, error) {
	f, err := e.goBench(ctx, benchCmd{pkg: "./sync/", pattern: "^BenchmarkDetectionLatency$",
		benchtime: "1x", count: 1, timeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	p := picker{f: f}
	adaptive := p.get("BenchmarkDetectionLatency", "adaptive-p95-s")
	rr := p.get("BenchmarkDetectionLatency", "rr-p95-s")
	// TODO: the size restates sync's defaultSimConfig by hand; the benchmark
	// could report it so that the two cannot drift apart.
	return []Row{{
		Measure: "Detection latency p95: adaptive scheduler",
		Size:    "simulated week, 1,000 customers (10 % busy), key of 100 requests/60 s at 90 %",
		Figure:  Quantity{adaptive, "s"}, Baseline: Quantity{rr, "s"},
		BaselineName: "round-robin, same budget", Goal: atMostRatio(0.5),
	}}, p.err
}

// redactRows compares the credential scanner with decoding and encoding.
func redactRows(ctx context.Context, e *env) ([]Row, error) {
	f, err := e.goBench(ctx, benchCmd{pkg: "./event/", pattern: "^BenchmarkRedact$",
		benchtime: "500ms", count: e.opts.count, timeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	p := picker{f: f}
	var rows []Row
	for _, item := range []struct{ name, size string }{
		{"appointments", "one 5 KB appointment"}, {"orders", "one 7 KB order"},
	} {
		scan := p.get("BenchmarkRedact/"+item.name+"/scanner", "ns/op")
		decode := p.get("BenchmarkRedact/"+item.name+"/unmarshal-marshal", "ns/op")
		rows = append(rows, Row{Measure: "Redact credentials: byte scanner", Size: item.size,
			Figure: Quantity{scan / 1000, "µs"}, Baseline: Quantity{decode / 1000, "µs"},
			BaselineName: "json decode, delete, encode", Goal: atMostRatio(1).proposed()})
	}
	return rows, p.err
}

// diffRows reads the item hash and what it saves a look.
func diffRows(ctx context.Context, e *env) ([]Row, error) {
	f, err := e.goBench(ctx, benchCmd{pkg: "./diff/", pattern: "^(BenchmarkHash|BenchmarkCompute)$",
		benchtime: "500ms", count: e.opts.count, timeout: 5 * time.Minute})
	if err != nil {
		return nil, err
	}
	p := picker{f: f}
	rows := []Row{{
		Measure: "Item hash: XXH64", Size: "one 7 KB order",
		Figure:       Quantity{p.get("BenchmarkHash/xxh64", "MB/s"), "MB/s"},
		Baseline:     Quantity{p.get("BenchmarkHash/fnv1a", "MB/s"), "MB/s"},
		BaselineName: "FNV-1a", Goal: atLeastRatio(1).proposed(),
	}, {
		Measure: "Diff of an unchanged look", Size: "10 appointments + 3 orders, fixture-sized",
		Figure:       Quantity{p.get("BenchmarkCompute/unchanged", "ns/op") / 1000, "µs"},
		Baseline:     Quantity{p.get("BenchmarkCompute/changed", "ns/op") / 1000, "µs"},
		BaselineName: "same look, every item changed", Goal: atMostRatio(0.2).proposed(),
	}}
	return rows, p.err
}
