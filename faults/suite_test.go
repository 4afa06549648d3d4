//go:build faults

package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Environment variables the suite reads (scripts/faults sets them).
const (
	// reportEnv names a file the report is written to, besides stdout.
	reportEnv = "FAULTS_REPORT"
	// keepEnv names a directory where every log is kept after the run.
	keepEnv = "FAULTS_KEEP"
)

// scenarios run in parallel, each against its own sandbox and daemon.
var scenarios = []struct {
	name string
	run  func(t *testing.T, s *suite)
}{
	{"crash_loop", testCrashLoop},
	{"api_faults", testAPIFaults},
	{"endpoint_faults", testEndpointFaults},
	{"store_faults", testStoreFaults},
	{"config_edits", testConfigEdits},
}

// TestFaults runs every scenario, then checks that no log holds a secret
// any of them used, and prints the report.
func TestFaults(t *testing.T) {
	mode := "full"
	if testing.Short() {
		mode = "short"
	}
	title := fmt.Sprintf("opencals-sync fault suite: %s run, race detector %v, %s, %s/%s, %d CPUs",
		mode, raceEnabled, time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.GOOS,
		runtime.GOARCH, runtime.NumCPU())
	var order []string
	for _, sc := range scenarios {
		order = append(order, sc.name)
	}
	order = append(order, "secrets", "suite")
	s := &suite{report: NewReport(title, order...), logs: logsDir(t), short: testing.Short(),
		secrets: map[string]map[string]bool{}}
	began := time.Now()

	t.Run("scenarios", func(t *testing.T) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel() // each scenario has its own processes and ports
				start := time.Now()
				sc.run(t, s)
				s.report.Info(sc.name, "duration (s)", int(time.Since(start).Seconds()))
			})
		}
	})
	t.Run("secrets", func(t *testing.T) { testSecrets(t, s) })

	s.report.Note("suite", "ran in %s; logs in %s", time.Since(began).Round(time.Second),
		s.logs)
	printReport(t, s.report)
}

// logsDir is where every log goes: FAULTS_KEEP if set, else a temporary
// directory removed with the test.
func logsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv(keepEnv)
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// printReport writes the table to stdout and to FAULTS_REPORT, if set.
func printReport(t *testing.T, r *Report) {
	t.Helper()
	fmt.Println()
	if _, err := r.WriteTo(os.Stdout); err != nil {
		t.Error(err)
	}
	if path := os.Getenv(reportEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := r.WriteTo(f); err != nil {
			t.Error(err)
		}
	}
}

// dumpBodies writes every body the receiver got to the scenario's logs, so
// the secrets check reads events too.
func (w *world) dumpBodies() {
	w.t.Helper()
	f, err := os.Create(filepath.Join(w.logs, "received.jsonl"))
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	enc := json.NewEncoder(f)
	for _, d := range w.recv.Deliveries() {
		if d.Body != nil {
			if err := enc.Encode(json.RawMessage(d.Body)); err != nil {
				w.t.Fatal(err)
			}
		}
	}
}
