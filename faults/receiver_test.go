//go:build faults

package faults

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
)

// post sends ev to url signed with secret and returns the status, 0 when
// there was no answer.
func post(t *testing.T, url, secret string, ev event.Event) int {
	t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := event.NewSigner(event.SchemeOpencals, "", []string{secret})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(event.HeaderEventID, ev.ID)
	req.Header.Set(event.HeaderEventType, string(ev.Type))
	signer.Sign(req.Header, ev.ID, time.Now(), body)
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestReceiverRecordsAndMisbehaves(t *testing.T) {
	t.Parallel()
	answers := []Answer{Accept, Fail, Drop}
	r, err := StartReceiver(ReceiverOptions{Secret: "s3cret", Answer: func() Answer {
		a := answers[0]
		answers = answers[1:]
		return a
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	obj, _ := json.Marshal(map[string]any{"id": "a1", "from": t0, "to": t0.Add(time.Hour)})
	ev := event.Event{ID: "evt_1", Type: event.AppointmentCreated, Data: event.Data{Object: obj}}

	statuses := []int{post(t, r.URL(), "s3cret", ev), post(t, r.URL(), "s3cret", ev),
		post(t, r.URL(), "s3cret", ev)}
	if want := []int{http.StatusNoContent, http.StatusInternalServerError, 0}; !slices.Equal(
		statuses, want) {
		t.Errorf("statuses = %v; want %v", statuses, want)
	}
	r.SetAnswer(func() Answer { return Accept })
	if got := post(t, r.URL(), "wrong", ev); got != http.StatusUnauthorized {
		t.Errorf("badly signed delivery = %d; want 401", got)
	}
	if err := r.Down(); err != nil {
		t.Fatal(err)
	}
	if got := post(t, r.URL(), "s3cret", ev); got != 0 {
		t.Errorf("delivery while down = %d; want no answer", got)
	}
	if err := r.Up(); err != nil {
		t.Fatal(err)
	}
	if got := post(t, r.URL(), "s3cret", ev); got != http.StatusNoContent {
		t.Errorf("delivery after Up = %d; want 204", got)
	}

	ds := r.Deliveries()
	var got []string
	for _, d := range ds {
		got = append(got, d.Answer.String())
	}
	if want := "accept fail drop accept"; strings.Join(got, " ") != want {
		t.Errorf("answers recorded = %v; want %s", got, want)
	}
	if d := ds[0]; !d.Accepted || d.ResourceID != "a1" || !d.To.Equal(t0.Add(time.Hour)) {
		t.Errorf("first delivery = %+v; want accepted, about a1 ending at %v", d, t0.Add(time.Hour))
	}
	if ds[1].Accepted || ds[2].Accepted || ds[2].Body != nil {
		t.Errorf("failed and dropped deliveries = %+v, %+v; want not accepted, no body", ds[1],
			ds[2])
	}
	if r.Rejected() != 1 {
		t.Errorf("Rejected() = %d; want 1", r.Rejected())
	}
}
