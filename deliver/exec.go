package deliver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/event"
)

// Environment variables a command receives besides its event on stdin.
const (
	EnvEventID   = "OPENCALS_EVENT_ID"
	EnvEventType = "OPENCALS_EVENT_TYPE"
	EnvAttempt   = "OPENCALS_DELIVERY_ATTEMPT"
)

// maxOutput bounds the output of a command kept for the debug log.
const maxOutput = 4 << 10

// waitDelay bounds how long a command's pipes may stay open after it was
// killed (a grandchild that escaped the process group).
const waitDelay = 2 * time.Second

// ExecOptions configure an ExecHandler.
type ExecOptions struct {
	// Command is the program and its arguments. Required.
	Command []string
	// Timeout bounds one run; then the command's whole process group is
	// killed. Zero means DefaultTimeout.
	Timeout time.Duration
	// Environ is the environment the command starts from; nil means this
	// process's. The OPENCALS_SYNC_ variables are dropped either way: they
	// can hold the API key.
	Environ []string
	// Logger receives the command's output at debug level; nil discards it.
	Logger *slog.Logger
}

// ExecHandler runs a command per event: the event JSON on stdin, its id,
// type and attempt number in the environment. Exit status 0 is a delivery.
type ExecHandler struct {
	argv    []string
	timeout time.Duration
	environ []string
	logger  *slog.Logger
}

var (
	_ Handler = (*ExecHandler)(nil)
	_ Sender  = (*ExecHandler)(nil)
)

// NewExecHandler checks the options and returns a handler. An empty
// command wraps ErrInvalidEndpoint.
func NewExecHandler(opts ExecOptions) (*ExecHandler, error) {
	if len(opts.Command) == 0 || opts.Command[0] == "" {
		return nil, fmt.Errorf("no command: %w", ErrInvalidEndpoint)
	}
	h := &ExecHandler{
		argv: append([]string(nil), opts.Command...), timeout: opts.Timeout,
		environ: opts.Environ, logger: opts.Logger,
	}
	if h.timeout <= 0 {
		h.timeout = DefaultTimeout
	}
	if h.environ == nil {
		h.environ = os.Environ()
	}
	h.environ = withoutOwnVariables(h.environ)
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// withoutOwnVariables drops the variables that configure opencals-sync.
func withoutOwnVariables(env []string) []string {
	kept := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, config.EnvPrefix+"_") {
			kept = append(kept, kv)
		}
	}
	return kept
}

// Handle encodes ev and runs the command once.
func (h *ExecHandler) Handle(ctx context.Context, ev event.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encoding event %s: %w", ev.ID, err)
	}
	_, err = h.Send(ctx, Delivery{EventID: ev.ID, Type: ev.Type, ResourceID: ev.ResourceID,
		Body: body, Attempt: 1})
	return err
}

// Send runs the command with d.Body on stdin. The status is always 0.
func (h *ExecHandler) Send(ctx context.Context, d Delivery) (int, error) {
	runCtx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, h.argv[0], h.argv[1:]...)
	cmd.Stdin = bytes.NewReader(d.Body)
	cmd.Env = append(h.environ[:len(h.environ):len(h.environ)],
		EnvEventID+"="+d.EventID, EnvEventType+"="+string(d.Type),
		EnvAttempt+"="+strconv.Itoa(d.Attempt))
	out := &boundedBuffer{max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = waitDelay
	killProcessGroup(cmd)

	err := cmd.Run()
	h.logger.Debug("command finished", "event_id", d.EventID, "attempt", d.Attempt,
		"output", out.String(), "err", err)
	switch {
	case err == nil:
		return 0, nil
	case errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		return 0, fmt.Errorf("command %s: killed after %s", h.argv[0], h.timeout)
	case ctx.Err() != nil:
		return 0, fmt.Errorf("command %s: interrupted: %w", h.argv[0], ctx.Err())
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return 0, fmt.Errorf("command %s: exit status %d: %s", h.argv[0], exitErr.ExitCode(),
			excerpt(out.Bytes()))
	}
	return 0, fmt.Errorf("running command %s: %w", h.argv[0], err)
}

// boundedBuffer keeps the first max bytes written to it and counts the
// rest.
type boundedBuffer struct {
	buf     bytes.Buffer
	max     int
	dropped int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	room := b.max - b.buf.Len()
	if room >= len(p) {
		return b.buf.Write(p)
	}
	b.buf.Write(p[:max(room, 0)])
	b.dropped += len(p) - max(room, 0)
	return len(p), nil
}

func (b *boundedBuffer) Bytes() []byte { return b.buf.Bytes() }

func (b *boundedBuffer) String() string {
	if b.dropped == 0 {
		return b.buf.String()
	}
	return b.buf.String() + fmt.Sprintf("… (%d more bytes)", b.dropped)
}
