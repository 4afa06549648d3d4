package logging

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestNewJSONFollowsTheLevelVar(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var lv slog.LevelVar
	lv.Set(slog.LevelInfo)
	logger, err := New(&buf, "auto", &lv) // a buffer is no terminal: JSON
	if err != nil {
		t.Fatal(err)
	}
	logger.Debug("hidden")
	logger.Info("shown", "customer_id", "c1")
	lv.Set(slog.LevelDebug)
	logger.Debug("now shown")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines; want 2:\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("auto format on a non-terminal is not JSON: %v: %s", err, lines[0])
	}
	if rec["msg"] != "shown" || rec["customer_id"] != "c1" {
		t.Errorf("first record = %v", rec)
	}
}

func TestNewText(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var lv slog.LevelVar
	logger, err := New(&buf, "text", &lv)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("config reloaded", "path", "/etc/x.yaml")
	out := buf.String()
	if !strings.Contains(out, "config reloaded") || strings.Contains(out, "\x1b[") {
		t.Errorf("text format to a non-terminal = %q; want plain text without colours", out)
	}
}

func TestParseLevelAndFormatErrors(t *testing.T) {
	t.Parallel()
	if l, err := ParseLevel("warn"); err != nil || l != slog.LevelWarn {
		t.Errorf("ParseLevel(warn) = %v, %v", l, err)
	}
	if _, err := ParseLevel("loud"); err == nil || !strings.Contains(err.Error(), "loud") {
		t.Errorf("ParseLevel(loud) = %v; want an error naming it", err)
	}
	if _, err := New(&bytes.Buffer{}, "xml", &slog.LevelVar{}); err == nil {
		t.Error("New(format xml) succeeded")
	}
}
