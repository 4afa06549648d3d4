package sdnotify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// listen opens a datagram socket standing in for systemd's, at a path in a
// short temporary directory (socket paths are limited to about 108 bytes,
// which t.TempDir's long names can pass) or, for "@", an abstract name.
func listen(t *testing.T, kind string) (*net.UnixConn, string) {
	t.Helper()
	name := "@opencals-sdnotify-" + strconv.Itoa(os.Getpid()) + "-" +
		strings.ReplaceAll(t.Name(), "/", "-")
	if kind == "path" {
		dir, err := os.MkdirTemp("", "sdn")
		if err != nil {
			t.Fatalf("making socket directory: %v", err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		name = filepath.Join(dir, "notify")
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatalf("listening on %s: %v", name, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, name
}

// receive reads one notification and splits it into its assignments. The
// deadline only guards against a hang: the datagram is normally there.
func receive(t *testing.T, conn *net.UnixConn) []string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatalf("setting read deadline: %v", err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("receiving a notification: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(buf[:n]), "\n"), "\n")
}

func newNotifier(t *testing.T, opts Options, environ ...string) *Notifier {
	t.Helper()
	n, err := FromEnviron(environ, 42, opts)
	if err != nil {
		t.Fatalf("FromEnviron(%q) = %v", environ, err)
	}
	return n
}

func TestFromEnviron(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		environ     []string
		wantEnabled bool
		wantPeriod  time.Duration
		wantErr     error
	}{
		{name: "outside systemd", environ: []string{"HOME=/root", "WATCHDOG_USEC=1000000"}},
		{name: "path socket, no watchdog", environ: []string{"NOTIFY_SOCKET=/run/notify"},
			wantEnabled: true},
		{name: "abstract socket", environ: []string{"NOTIFY_SOCKET=@/org/notify"},
			wantEnabled: true},
		{name: "watchdog pings at half the interval",
			environ:     []string{"NOTIFY_SOCKET=/run/n", "WATCHDOG_USEC=30000000"},
			wantEnabled: true, wantPeriod: 15 * time.Second},
		{name: "watchdog for this pid",
			environ:     []string{"NOTIFY_SOCKET=/run/n", "WATCHDOG_USEC=2000000", "WATCHDOG_PID=42"},
			wantEnabled: true, wantPeriod: time.Second},
		{name: "watchdog for another pid",
			environ:     []string{"NOTIFY_SOCKET=/run/n", "WATCHDOG_USEC=2000000", "WATCHDOG_PID=7"},
			wantEnabled: true},
		{name: "last entry wins",
			environ: []string{"NOTIFY_SOCKET=/run/n", "WATCHDOG_USEC=2000000",
				"WATCHDOG_USEC=8000000"},
			wantEnabled: true, wantPeriod: 4 * time.Second},
		{name: "vsock socket", environ: []string{"NOTIFY_SOCKET=vsock:2:1234"},
			wantErr: ErrUnsupportedSocket},
		{name: "malformed interval",
			environ: []string{"NOTIFY_SOCKET=/run/n", "WATCHDOG_USEC=30s"},
			wantErr: ErrBadWatchdog},
		{name: "malformed pid",
			environ: []string{"NOTIFY_SOCKET=/run/n", "WATCHDOG_USEC=1", "WATCHDOG_PID=x"},
			wantErr: ErrBadWatchdog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := FromEnviron(tt.environ, 42, Options{})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("FromEnviron(%q) error = %v; want %v", tt.environ, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := n.Enabled(); got != tt.wantEnabled {
				t.Errorf("Enabled() = %v; want %v", got, tt.wantEnabled)
			}
			if got := n.WatchdogPeriod(); got != tt.wantPeriod {
				t.Errorf("WatchdogPeriod() = %v; want %v", got, tt.wantPeriod)
			}
		})
	}
}

// TestHookNotifiesLifecycle drives the callback the daemon gets through a
// start, a reload and a stop, and reads what systemd would.
func TestHookNotifiesLifecycle(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"path", "@"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			conn, socket := listen(t, kind)
			notify := newNotifier(t, Options{}, "NOTIFY_SOCKET="+socket).Hook()

			steps := []struct {
				state string
				want  []string
			}{
				{state: "ready", want: []string{"READY=1", "STATUS=ready"}},
				{state: "reloading", want: []string{"RELOADING=1", "STATUS=reloading config",
					"MONOTONIC_USEC=*"}},
				{state: "ready", want: []string{"READY=1", "STATUS=ready"}},
				{state: "stopping", want: []string{"STOPPING=1", "STATUS=stopping"}},
				{state: "draining", want: []string{"STATUS=draining"}},
			}
			for _, step := range steps {
				before, _ := monotonicUSec()
				notify(step.state)
				got := maskMonotonic(t, receive(t, conn), before)
				if diff := cmp.Diff(step.want, got); diff != "" {
					t.Errorf("notify(%q) sent (-want +got):\n%s", step.state, diff)
				}
			}
		})
	}
}

// maskMonotonic replaces a MONOTONIC_USEC value with "*" after checking it
// lies between before and now on CLOCK_MONOTONIC.
func maskMonotonic(t *testing.T, msg []string, before uint64) []string {
	t.Helper()
	for i, a := range msg {
		v, ok := strings.CutPrefix(a, "MONOTONIC_USEC=")
		if !ok {
			continue
		}
		got, err := strconv.ParseUint(v, 10, 64)
		after, _ := monotonicUSec()
		if err != nil || got < before || got > after {
			t.Errorf("MONOTONIC_USEC=%s; want a number in [%d, %d]", v, before, after)
		}
		msg[i] = "MONOTONIC_USEC=*"
	}
	return msg
}

func TestRunWatchdogPingsEveryPeriod(t *testing.T) {
	t.Parallel()
	conn, socket := listen(t, "path")
	clock := clockwork.NewFakeClock()
	n := newNotifier(t, Options{Clock: clock},
		"NOTIFY_SOCKET="+socket, "WATCHDOG_USEC=20000000", "WATCHDOG_PID=42")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- n.RunWatchdog(ctx) }()

	for i := range 3 {
		if got := receive(t, conn); !cmp.Equal(got, []string{"WATCHDOG=1"}) {
			t.Fatalf("ping %d = %q; want WATCHDOG=1", i, got)
		}
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatalf("waiting for the watchdog's ticker: %v", err)
		}
		clock.Advance(10 * time.Second)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunWatchdog after cancel = %v; want nil", err)
	}
}

