package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/opencals-sync/opencals-sync/opencals/sandbox"
)

// TestSandboxCommand runs `opencals-sync sandbox` in-process on a free
// port, reads the URL and credentials it prints, calls the API, then
// cancels the context as Ctrl-C does and expects a clean nil return.
// Not parallel: it checks for leaked goroutines with goleak.VerifyNone,
// which other tests running at the same time would upset.
func TestSandboxCommand(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()

	out, outW := io.Pipe()
	cmd := newRootCmd()
	cmd.SetArgs([]string{"sandbox", "--listen", "127.0.0.1:0", "--customers", "3",
		"--activity", "50ms", "--seed", "5", "--log-format", "json"})
	cmd.SetOut(outW)
	cmd.SetErr(io.Discard)
	done := make(chan error, 1)
	go func() {
		err := cmd.ExecuteContext(runCtx)
		outW.CloseWithError(io.EOF)
		done <- err
	}()

	url, emails := readBanner(t, out)
	go func() { _, _ = io.Copy(io.Discard, out) }() // keep the pipe drained
	if len(emails) != 3 || emails[0] != "customer1@example.test" {
		t.Errorf("printed customers %v; want customer1…3@example.test", emails)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Post(url+"/storefront/auth/sign-in", "application/json",
		strings.NewReader(`{"email":"customer2@example.test","password":"sandbox-password"}`))
	if err != nil {
		t.Fatalf("signing in at the printed URL: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("sign-in without an API key = %d; want 401", resp.StatusCode)
	}
	client.CloseIdleConnections()

	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("sandbox command returned %v after cancel; want nil", err)
		}
	case <-ctx.Done():
		t.Fatal("sandbox command did not stop after cancel")
	}
}

// readBanner reads the printed lines up to "Press Ctrl-C" and returns the
// base URL and the customers' emails.
func readBanner(t *testing.T, r io.Reader) (url string, emails []string) {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) == 3 && fields[0] == "base" && fields[1] == "URL:":
			url = fields[2]
		case len(fields) == 3 && strings.HasSuffix(fields[0], "@example.test"):
			emails = append(emails, fields[0])
			if fields[1] != "sandbox-password" {
				t.Errorf("printed password %q for %s; want sandbox-password", fields[1], fields[0])
			}
		case strings.HasPrefix(sc.Text(), "Press Ctrl-C"):
			if url == "" {
				t.Fatal("banner has no base URL")
			}
			return url, emails
		}
	}
	t.Fatalf("output ended before the banner was complete: %v", sc.Err())
	return "", nil
}

func TestParseLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    sandbox.Limit
		wantErr bool
	}{
		{in: "100/60s", want: sandbox.Limit{Requests: 100, Per: time.Minute}},
		{in: " 20 / 2s ", want: sandbox.Limit{Requests: 20, Per: 2 * time.Second}},
		{in: "-1", want: sandbox.Limit{Requests: -1}},
		{in: "100", wantErr: true},
		{in: "0/1s", wantErr: true},
		{in: "5/soon", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseLimit("rate-limit", tt.in)
		if (err != nil) != tt.wantErr || !cmp.Equal(got, tt.want) {
			t.Errorf("parseLimit(%q) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
