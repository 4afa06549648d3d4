//go:build faults

package faults

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"sync"
	"text/tabwriter"
)

// Report collects the suite's counts and prints them as one table. Its
// methods are safe for concurrent use: scenarios run in parallel.
type Report struct {
	title string
	order []string // scenarios in print order

	mu    sync.Mutex
	rows  []row
	notes []row
}

type row struct {
	scenario, check, value, want string
	ok                           bool
}

// NewReport returns an empty report whose scenarios print in the given
// order (others after them, in the order they first reported).
func NewReport(title string, order ...string) *Report {
	return &Report{title: title, order: order}
}

// Zero records a count that must be zero.
func (r *Report) Zero(scenario, check string, n int) {
	r.add(row{scenario, check, fmt.Sprint(n), "0", n == 0})
}

// AtLeast records a count that must reach min.
func (r *Report) AtLeast(scenario, check string, n, min int) {
	r.add(row{scenario, check, fmt.Sprint(n), fmt.Sprintf(">= %d", min), n >= min})
}

// Equal records a value that must equal want.
func (r *Report) Equal(scenario, check string, got, want any) {
	g, w := fmt.Sprint(got), fmt.Sprint(want)
	r.add(row{scenario, check, g, w, g == w})
}

// Check records a value against a requirement the caller judged.
func (r *Report) Check(scenario, check string, value any, want string, ok bool) {
	r.add(row{scenario, check, fmt.Sprint(value), want, ok})
}

// Info records a figure with no requirement.
func (r *Report) Info(scenario, check string, value any) {
	r.add(row{scenario, check, fmt.Sprint(value), "-", true})
}

// Note adds a line under the table.
func (r *Report) Note(scenario, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, row{scenario: scenario, check: fmt.Sprintf(format, args...)})
}

func (r *Report) add(x row) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, x)
}

// rank orders scenarios as NewReport was told.
func (r *Report) rank(scenario string) int {
	if i := slices.Index(r.order, scenario); i >= 0 {
		return i
	}
	return len(r.order)
}

// WriteTo prints the table, then the notes.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	rows := slices.Clone(r.rows)
	notes := slices.Clone(r.notes)
	r.mu.Unlock()
	byScenario := func(a, b row) int { return r.rank(a.scenario) - r.rank(b.scenario) }
	slices.SortStableFunc(rows, byScenario)
	slices.SortStableFunc(notes, byScenario)

	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%s\n\n", r.title)
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tCHECK\tVALUE\tWANT\tOK")
	for _, x := range rows {
		ok := "ok"
		if !x.ok {
			ok = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", x.scenario, x.check, x.value, x.want, ok)
	}
	_ = tw.Flush() // writes to a bytes.Buffer cannot fail
	if len(notes) > 0 {
		fmt.Fprintln(&buf)
	}
	for _, n := range notes {
		fmt.Fprintf(&buf, "%s: %s\n", n.scenario, n.check)
	}
	n, err := w.Write(buf.Bytes())
	return int64(n), err
}