func TestRunWatchdogWithoutWatchdogWaits(t *testing.T) {
	t.Parallel()
	n := newNotifier(t, Options{}, "NOTIFY_SOCKET=/nonexistent/notify")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := n.RunWatchdog(ctx); err != nil {
		t.Errorf("RunWatchdog = %v; want nil", err)
	}
}

func TestSendOutsideSystemdIsNoop(t *testing.T) {
	t.Parallel()
	for _, n := range []*Notifier{nil, {}, newNotifier(t, Options{}, "HOME=/")} {
		if err := n.Ready(t.Context(), "ready"); err != nil {
			t.Errorf("Ready without NOTIFY_SOCKET = %v; want nil", err)
		}
	}
}

// TestPingLogsChangesOnly: a dead socket is reported once, not at every
// tick, and its recovery once.
func TestPingLogsChangesOnly(t *testing.T) {
	t.Parallel()
	_, live := listen(t, "path")
	dead := filepath.Join(filepath.Dir(live), "gone")
	tests := []struct {
		name        string
		socket      string
		wasFailing  bool
		wantFailing bool
		wantLog     string
	}{
		{name: "first failure", socket: dead, wantFailing: true,
			wantLog: "systemd watchdog ping failed"},
		{name: "still failing", socket: dead, wasFailing: true, wantFailing: true},
		{name: "recovered", socket: live, wasFailing: true,
			wantLog: "systemd watchdog ping recovered"},
		{name: "healthy", socket: live},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, nil))
			n := newNotifier(t, Options{Logger: logger}, "NOTIFY_SOCKET="+tt.socket,
				"WATCHDOG_USEC=1000000")
			if got := n.ping(t.Context(), tt.wasFailing); got != tt.wantFailing {
				t.Errorf("ping(%v) = %v; want %v", tt.wasFailing, got, tt.wantFailing)
			}
			got := logs.String()
			if tt.wantLog == "" && got != "" || !strings.Contains(got, tt.wantLog) {
				t.Errorf("ping(%v) logged %q; want %q", tt.wasFailing, got, tt.wantLog)
			}
			if tt.wantLog != "" && !strings.Contains(got, "component=sdnotify") {
				t.Errorf("ping logged %q; want it scoped to component=sdnotify", got)
			}
		})
	}
}

func TestSendErrorNamesSocket(t *testing.T) {
	t.Parallel()
	socket := filepath.Join(t.TempDir(), "none")
	n := newNotifier(t, Options{}, "NOTIFY_SOCKET="+socket)
	err := n.Stopping(t.Context(), "stopping")
	if err == nil || !strings.Contains(err.Error(), socket) {
		t.Errorf("Stopping to a missing socket = %v; want an error naming %s", err, socket)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("Stopping error %v does not wrap the dial error", err)
	}
}
