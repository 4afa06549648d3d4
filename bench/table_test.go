//go:build linux

package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opencals-sync/opencals-sync/config"
)

func TestFormatNumber(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   float64
		want string
	}{
		{in: 0, want: "0"},
		{in: 0.4456, want: "0.45"},
		{in: 0.068, want: "0.068"},
		{in: 1.762, want: "1.76"},
		{in: 12.86, want: "12.9"},
		{in: 562.6, want: "563"},
		{in: 6549, want: "6,549"},
		{in: 1234567.8, want: "1,234,568"},
		{in: -4415, want: "-4,415"},
	}
	for _, tt := range tests {
		if got := formatNumber(tt.in); got != tt.want {
			t.Errorf("formatNumber(%v) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestRowGoal(t *testing.T) {
	t.Parallel()
	ms := func(v float64) Quantity { return Quantity{v, "ms"} }
	tests := []struct {
		name     string
		row      Row
		wantGoal string
		wantMet  string
	}{
		{name: "ratio at least, met", wantGoal: "ratio ≥ 0.5", wantMet: "yes",
			row: Row{Figure: ms(6), Baseline: ms(10), Goal: atLeastRatio(0.5)}},
		{name: "ratio at least, missed", wantGoal: "ratio ≥ 0.5", wantMet: "**no**",
			row: Row{Figure: ms(4), Baseline: ms(10), Goal: atLeastRatio(0.5)}},
		{name: "ratio at most, bound included", wantGoal: "ratio ≤ 0.5", wantMet: "yes",
			row: Row{Figure: ms(5), Baseline: ms(10), Goal: atMostRatio(0.5)}},
		{name: "figure at most, proposed", wantGoal: "≤ 1,000 ms †", wantMet: "**no**",
			row: Row{Figure: ms(1001), Baseline: ms(10), Goal: atMostFigure(1000).proposed()}},
		{name: "no goal", wantGoal: "—", wantMet: "—",
			row: Row{Figure: ms(1), Baseline: ms(10)}},
		{name: "failed row meets nothing", wantGoal: "ratio ≥ 0.5", wantMet: "—",
			row: Row{Goal: atLeastRatio(0.5), Err: errors.New("boom")}},
	}
	for _, tt := range tests {
		if got := tt.row.Goal.describe(tt.row.Figure.Unit); got != tt.wantGoal {
			t.Errorf("%s: describe() = %q; want %q", tt.name, got, tt.wantGoal)
		}
		if got := tt.row.met(); got != tt.wantMet {
			t.Errorf("%s: met() = %q; want %q", tt.name, got, tt.wantMet)
		}
	}
}

func TestRowCells(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		row  Row
		want []string
	}{
		{
			name: "measured",
			row: Row{Measure: "Apply", Size: "10 customers", Figure: Quantity{6549, "rows/s"},
				Baseline: Quantity{5607, "rows/s"}, BaselineName: "bare upsert",
				Goal: atLeastRatio(0.5)},
			want: []string{"Apply", "10 customers", "6,549 rows/s", "5,607 rows/s (bare upsert)",
				"1.17", "ratio ≥ 0.5", "yes"},
		},
		{
			name: "failed",
			row:  Row{Measure: "daemon suite", Err: errors.New("sandbox exited\nmore detail")},
			want: []string{"daemon suite", "", "failed: sandbox exited", "", "", "", "—"},
		},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.row.cells()); diff != "" {
			t.Errorf("%s: cells() mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestWriteReport(t *testing.T) {
	t.Parallel()
	m := machine{date: time.Date(2026, 12, 3, 17, 5, 0, 0, time.UTC),
		goVersion: "go1.26.8 linux/amd64", cpu: "AMD EPYC", cores: 2, took: 372 * time.Second,
		load: [2]string{"0.12", "1.97"}}
	rows := []Row{{Measure: "a|b", Figure: Quantity{1, "s"}, Baseline: Quantity{2, "s"}}}
	var b strings.Builder
	if err := writeReport(&b, m, rows); err != nil {
		t.Fatal(err)
	}
	want := "Measured 2026-12-03 17:05 UTC with go1.26.8 linux/amd64 on AMD EPYC " +
		"(2 logical CPUs; load average 0.12 at the start, 1.97 at the end) " +
		"by `go run ./bench` in 6m12s.\n\n" +
		"| Measure | Size | Figure | Baseline, same run | Ratio | Goal | Met |\n" +
		"|---|---|---|---|---|---|---|\n" +
		"| a\\|b |  | 1.00 s | 2.00 s | 0.50 | — | — |\n"
	if got := b.String(); !strings.HasPrefix(got, want) {
		t.Errorf("writeReport() = %q; want it to start with %q", got, want)
	}
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		want    options
		wantErr bool
	}{
		{name: "defaults", want: options{customers: 10000, starts: 10, count: 3}},
		{name: "some suites", args: []string{"-only", "store,daemon", "-customers", "50"},
			want: options{only: []string{"store", "daemon"}, customers: 50, starts: 10, count: 3}},
		{name: "unknown suite", args: []string{"-only", "stores"}, wantErr: true},
		{name: "zero count", args: []string{"-count", "0"}, wantErr: true},
		{name: "stray argument", args: []string{"all"}, wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseFlags(tt.args, io.Discard)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: parseFlags(%q) error = %v; want error %t", tt.name, tt.args, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(options{})); diff != "" {
			t.Errorf("%s: parseFlags(%q) mismatch (-want +got):\n%s", tt.name, tt.args, diff)
		}
	}
}

// The config the daemon suite writes must stay one the daemon accepts.
func TestDaemonConfigLoads(t *testing.T) {
	t.Parallel()
	in := instance{name: "customers", dir: t.TempDir(), admin: "127.0.0.1:40999"}
	in.config = filepath.Join(in.dir, "config.yaml")
	sb := sandboxInfo{url: "http://127.0.0.1:40123", apiKey: "sfk_test", storeID: "store-1"}
	if err := os.WriteFile(in.config, []byte(daemonConfig(in, sb)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(in.config, nil)
	if err != nil {
		t.Fatalf("config.Load(bench config) = %v", err)
	}
	got := []any{cfg.Database, cfg.Admin.Listen, len(cfg.Stores), cfg.Sync.Concurrency}
	want := []any{in.database(), in.admin, 1, syncConcurrency}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config.Load(bench config) mismatch (-want +got):\n%s", diff)
	}
	st := cfg.Stores[0]
	gotStore := []any{st.ID, st.BaseURL, st.APIKey.Value(), st.RateLimit.Requests, st.RateLimit.Per}
	wantStore := []any{sb.storeID, sb.url, sb.apiKey, unlimited.Requests, unlimited.Per}
	if diff := cmp.Diff(wantStore, gotStore); diff != "" {
		t.Errorf("config.Load(bench config) store mismatch (-want +got):\n%s", diff)
	}
}
