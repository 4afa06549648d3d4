//go:build faults

package faults

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// invalidEdits each break a valid config in a way config.Validate or the
// YAML parser must refuse.
var invalidEdits = []struct {
	name string
	edit func(doc string) string
}{
	{"interval below the minimum", func(d string) string {
		return replaceLine(d, "  interval:", "  interval: 5s")
	}},
	{"YAML syntax error", func(d string) string { return d + "sync: [unclosed\n" }},
	{"unknown baseline", func(d string) string {
		return strings.Replace(d, "sync:\n", "sync:\n  baseline: sometimes\n", 1)
	}},
	{"concurrency out of range", func(d string) string {
		return strings.Replace(d, "sync:\n", "sync:\n  concurrency: 99\n", 1)
	}},
	{"max_age below the interval", func(d string) string {
		return replaceLine(d, "  max_age:", "  max_age: 5s")
	}},
	{"endpoint URL not http", func(d string) string {
		return replaceLine(d, "    url:", "    url: ftp://127.0.0.1/hooks")
	}},
	{"empty file", func(string) string { return "" }},
}

// replaceLine replaces the first line starting with prefix.
func replaceLine(doc, prefix, line string) string {
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			lines[i] = line
			break
		}
	}
	return strings.Join(lines, "\n")
}

// testConfigEdits edits the config while the daemon runs, a third of the
// edits invalid, some written in place (so the watcher may see half a
// file), the others renamed into place: the daemon must neither crash nor
// lose an event, and the last valid config must be in force.
func testConfigEdits(t *testing.T, s *suite) {
	edits := s.scaled(100, 30)
	w := newWorld(t, s, "config_edits", worldOptions{customers: 6, tokenTTL: 15 * time.Minute,
		requests: 1200, per: time.Minute})
	w.registerAll()
	w.startDaemon()
	w.waitBaselined(time.Minute)
	admin := w.adminURL()
	since := w.sb.startActivity(t, 300*time.Millisecond)
	start := w.startState()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 5))
	bad := make([]bool, edits)
	for _, i := range rng.Perm(edits - 1)[:edits/3] { // the last edit stays valid
		bad[i] = true
	}
	last := w.conf
	for i := range edits {
		c := w.conf
		c.Interval = time.Duration(10+rng.IntN(11)) * time.Second
		c.LogLevel = []string{"debug", "info"}[rng.IntN(2)]
		doc := c.yaml()
		if bad[i] {
			doc = invalidEdits[rng.IntN(len(invalidEdits))].edit(doc)
		} else {
			last = c
		}
		w.editConfig(doc, rng.IntN(2) == 0)
		<-time.After(time.Duration(100+rng.IntN(300)) * time.Millisecond)
	}

	want := last.Interval.Seconds()
	var got float64
	eventually(t, 30*time.Second, "the last valid interval in force", func() bool {
		got = w.scrape(admin).sum("opencals_sync_effective_poll_interval_seconds", nil)
		return got == want
	})
	running := w.daemon.running()
	stopped := w.sb.stopActivity(t)
	opts := Options{CompletedBy: stopped.At}
	o := w.settle(start, since, opts, 2*time.Minute)
	w.finish(o, opts, since)

	r, name := s.report, w.name
	r.Info(name, "edits", edits)
	r.Info(name, "invalid edits", edits/3)
	r.AtLeast(name, "edits rejected in the log", w.countLogLines("config edit rejected"), 1)
	r.AtLeast(name, "reloads in the log", w.countLogLines("config reloaded"), 1)
	r.Equal(name, "effective poll interval after the last edit (s)", got, want)
	r.Equal(name, "daemon running after the edits", running, true)
	if !running {
		t.Errorf("the daemon stopped during the edits")
	}
}

// editConfig writes doc over the config, in place (truncate and write, as
// some editors do) or by renaming a new file into place.
func (w *world) editConfig(doc string, inPlace bool) {
	w.t.Helper()
	if !inPlace {
		w.writeConfig(doc)
		return
	}
	if err := os.WriteFile(w.confPath, []byte(doc), 0o600); err != nil {
		w.t.Fatal(fmt.Errorf("editing the config in place: %w", err))
	}
}
