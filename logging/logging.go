// Package logging builds the daemon's slog handler: tint colours on a
// terminal, JSON lines otherwise, with a level that can change at run time.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/lmittmann/tint"
	"github.com/mattn/go-isatty"
)

// Formats lists the accepted values for the log format.
var Formats = []string{"auto", "text", "json"}

// ParseLevel reads a level name: debug, info, warn or error.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// New returns a logger writing to w. Format "auto" picks tint when w is a
// terminal and JSON otherwise; "text" forces tint, "json" forces JSON. The
// level is read from lv on every record, so changing it takes effect at once.
func New(w io.Writer, format string, lv *slog.LevelVar) (*slog.Logger, error) {
	switch strings.ToLower(format) {
	case "auto", "":
		if isTerminal(w) {
			return slog.New(tintHandler(w, lv, false)), nil
		}
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})), nil
	case "text":
		return slog.New(tintHandler(w, lv, !isTerminal(w))), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lv})), nil
	default:
		return nil, fmt.Errorf("log format %q: want auto, text or json", format)
	}
}

func tintHandler(w io.Writer, lv *slog.LevelVar, noColor bool) slog.Handler {
	return tint.NewTextHandler(w, &tint.Options{
		Level:      lv,
		TimeFormat: time.DateTime,
		NoColor:    noColor,
	})
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
