//go:build linux

package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// benchOutput is go test -bench output with -count 3 for one benchmark.
const benchOutput = `goos: linux
goarch: amd64
pkg: github.com/opencals-sync/opencals-sync/store
cpu: AMD EPYC
BenchmarkApply/customers=1000/bare_upsert-2   3   2944680692 ns/op   4415 rows/s
BenchmarkApply/customers=1000/apply-2   3   2049615817 ns/op   1.437 ratio_to_bare   6343 rows/s
BenchmarkApply/customers=1000/apply-2   3   2049615817 ns/op   1.5 ratio_to_bare   6000 rows/s
BenchmarkApply/customers=1000/apply-2   3   2049615817 ns/op   1.2 ratio_to_bare   7000 rows/s
--- BENCH: BenchmarkApply
    bench_test.go:12: a log line
PASS
ok  	github.com/opencals-sync/opencals-sync/store	153.004s
`

func TestParseBench(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		procs int
		want  []result
	}{
		{
			name:  "suffix of two procs",
			in:    "BenchmarkHash/xxh64-2  142956  2348 ns/op  3164.15 MB/s\n",
			procs: 2,
			want: []result{{name: "BenchmarkHash/xxh64", n: 142956,
				figures: map[string]float64{"ns/op": 2348, "MB/s": 3164.15}}},
		},
		{
			name:  "one proc has no suffix",
			in:    "BenchmarkCompute/changed-10  664  818064 ns/op\n",
			procs: 1,
			want: []result{{name: "BenchmarkCompute/changed-10", n: 664,
				figures: map[string]float64{"ns/op": 818064}}},
		},
		{
			name: "name printed before a log line, figures on their own",
			in: "BenchmarkX-2   \tsome log\n" +
				"BenchmarkY-2  1  4808614168 ns/op  0.4456 p95-ratio  1263 rr-p95-s\n",
			procs: 2,
			want: []result{{name: "BenchmarkY", n: 1,
				figures: map[string]float64{"ns/op": 4808614168, "p95-ratio": 0.4456, "rr-p95-s": 1263}}},
		},
		{
			name:  "a value that is not a number skips the line",
			in:    "BenchmarkZ-2  10  fast ns/op\nBenchmarkW-2  10  5 ns/op\n",
			procs: 2,
			want:  []result{{name: "BenchmarkW", n: 10, figures: map[string]float64{"ns/op": 5}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseBench(strings.NewReader(tt.in), tt.procs)
			if err != nil {
				t.Fatalf("parseBench() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(result{})); diff != "" {
				t.Errorf("parseBench() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseBenchWithoutResultsFails(t *testing.T) {
	t.Parallel()
	if _, err := parseBench(strings.NewReader("PASS\nok  pkg 0.1s\n"), 2); err == nil {
		t.Error("parseBench(no results) = nil error; want one")
	}
}

func TestMediansOfRepeatedRuns(t *testing.T) {
	t.Parallel()
	results, err := parseBench(strings.NewReader(benchOutput), 2)
	if err != nil {
		t.Fatal(err)
	}
	got := medians(results)
	want := figures{
		"BenchmarkApply/customers=1000/bare_upsert": {"ns/op": 2944680692, "rows/s": 4415},
		"BenchmarkApply/customers=1000/apply": {
			"ns/op": 2049615817, "ratio_to_bare": 1.437, "rows/s": 6343},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("medians() mismatch (-want +got):\n%s", diff)
	}
}

func TestMedian(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{name: "none", in: nil, want: 0},
		{name: "one", in: []float64{3}, want: 3},
		{name: "odd, unsorted", in: []float64{9, 1, 5}, want: 5},
		{name: "even takes the mean of the middle two", in: []float64{4, 1, 3, 2}, want: 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("%s: median(%v) = %v; want %v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestFiguresGetNamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	f := figures{"BenchmarkA": {"ns/op": 1, "p99_ms": 2}}
	tests := []struct {
		name, bench, unit string
		want              float64
		wantErr           string // a part of the error; "" for none
	}{
		{name: "present", bench: "BenchmarkA", unit: "p99_ms", want: 2},
		{name: "unknown benchmark", bench: "BenchmarkB", unit: "ns/op", wantErr: "BenchmarkA"},
		{name: "unknown unit", bench: "BenchmarkA", unit: "rows/s", wantErr: "ns/op, p99_ms"},
	}
	for _, tt := range tests {
		got, err := f.get(tt.bench, tt.unit)
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("%s: get(%q, %q) = %v, %v; want %v", tt.name, tt.bench, tt.unit, got, err, tt.want)
		case tt.wantErr != "" &&
			(!errors.Is(err, errNoFigure) || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: get(%q, %q) error = %v; want errNoFigure naming %q", tt.name, tt.bench,
				tt.unit, err, tt.wantErr)
		}
	}
}

func TestPickerKeepsTheFirstError(t *testing.T) {
	t.Parallel()
	p := picker{f: figures{"BenchmarkA": {"ns/op": 7}}}
	missing := p.get("BenchmarkA", "rows/s")
	present := p.get("BenchmarkA", "ns/op")
	if missing != 0 || present != 0 || !errors.Is(p.err, errNoFigure) {
		t.Errorf("picker after a missing figure: values %v, %v, error %v; want 0, 0, errNoFigure",
			missing, present, p.err)
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    memory
		wantErr bool
	}{
		{
			name: "running process",
			in:   "Name:\topencals-sync\nVmPeak:\t 1300 kB\nVmHWM:\t   57344 kB\nVmRSS:\t   51200 kB\n",
			want: memory{rss: 51200 << 10, hwm: 57344 << 10},
		},
		{name: "zombie has no memory lines", in: "Name:\topencals-sync\nState:\tZ (zombie)\n",
			wantErr: true},
		{name: "unit other than kB", in: "VmHWM:\t1 MB\nVmRSS:\t1 MB\n", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseStatus(strings.NewReader(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: parseStatus() = %+v, %v; want %+v, error %t", tt.name, got, err, tt.want,
				tt.wantErr)
		}
	}
}

func TestCPUModel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{name: "x86", in: "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD  EPYC 7B13\n" +
			"model name\t: other\n", want: "AMD EPYC 7B13"},
		{name: "none", in: "processor\t: 0\nBogoMIPS\t: 50.00\n", want: "unknown CPU"},
	}
	for _, tt := range tests {
		if got := cpuModel(strings.NewReader(tt.in)); got != tt.want {
			t.Errorf("%s: cpuModel() = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func TestSumCounter(t *testing.T) {
	t.Parallel()
	page := `# HELP opencals_sync_polls_total Looks at customers.
# TYPE opencals_sync_polls_total counter
opencals_sync_polls_total{kind="full",outcome="ok",store="c4"} 1850
opencals_sync_polls_total{kind="full",outcome="error",store="c4"} 6
opencals_sync_polls_total_other 99
opencals_sync_events_total{source="poll",type="order.paid"} 3
`
	got, err := sumCounter(strings.NewReader(page), "opencals_sync_polls_total")
	if err != nil || got != 1856 {
		t.Errorf("sumCounter() = %v, %v; want 1856", got, err)
	}
}

const greeting = `Opencals sandbox listening on http://127.0.0.1:40123
  base URL:  http://127.0.0.1:40123
  API key:   sfk_test
  store id:  c4c020c6-601f-4d2e-a798-9d62ec4581a0
  activity:  off (seed 1)
  admin:     http://127.0.0.1:40123/sandbox/ (changes, stats, book, refund, …)
Customers (sandbox-only credentials):
  customer1@example.test      sandbox-password  4e99fec6-0859-47c1-86e9-125b934ffe41
  customer2@example.test      sandbox-password  5e99fec6-0859-47c1-86e9-125b934ffe42
Press Ctrl-C to stop.
`

func TestParseSandbox(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    sandboxInfo
		wantErr bool
	}{
		{
			name: "greeting",
			in:   greeting,
			want: sandboxInfo{url: "http://127.0.0.1:40123", apiKey: "sfk_test",
				storeID: "c4c020c6-601f-4d2e-a798-9d62ec4581a0",
				customers: []sandboxCustomer{
					{email: "customer1@example.test", password: "sandbox-password"},
					{email: "customer2@example.test", password: "sandbox-password"},
				}},
		},
		{name: "stopped early", in: greeting[:200], wantErr: true},
		{name: "no store id", in: strings.Replace(greeting, "store id", "store", 1), wantErr: true},
		{name: "odd customer line",
			in: strings.Replace(greeting, "  customer2@example.test", "  x y z w", 1), wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSandbox(strings.NewReader(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: parseSandbox() error = %v; want error %t", tt.name, err, tt.wantErr)
		}
		opt := cmp.AllowUnexported(sandboxInfo{}, sandboxCustomer{})
		if diff := cmp.Diff(tt.want, got, opt); diff != "" {
			t.Errorf("%s: parseSandbox() mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}
