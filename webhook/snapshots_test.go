package webhook

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/opencals-sync/opencals-sync/event"
)

// TestTrackSnapshotsOnlyInWebhookMode: in webhook mode a new webhook's
// facts reach the stored snapshot (so the completion sweep stays right);
// in hybrid mode polling keeps the snapshot, and a duplicate never counts.
func TestTrackSnapshotsOnlyInWebhookMode(t *testing.T) {
	t.Parallel()
	body := wrap(t, string(event.AppointmentCanceled), sampleObject(t, event.AppointmentCanceled, nil))
	tests := []struct {
		name      string
		track     bool
		posts     int
		wantFacts []event.Type
	}{
		{name: "webhook mode", track: true, posts: 2, wantFacts: []event.Type{event.AppointmentCanceled}},
		{name: "hybrid mode", track: false, posts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db := &memStore{evs: make(map[string]event.Event)}
			s := settings(t, event.SchemeOpencals, testSecret)
			s.TrackSnapshots = tt.track
			recv, err := New(Options{Store: db}, s)
			if err != nil {
				t.Fatal(err)
			}
			for range tt.posts {
				req := httptest.NewRequest(http.MethodPost, testPath, strings.NewReader(string(body)))
				signOpencals(t, req.Header, testSecret, body)
				rec := httptest.NewRecorder()
				recv.ServeHTTP(rec, req)
				if rec.Code/100 != 2 {
					t.Fatalf("POST = %d %s", rec.Code, rec.Body)
				}
			}
			if !slices.Equal(db.facts, tt.wantFacts) {
				t.Errorf("facts applied = %v; want %v", db.facts, tt.wantFacts)
			}
		})
	}
}
