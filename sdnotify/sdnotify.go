// Package sdnotify tells systemd about the daemon's life cycle through the
// notification socket it names in $NOTIFY_SOCKET (the sd_notify protocol),
// and feeds its watchdog. Outside systemd every call is a no-op.
//
// The environment is passed in rather than read here, so that tests can
// point several notifiers at their own sockets at the same time.
package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
)

// The environment variables systemd sets for a Type=notify service.
const (
	EnvSocket       = "NOTIFY_SOCKET"
	EnvWatchdogUSec = "WATCHDOG_USEC"
	EnvWatchdogPID  = "WATCHDOG_PID"
)

// Errors FromEnviron reports about a malformed environment.
var (
	// ErrUnsupportedSocket means NOTIFY_SOCKET is neither a path nor an
	// abstract ("@") name, such as the vsock: form meant for VMs.
	ErrUnsupportedSocket = errors.New("unsupported notification socket")
	// ErrBadWatchdog means WATCHDOG_USEC or WATCHDOG_PID does not parse.
	ErrBadWatchdog = errors.New("malformed watchdog setting")
)

// sendTimeout bounds one datagram when the caller's context has no
// deadline: a service manager that stopped reading must not hang us.
const sendTimeout = 2 * time.Second

// Options configure a Notifier. The zero value is ready to use.
type Options struct {
	// Clock paces the watchdog. Default the real clock.
	Clock clockwork.Clock
	// Logger receives send failures from Hook and RunWatchdog, which have
	// no caller to return them to. Default: discarded.
	Logger *slog.Logger
}

// Notifier sends notifications to the service manager. The zero value, and
// one built from an environment without NOTIFY_SOCKET, sends nothing.
type Notifier struct {
	socket   string        // "" disables every notification
	watchdog time.Duration // ping period; 0 disables the watchdog
	clock    clockwork.Clock
	logger   *slog.Logger
}

// FromEnviron builds a Notifier from environ (os.Environ() in production)
// for the process pid. Later entries override earlier ones. The watchdog is
// on when WATCHDOG_USEC is set and WATCHDOG_PID, if set, names pid; it
// pings at half the interval, as systemd recommends.
func FromEnviron(environ []string, pid int, opts Options) (*Notifier, error) {
	env := lookup(environ, EnvSocket, EnvWatchdogUSec, EnvWatchdogPID)
	n := &Notifier{socket: env[EnvSocket], clock: opts.Clock, logger: opts.Logger}
	if n.clock == nil {
		n.clock = clockwork.NewRealClock()
	}
	if n.logger == nil {
		n.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	n.logger = n.logger.With("component", "sdnotify")
	if n.socket == "" {
		return n, nil
	}
	if !strings.HasPrefix(n.socket, "/") && !strings.HasPrefix(n.socket, "@") {
		return nil, fmt.Errorf("%s=%q: %w", EnvSocket, n.socket, ErrUnsupportedSocket)
	}
	period, err := watchdogPeriod(env[EnvWatchdogUSec], env[EnvWatchdogPID], pid)
	if err != nil {
		return nil, err
	}
	n.watchdog = period
	return n, nil
}

// lookup returns the values of keys in environ; the last entry wins.
func lookup(environ []string, keys ...string) map[string]string {
	env := make(map[string]string, len(keys))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && slices.Contains(keys, k) {
			env[k] = v
		}
	}
	return env
}

// watchdogPeriod is half of WATCHDOG_USEC, or 0 when the watchdog is off or
// belongs to another process.
func watchdogPeriod(usec, pidVar string, pid int) (time.Duration, error) {
	if usec == "" {
		return 0, nil
	}
	us, err := strconv.ParseUint(usec, 10, 63)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", EnvWatchdogUSec, usec, ErrBadWatchdog)
	}
	if pidVar != "" {
		owner, err := strconv.Atoi(pidVar)
		if err != nil || owner <= 0 {
			return 0, fmt.Errorf("%s=%q: %w", EnvWatchdogPID, pidVar, ErrBadWatchdog)
		}
		if owner != pid {
			return 0, nil
		}
	}
	return time.Duration(us) * time.Microsecond / 2, nil
}

// Enabled reports whether notifications go anywhere.
func (n *Notifier) Enabled() bool { return n != nil && n.socket != "" }

// Send sends the assignments (such as "READY=1") as one datagram.
func (n *Notifier) Send(ctx context.Context, assignments ...string) error {
	if !n.Enabled() || len(assignments) == 0 {
		return nil
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unixgram", n.socket)
	if err != nil {
		return fmt.Errorf("connecting to notification socket %s: %w", n.socket, err)
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(sendTimeout)
	}
	if err := conn.SetWriteDeadline(deadline); err != nil {
		return fmt.Errorf("notifying %s: %w", n.socket, err)
	}
	msg := strings.Join(assignments, "\n") + "\n"
	if _, err := conn.Write([]byte(msg)); err != nil {
		return fmt.Errorf("notifying %s: %w", n.socket, err)
	}
	return nil
}

// Ready says start-up (or a reload) finished, with a status line for
// `systemctl status`.
func (n *Notifier) Ready(ctx context.Context, status string) error {
	return n.Send(ctx, "READY=1", "STATUS="+status)
}

// Reloading says a reload started; Ready must follow when it ends. The
// monotonic timestamp is what Type=notify-reload (systemd 253+) requires;
// plain Type=notify ignores it.
func (n *Notifier) Reloading(ctx context.Context, status string) error {
	msg := []string{"RELOADING=1", "STATUS=" + status}
	if usec, ok := monotonicUSec(); ok {
		msg = append(msg, "MONOTONIC_USEC="+strconv.FormatUint(usec, 10))
	}
	return n.Send(ctx, msg...)
}

// Stopping says shutdown started.
func (n *Notifier) Stopping(ctx context.Context, status string) error {
	return n.Send(ctx, "STOPPING=1", "STATUS="+status)
}

// Status sets the free-form status line alone.
func (n *Notifier) Status(ctx context.Context, status string) error {
	return n.Send(ctx, "STATUS="+status)
}

// Hook adapts the Notifier to a life-cycle callback taking "ready",
// "reloading" or "stopping" (any other word becomes the status line).
// Failures are logged: the caller has nowhere to send them.
func (n *Notifier) Hook() func(state string) {
	return func(state string) {
		ctx := context.Background()
		var err error
		switch state {
		case "ready":
			err = n.Ready(ctx, "ready")
		case "reloading":
			err = n.Reloading(ctx, "reloading config")
		case "stopping":
			err = n.Stopping(ctx, "stopping")
		default:
			err = n.Status(ctx, state)
		}
		if err != nil {
			n.logger.Warn("systemd notification failed", "state", state, "err", err)
		}
	}
}
