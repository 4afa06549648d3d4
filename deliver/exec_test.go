package deliver

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
)

func TestExecHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		script    string
		timeout   time.Duration
		wantErr   string // "" means delivered
		wantStdin bool
	}{
		{name: "success reads stdin and env", wantStdin: true,
			script: `cat > "$OUT/stdin"; ` +
				`printf '%s %s %s' "$OPENCALS_EVENT_ID" "$OPENCALS_EVENT_TYPE" ` +
				`"$OPENCALS_DELIVERY_ATTEMPT" > "$OUT/env"; ` +
				`env | grep -c '^OPENCALS_SYNC_' > "$OUT/leaked" || true`},
		{name: "failure", script: `echo "crm said no" >&2; exit 3`,
			wantErr: "exit status 3: crm said no"},
		{name: "timeout kills the group", timeout: 200 * time.Millisecond,
			script:  `sleep 30 & echo $! > "$OUT/child"; wait`,
			wantErr: "killed after 200ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			h, err := NewExecHandler(ExecOptions{
				Command: []string{"/bin/sh", "-c", tt.script}, Timeout: tt.timeout,
				Environ: []string{"PATH=" + os.Getenv("PATH"), "OUT=" + dir,
					"OPENCALS_SYNC_STORES_0_API_KEY=sfk_should_not_leak"},
			})
			if err != nil {
				t.Fatalf("NewExecHandler() = %v", err)
			}
			_, err = h.Send(context.Background(), Delivery{EventID: "evt_1",
				Type: event.OrderPaid, Body: trickyBody, Attempt: 2})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Send() = %v; want delivered", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Send() = %v; want an error containing %q", err, tt.wantErr)
			}
			if tt.wantStdin {
				checkFile(t, filepath.Join(dir, "stdin"), string(trickyBody))
				checkFile(t, filepath.Join(dir, "env"), "evt_1 order.paid 2")
				checkFile(t, filepath.Join(dir, "leaked"), "0\n")
			}
			if b, err := os.ReadFile(filepath.Join(dir, "child")); err == nil {
				waitGone(t, strings.TrimSpace(string(b)))
			}
		})
	}
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	if string(b) != want {
		t.Errorf("%s = %q; want %q", filepath.Base(path), b, want)
	}
}

// waitGone checks that the process with that pid has been killed: a
// killed child of a killed shell is reaped by init, which can take a
// moment.
func waitGone(t *testing.T, pidText string) {
	t.Helper()
	var pid int
	for _, c := range pidText {
		pid = pid*10 + int(c-'0')
	}
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		stat, err := os.ReadFile(filepath.Join("/proc", pidText, "stat"))
		if err == nil && strings.Contains(string(stat), ") Z ") {
			return // a zombie: dead, waiting for its parent
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("grandchild %d outlived the timeout", pid)
}

func TestExecHandlerEnvironmentDropsOwnVariables(t *testing.T) {
	t.Parallel()
	got := withoutOwnVariables([]string{"HOME=/root", "OPENCALS_SYNC_STORES_0_API_KEY=x",
		"OPENCALS_EVENT_ID=kept"})
	want := []string{"HOME=/root", "OPENCALS_EVENT_ID=kept"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("withoutOwnVariables() = %v; want %v", got, want)
	}
}

func TestNewExecHandlerRejectsEmptyCommand(t *testing.T) {
	t.Parallel()
	if _, err := NewExecHandler(ExecOptions{}); !errors.Is(err, ErrInvalidEndpoint) {
		t.Errorf("NewExecHandler(no command) = %v; want ErrInvalidEndpoint", err)
	}
}
