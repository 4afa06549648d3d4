package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/opencals-sync/opencals-sync/event"
)

// TestListenCommand runs `opencals-sync listen` in-process on a free port,
// posts a signed and a forged delivery to the URL it prints, then cancels
// the context as Ctrl-C does and reads the summary.
// Not parallel: it checks for leaked goroutines with goleak.VerifyNone,
// which other tests running at the same time would upset.
func TestListenCommand(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	eventsFile := filepath.Join(t.TempDir(), "events.jsonl")

	out, outW := io.Pipe()
	cmd := newListenCmd(testFlags(""))
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--secret", "s3cret",
		"--events-out", eventsFile, "--color", "never"})
	cmd.SetOut(outW)
	cmd.SetErr(io.Discard)
	done := make(chan error, 1)
	go func() {
		err := cmd.ExecuteContext(runCtx)
		outW.CloseWithError(io.EOF)
		done <- err
	}()
	// The receiver prints while it answers: read the output as it comes.
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	banner := nextLine(t, lines)
	url, _, ok := strings.Cut(strings.TrimPrefix(banner, "listening on "), " ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("banner %q names no URL", banner)
	}

	ev, err := event.Sample(event.AppointmentCanceled, time.Now())
	if err != nil {
		t.Fatalf("Sample() = %v", err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("encoding sample: %v", err)
	}
	if got := postSigned(t, url, "s3cret", ev.ID, body); got != http.StatusNoContent {
		t.Errorf("signed delivery answered %d; want 204", got)
	}
	if line := nextLine(t, lines); !strings.Contains(line, "✓ appointment.canceled") ||
		!strings.Contains(line, "was scheduled") {
		t.Errorf("printed %q; want the verified cancellation", line)
	}
	if got := postSigned(t, url, "forged", ev.ID, body); got != http.StatusUnauthorized {
		t.Errorf("forged delivery answered %d; want 401", got)
	}
	if line := nextLine(t, lines); !strings.Contains(line, "✗ rejected 401") {
		t.Errorf("printed %q; want the rejection", line)
	}

	stop()
	var rest bytes.Buffer
	for line := range lines {
		rest.WriteString(line + "\n")
	}
	if err := <-done; err != nil {
		t.Errorf("listen returned %v; want nil after Ctrl-C", err)
	}
	if want := "1 verified (1 appointment.canceled), 0 duplicates, 1 rejected"; !strings.Contains(
		rest.String(), want) {
		t.Errorf("summary %q lacks %q", rest.String(), want)
	}
	saved, err := os.ReadFile(eventsFile)
	if err != nil || string(saved) != string(body)+"\n" {
		t.Errorf("events file = %q (%v); want the one verified body", saved, err)
	}
}

// nextLine waits for the next line of output.
func nextLine(t *testing.T, lines <-chan string) string {
	t.Helper()
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("output ended")
		}
		return line
	case <-time.After(20 * time.Second):
		t.Fatalf("no output line within 20s")
	}
	return ""
}

func postSigned(t *testing.T, url, secret, id string, body []byte) int {
	t.Helper()
	signer, err := event.NewSigner(event.SchemeOpencals, "", []string{secret})
	if err != nil {
		t.Fatalf("NewSigner() = %v", err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("NewRequest() = %v", err)
	}
	signer.Sign(req.Header, id, time.Now(), body)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s = %v", url, err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestListenNeedsASecret(t *testing.T) {
	t.Parallel()
	_, err := execute(t, newListenCmd(testFlags("")), "--listen", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "--secret") {
		t.Errorf("listen without a secret = %v; want an error naming --secret", err)
	}
}
