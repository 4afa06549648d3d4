package listen

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
)

// ANSI escapes for the terminal.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// style renders one line, with or without colours.
type style struct {
	now   time.Time
	color bool
}

func (r *Receiver) style(now time.Time) style { return style{now: now, color: r.opts.Color} }

func (s style) paint(code, text string) string {
	if !s.color || text == "" {
		return text
	}
	return code + text + ansiReset
}

func (s style) stamp() string { return s.paint(ansiDim, s.now.Format("15:04:05")) }

// rejected renders a refused request.
func (s style) rejected(code int, why string) string {
	return fmt.Sprintf("%s %s %s %s", s.stamp(), s.paint(ansiRed, "✗"),
		s.paint(ansiRed+ansiBold, "rejected "+strconv.Itoa(code)), why)
}

// verified renders a verified event: type, resource, the fields that tell
// what happened, and marks for retries, tests and repeats.
func (s style) verified(ev event.Event, attempt string, again bool) string {
	kind := ev.Type.Resource()
	color := ansiCyan
	if kind == "order" {
		color = ansiYellow
	}
	var obj object
	_ = json.Unmarshal(ev.Data.Object, &obj) // a field that does not decode stays empty
	line := fmt.Sprintf("%s %s %s %s %s", s.stamp(), s.paint(ansiGreen, "✓"),
		s.paint(color+ansiBold, fmt.Sprintf("%-23s", ev.Type)),
		s.paint(ansiDim, kind+" "+short(obj.ID)), obj.describe(ev))
	var marks []string
	if attempt != "" && attempt != "1" {
		marks = append(marks, "attempt "+attempt)
	}
	if ev.Test {
		marks = append(marks, "test")
	}
	if again {
		marks = append(marks, "again")
	}
	if len(marks) > 0 {
		line += " " + s.paint(ansiDim, "["+strings.Join(marks, ", ")+"]")
	}
	return line
}

// short keeps the start of an id, enough to tell objects apart on screen.
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// object holds the fields of an appointment or order worth a glance.
type object struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Status        string    `json:"status"`
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	Product       struct{ Title string }
	Currency      string `json:"paymentCurrencyCode"`
	PaidTotal     int64  `json:"paidTotal"`
	RefundedTotal int64  `json:"refundedTotal"`
}

// describe words what happened to the object.
func (o object) describe(ev event.Event) string {
	switch ev.Type {
	case event.OrderPaid:
		return fmt.Sprintf("order #%s · paid %s", o.Name, money(o.PaidTotal, o.Currency))
	case event.OrderRefunded:
		return fmt.Sprintf("order #%s · refunded %s of %s paid", o.Name,
			money(o.RefundedTotal, o.Currency), money(o.PaidTotal, o.Currency))
	}
	what := strings.TrimSpace(o.Product.Title + " #" + o.Name)
	switch ev.Type {
	case event.AppointmentRescheduled:
		was := previousSlot(ev.Data.Previous)
		if was != "" {
			was = " (was " + was + ")"
		}
		return fmt.Sprintf("%s · now %s%s", what, slot(o.From, o.To), was)
	case event.AppointmentCanceled:
		was, _ := ev.Data.Previous["status"].(string)
		if was != "" {
			was = " · was " + was
		}
		return fmt.Sprintf("%s · %s%s", what, slot(o.From, o.To), was)
	case event.AppointmentCompleted:
		return fmt.Sprintf("%s · ended %s", what, o.To.UTC().Format("Mon 2 Jan 15:04 UTC"))
	}
	return fmt.Sprintf("%s · %s · %s", what, slot(o.From, o.To), o.Status)
}

// slot words an appointment's time.
func slot(from, to time.Time) string {
	if from.IsZero() {
		return "no time"
	}
	from, to = from.UTC(), to.UTC()
	return from.Format("Mon 2 Jan 15:04") + "–" + to.Format("15:04") + " UTC"
}

func previousSlot(prev map[string]any) string {
	from, errFrom := time.Parse(time.RFC3339, fmt.Sprint(prev["from"]))
	to, errTo := time.Parse(time.RFC3339, fmt.Sprint(prev["to"]))
	if errFrom != nil || errTo != nil {
		return ""
	}
	return slot(from, to)
}

// zeroDecimal reports whether a currency's minor unit is the unit itself.
func zeroDecimal(currency string) bool {
	switch strings.ToUpper(currency) {
	case "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX",
		"VND", "VUV", "XAF", "XOF", "XPF":
		return true
	}
	return false
}

// money words an amount in minor units.
func money(minor int64, currency string) string {
	if zeroDecimal(currency) {
		return strconv.FormatInt(minor, 10) + " " + currency
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, minor/100, minor%100, currency)
}
