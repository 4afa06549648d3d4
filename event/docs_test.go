package event

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite docs/events and docs/examples/vectors.json")

// docsTime is the fixed time of the documented examples.
var docsTime = time.Date(2026, 12, 5, 15, 0, 5, 0, time.UTC)

// The secrets of the documented test vectors: examples only, never real.
const (
	docsSecret         = "example-endpoint-secret"
	docsStandardSecret = "whsec_" + "ZXhhbXBsZS1zdGFuZGFyZC13ZWJob29rcy1zZWNyZXQ="
)

// vector is one signed delivery the verification examples must accept.
type vector struct {
	Type    Type              `json:"type"`
	Body    string            `json:"body"`
	Headers map[string]string `json:"headers"`
}

// TestDocumentedExamples keeps docs/events (one example per type, what the
// README links to) and docs/examples/vectors.json (signed deliveries the Go
// and TypeScript verification examples check) equal to what the code
// produces. Run with -update after changing the envelope or the samples.
func TestDocumentedExamples(t *testing.T) {
	t.Parallel()
	var vectors []vector
	for _, typ := range Types {
		ev, err := Sample(typ, docsTime)
		if err != nil {
			t.Fatal(err)
		}
		pretty, err := json.MarshalIndent(ev, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		checkFile(t, filepath.Join("..", "docs", "events", string(typ)+".json"), append(pretty, '\n'))

		body, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		vectors = append(vectors, signedVector(t, ev, body))
	}
	all, err := json.MarshalIndent(vectors, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join("..", "docs", "examples", "vectors.json"), append(all, '\n'))
}

// signedVector signs body with both schemes, as the dispatcher would.
func signedVector(t *testing.T, ev Event, body []byte) vector {
	t.Helper()
	h := http.Header{}
	opencals, err := NewSigner(SchemeOpencals, DefaultSignatureHeader, []string{docsSecret})
	if err != nil {
		t.Fatal(err)
	}
	opencals.Sign(h, ev.ID, docsTime, body)
	standard, err := NewSigner(SchemeStandardWebhooks, "", []string{docsStandardSecret})
	if err != nil {
		t.Fatal(err)
	}
	standard.Sign(h, ev.ID, docsTime, body)
	headers := make(map[string]string)
	for k := range h {
		headers[k] = h.Get(k)
	}
	return vector{Type: ev.Type, Body: string(body), Headers: headers}
}

func checkFile(t *testing.T, path string, want []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./event -run TestDocumentedExamples -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run go test ./event -run TestDocumentedExamples -update", path)
	}
}

func TestDocsStandardSecretDecodes(t *testing.T) {
	t.Parallel()
	if _, err := base64.StdEncoding.DecodeString(docsStandardSecret[len("whsec_"):]); err != nil {
		t.Fatal(err)
	}
}
