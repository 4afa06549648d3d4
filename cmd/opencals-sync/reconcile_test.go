package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/store"
)

// modeConfig writes a config in mode, with its database in dir, and
// returns its path.
func modeConfig(t *testing.T, dir, mode string) string {
	t.Helper()
	path := filepath.Join(dir, "config.yaml")
	yaml := "database: " + filepath.Join(dir, "state.db") + "\nmode: " + mode + "\n" +
		"stores:\n  - name: main\n    api_key: sfk_test\n" +
		"sync: {max_age: 1h}\nwebhook: {secret: webhook-secret}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatalf("writing config: %v", err)
	}
	return path
}

// seedSources records events of store s1 as polling and webhooks saw them:
// an hour apart from three hours ago, past the default grace of 2h.
func seedSources(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dir, "state.db"), store.Options{})
	if err != nil {
		t.Fatalf("store.Open() = %v", err)
	}
	defer db.Close()
	at := time.Now().Add(-3 * time.Hour)
	seen := []struct {
		resource string
		source   event.Source
	}{
		{"a1", event.SourceWebhook}, {"a1", event.SourcePoll}, // both
		{"a2", event.SourcePoll}, {"a3", event.SourcePoll}, // polling only
		{"a4", event.SourceWebhook}, // webhook only
	}
	for i, s := range seen {
		ev := event.Event{ID: event.ID("s1", event.AppointmentCreated, s.resource, ""),
			Type: event.AppointmentCreated, StoreID: "s1", CustomerID: "c1", Source: s.source,
			CreatedAt: at.Add(time.Duration(i) * time.Minute), OccurredAt: at,
			Data: event.Data{Object: json.RawMessage(`{"id":"` + s.resource + `"}`)}}
		if _, err := db.InsertEvents(ctx, []event.Event{ev}); err != nil {
			t.Fatalf("InsertEvents() = %v", err)
		}
	}
}

func TestStatusShowsReconciliation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode     string
		seed     bool
		want     []string
		wantNone []string
	}{
		{mode: "hybrid", seed: true,
			want: []string{"reconciliation over the last 7 days", "BOTH  POLL ONLY  WEBHOOK ONLY",
				"s1     appointment.created  1     2          1"}},
		{mode: "webhook", want: []string{"nothing yet: no webhook received"}},
		{mode: "poll", seed: true, wantNone: []string{"reconciliation"}},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := modeConfig(t, dir, tc.mode)
			if tc.seed {
				seedSources(t, dir)
			}
			out, err := execute(t, newStatusCmd(testFlags(path)))
			if err != nil {
				t.Fatalf("status = %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("status printed:\n%s\nwant it to contain %q", out, w)
				}
			}
			for _, w := range tc.wantNone {
				if strings.Contains(out, w) {
					t.Errorf("status printed:\n%s\nwant no %q", out, w)
				}
			}
		})
	}
}
