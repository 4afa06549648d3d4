package webhook

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/opencals-sync/opencals-sync/event"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// now is the receivers' time in the unit tests.
var now = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// sampleObject is the sample object of an event type (every field the API
// returns), changed by edit when it is not nil.
func sampleObject(t testing.TB, typ event.Type, edit func(m map[string]any)) []byte {
	t.Helper()
	ev, err := event.Sample(typ, now)
	if err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return ev.Data.Object
	}
	var m map[string]any
	if err := json.Unmarshal(ev.Data.Object, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wrap wraps an object in the payload form Opencals announced.
func wrap(t testing.TB, typ string, object []byte) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": "whevt_1", "type": typ, "createdAt": "2026-12-01T08:59:30.000Z",
		"storeId": event.SampleStoreID,
		"data":    map[string]any{"object": json.RawMessage(object)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signOpencals sets the opencals scheme's header for body.
func signOpencals(t testing.TB, h http.Header, secret string, body []byte) {
	t.Helper()
	s, err := event.NewSigner(event.SchemeOpencals, "", []string{secret})
	if err != nil {
		t.Fatal(err)
	}
	s.Sign(h, "", time.Time{}, body)
}
