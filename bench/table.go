//go:build linux

package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Row is one line of the table: a figure, the baseline it is compared
// with, and the goal. The ratio is always figure / baseline.
type Row struct {
	Measure string
	Size    string
	Figure  Quantity
	// Baseline is measured in the same run; BaselineName says what it is.
	Baseline     Quantity
	BaselineName string
	Goal         Goal
	// Err, when set, replaces the figures: the measurement failed.
	Err error
}

// Quantity is a value with its unit.
type Quantity struct {
	Value float64
	Unit  string
}

// String prints the value as the table does, with its unit.
func (q Quantity) String() string {
	if q.Unit == "" {
		return formatNumber(q.Value)
	}
	return formatNumber(q.Value) + " " + q.Unit
}

// Ratio is figure / baseline, or NaN without a baseline.
func (r Row) Ratio() float64 {
	if r.Baseline.Value == 0 {
		return math.NaN()
	}
	return r.Figure.Value / r.Baseline.Value
}

// Goal bounds a row's ratio or its figure. The zero Goal sets nothing.
type Goal struct {
	// OnFigure bounds the figure, in its unit; otherwise the ratio.
	OnFigure bool
	// AtMost makes Limit an upper bound; otherwise a lower one.
	AtMost bool
	Limit  float64
	// Proposed marks a goal no issue has set yet: the table shows a †.
	Proposed bool
}

// atLeastRatio and the others build the goals the suites use.
func atLeastRatio(limit float64) Goal { return Goal{Limit: limit} }
func atMostRatio(limit float64) Goal  { return Goal{AtMost: true, Limit: limit} }
func atMostFigure(limit float64) Goal { return Goal{OnFigure: true, AtMost: true, Limit: limit} }

// proposed marks g as not yet agreed.
func (g Goal) proposed() Goal { g.Proposed = true; return g }

func (g Goal) set() bool { return g.Limit != 0 }

// describe renders the goal; unit is the figure's.
func (g Goal) describe(unit string) string {
	if !g.set() {
		return "—"
	}
	op := "≥"
	if g.AtMost {
		op = "≤"
	}
	s := "ratio " + op + " " + formatLimit(g.Limit)
	if g.OnFigure {
		s = op + " " + formatLimit(g.Limit) + " " + unit
	}
	if g.Proposed {
		s += " †"
	}
	return s
}

// met says whether the row meets its goal: "yes", "no", or "—" when there
// is none.
func (r Row) met() string {
	if !r.Goal.set() || r.Err != nil {
		return "—"
	}
	v := r.Ratio()
	if r.Goal.OnFigure {
		v = r.Figure.Value
	}
	ok := v >= r.Goal.Limit
	if r.Goal.AtMost {
		ok = v <= r.Goal.Limit
	}
	if ok {
		return "yes"
	}
	return "**no**"
}

// cells are the row's table cells.
func (r Row) cells() []string {
	if r.Err != nil {
		return []string{r.Measure, r.Size, "failed: " + oneLine(r.Err.Error()), "", "", "", "—"}
	}
	baseline, ratio := "—", "—"
	if r.Baseline.Value != 0 {
		baseline = r.Baseline.String()
		if r.BaselineName != "" {
			baseline += " (" + r.BaselineName + ")"
		}
		ratio = strconv.FormatFloat(r.Ratio(), 'f', 2, 64)
	}
	return []string{r.Measure, r.Size, r.Figure.String(), baseline, ratio,
		r.Goal.describe(r.Figure.Unit), r.met()}
}

// machine is where and when the figures were measured.
type machine struct {
	date      time.Time
	goVersion string
	cpu       string
	cores     int
	took      time.Duration
	// load is the 1-minute load average at the start and at the end: on a
	// busy machine the figures are noisier.
	load [2]string
}

// writeReport writes the heading line, the table and its footnote.
func writeReport(w io.Writer, m machine, rows []Row) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured %s with %s on %s (%d logical CPUs; load average %s at the start, "+
		"%s at the end) by `go run ./bench` in %s.\n\n",
		m.date.UTC().Format("2006-01-02 15:04 MST"), m.goVersion, m.cpu, m.cores,
		m.load[0], m.load[1], m.took.Round(time.Second))
	b.WriteString("| Measure | Size | Figure | Baseline, same run | Ratio | Goal | Met |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		cells := r.cells()
		for i := range cells {
			cells[i] = strings.ReplaceAll(cells[i], "|", `\|`)
		}
		b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
	}
	b.WriteString("\nRatio is figure / baseline. † marks a goal proposed with this table; " +
		"no issue has set one yet.\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// formatNumber prints a figure with the precision a reader needs: two
// significant digits below 1, thousands separators above 1,000.
func formatNumber(v float64) string {
	abs := math.Abs(v)
	switch {
	case abs == 0:
		return "0"
	case abs < 1:
		return strconv.FormatFloat(v, 'g', 2, 64)
	case abs < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case abs < 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	digits := strconv.FormatFloat(math.Round(abs), 'f', 0, 64)
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatLimit prints a goal's bound as written: 0.5, 32, 1,000.
func formatLimit(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) >= 1000 {
		return formatNumber(v)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// oneLine keeps the first line of s, short enough for a table cell.
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}
