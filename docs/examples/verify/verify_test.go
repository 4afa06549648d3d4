package verify

import (
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"
)

// The secrets docs/examples/vectors.json was signed with (see
// event/docs_test.go): examples, never real.
const (
	secret         = "example-endpoint-secret"
	standardSecret = "whsec_ZXhhbXBsZS1zdGFuZGFyZC13ZWJob29rcy1zZWNyZXQ="
)

type vector struct {
	Type    string            `json:"type"`
	Body    string            `json:"body"`
	Headers map[string]string `json:"headers"`
}

func TestVerifiesTheDaemonsSignatures(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors []vector
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	signedAt := time.Date(2026, 12, 5, 15, 0, 5, 0, time.UTC)
	for _, v := range vectors {
		h := http.Header{}
		for k, val := range v.Headers {
			h.Set(k, val)
		}
		body := []byte(v.Body)
		if !Opencals(h, body, secret) {
			t.Errorf("%s: Opencals() = false; want true", v.Type)
		}
		if !StandardWebhooks(h, body, standardSecret, signedAt.Add(time.Minute), 5*time.Minute) {
			t.Errorf("%s: StandardWebhooks() = false; want true", v.Type)
		}
		tampered := append([]byte(nil), body...)
		tampered[len(tampered)-2] ^= 1
		if Opencals(h, tampered, secret) || StandardWebhooks(h, tampered, standardSecret, signedAt, time.Minute) {
			t.Errorf("%s: a tampered body verified", v.Type)
		}
		if StandardWebhooks(h, body, standardSecret, signedAt.Add(time.Hour), 5*time.Minute) {
			t.Errorf("%s: a replay an hour later verified", v.Type)
		}
	}
}
