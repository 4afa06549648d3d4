package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/event"
)

// memStore is an outbox in memory, so that the fuzzer runs thousands of
// inputs a second; the loopback tests use SQLite.
type memStore struct {
	mu    gosync.Mutex
	evs   map[string]event.Event
	facts []event.Type // ApplyWebhookFacts calls, by event type
}

func (m *memStore) InsertEvents(_ context.Context, evs []event.Event) ([]event.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var inserted []event.Event
	for _, ev := range evs {
		if _, dup := m.evs[ev.ID]; !dup {
			m.evs[ev.ID] = ev
			inserted = append(inserted, ev)
		}
	}
	return inserted, nil
}

func (m *memStore) ApplyWebhookFacts(_ context.Context, ev event.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.facts = append(m.facts, ev.Type)
	return nil
}

// fuzzMaxBody bounds fuzzed bodies; larger ones must get 413.
const fuzzMaxBody = 64 << 10

// FuzzReceiver drives the receiver's read, verify, parse and map path with
// arbitrary bodies, signed correctly or carrying an arbitrary signature.
// The seeds are in testdata/fuzz/FuzzReceiver. Run it with
//
//	go test ./webhook -run '^$' -fuzz '^FuzzReceiver$' -fuzztime 20s -fuzzminimizetime 100x
//
// Bounding minimization by count keeps the workers fuzzing: by default
// each new interesting input may be minimized for up to a minute.
func FuzzReceiver(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, signature string, signed bool) {
		db := &memStore{evs: make(map[string]event.Event)}
		s := settings(t, event.SchemeOpencals, testSecret)
		s.MaxBody = fuzzMaxBody
		recv, err := New(Options{Store: db, Clock: clockwork.NewFakeClockAt(now)}, s)
		if err != nil {
			t.Fatal(err)
		}
		serve := func() *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, testPath, bytes.NewReader(body))
			if signed {
				signOpencals(t, req.Header, testSecret, body)
			} else {
				req.Header.Set(event.DefaultSignatureHeader, signature)
			}
			rec := httptest.NewRecorder()
			recv.ServeHTTP(rec, req)
			return rec
		}
		rec := serve()
		switch {
		case len(body) > fuzzMaxBody:
			checkRefused(t, rec, http.StatusRequestEntityTooLarge, db)
		case !signed:
			checkRefused(t, rec, http.StatusUnauthorized, db)
		case rec.Code == http.StatusBadRequest:
			checkRefused(t, rec, http.StatusBadRequest, db)
			if _, err := Map(body, now); err == nil {
				t.Errorf("400 for a body Map accepts")
			}
		default:
			checkAccepted(t, rec, body, db)
			if again := serve(); again.Code != http.StatusOK {
				t.Errorf("the same delivery again = %d; want 200", again.Code)
			}
		}
	})
}

// checkRefused checks the status of a refused request and that nothing was
// stored.
func checkRefused(t *testing.T, rec *httptest.ResponseRecorder, want int, db *memStore) {
	t.Helper()
	if rec.Code != want {
		t.Errorf("ServeHTTP = %d %q; want %d", rec.Code, rec.Body, want)
	}
	if len(db.evs) != 0 {
		t.Errorf("a refused request stored %d events", len(db.evs))
	}
	if want == http.StatusUnauthorized && rec.Body.String() != "Unauthorized\n" {
		t.Errorf("401 answer = %q; want no detail", rec.Body)
	}
}

// checkAccepted checks an accepted delivery: one event stored, the one the
// answer names and Map builds, well formed and without credentials.
func checkAccepted(t *testing.T, rec *httptest.ResponseRecorder, body []byte, db *memStore) {
	t.Helper()
	if rec.Code != http.StatusAccepted {
		t.Fatalf("ServeHTTP of a signed body = %d %q; want 202 or 400", rec.Code, rec.Body)
	}
	var a answer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("202 answer %q: %v", rec.Body, err)
	}
	ev, ok := db.evs[a.ID]
	if len(db.evs) != 1 || !ok {
		t.Fatalf("stored %d events, answer names %s; want that one event", len(db.evs), a.ID)
	}
	mapped, err := Map(body, now)
	if err != nil || mapped.ID != ev.ID {
		t.Errorf("Map(body) = %s, %v; want the stored %s", mapped.ID, err, ev.ID)
	}
	switch {
	case !ev.Type.Valid(), ev.StoreID == "", ev.ResourceID == "",
		ev.Source != event.SourceWebhook, !strings.HasPrefix(ev.ID, "evt_"):
		t.Errorf("stored event %+v is not well formed", ev)
	}
	redacted, err := event.Redact(ev.Data.Object)
	if err != nil || !bytes.Equal(redacted, ev.Data.Object) {
		t.Errorf("data.object %q still holds a credential, or is not JSON (%v)",
			ev.Data.Object, err)
	}
}
