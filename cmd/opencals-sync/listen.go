package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/listen"
)

// listenFlags are the flags of `opencals-sync listen`.
type listenFlags struct {
	addr       string
	secrets    []string
	secretFile string
	scheme     string
	header     string
	tolerance  time.Duration
	eventsOut  string
	color      string
}

func newListenCmd(g *globalFlags) *cobra.Command {
	var f listenFlags
	cmd := &cobra.Command{
		Use:   "listen",
		Short: "Run a local receiver that verifies and prints deliveries",
		Long: `Run a receiver for building and debugging a handler: point an endpoint's
url at it (or run ` + "`opencals-sync trigger`" + `), and every delivery is verified
with the secret, Opencals' scheme or Standard Webhooks, and printed as one
line: type, resource and what changed. Bad signatures are answered 401 and
printed too. --events-out appends each verified event to a file as a JSON
line. Ctrl-C prints a summary. It needs no config file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runListen(cmd.Context(), cmd.OutOrStdout(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "listen", "127.0.0.1:9000", "address to listen on")
	fl.StringArrayVar(&f.secrets, "secret", nil,
		"accepted signing secret (repeat during a rotation)")
	fl.StringVar(&f.secretFile, "secret-file", "",
		"file holding the secret (keeps it out of the process list)")
	fl.StringVar(&f.scheme, "signature", "auto",
		"signature scheme: auto, opencals or standard-webhooks")
	fl.StringVar(&f.header, "signature-header", event.DefaultSignatureHeader,
		"header of the opencals scheme")
	fl.DurationVar(&f.tolerance, "tolerance", event.DefaultTolerance,
		"accepted age of a Standard Webhooks timestamp")
	fl.StringVar(&f.eventsOut, "events-out", "", "append each verified event to this file")
	fl.StringVar(&f.color, "color", "auto", "colours: auto (on a terminal), always or never")
	return cmd
}

func runListen(ctx context.Context, w io.Writer, f listenFlags) error {
	opts, closeFile, err := f.options(w)
	if err != nil {
		return err
	}
	defer closeFile()
	r, err := listen.Start(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "listening on %s (%s signatures); Ctrl-C to stop\n", r.URL(),
		schemeWords(opts.Scheme))
	<-ctx.Done()
	err = r.Close()
	fmt.Fprintln(w, "\n"+r.Summary())
	return err
}

// options turns the flags into listen.Options; the returned function
// closes the events file.
func (f listenFlags) options(w io.Writer) (listen.Options, func(), error) {
	opts := listen.Options{
		Addr: f.addr, SignatureHeader: f.header, Tolerance: f.tolerance, Out: w,
		Secrets: append([]string(nil), f.secrets...),
	}
	noop := func() {}
	if f.secretFile != "" {
		b, err := os.ReadFile(f.secretFile)
		if err != nil {
			return opts, noop, fmt.Errorf("reading --secret-file: %w", err)
		}
		opts.Secrets = append(opts.Secrets, strings.TrimSpace(string(b)))
	}
	if len(opts.Secrets) == 0 {
		return opts, noop, errors.New("give the endpoint's secret: --secret or --secret-file")
	}
	if f.scheme != "auto" {
		scheme, err := event.ParseScheme(f.scheme)
		if err != nil {
			return opts, noop, err
		}
		opts.Scheme = scheme
	}
	var err error
	if opts.Color, err = wantColor(f.color, w); err != nil {
		return opts, noop, err
	}
	if f.eventsOut == "" {
		return opts, noop, nil
	}
	// Events carry customers' names and emails: the file is private.
	file, err := os.OpenFile(filepath.Clean(f.eventsOut),
		os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return opts, noop, fmt.Errorf("opening --events-out: %w", err)
	}
	opts.EventsOut = file
	return opts, func() { _ = file.Close() }, nil
}

func wantColor(mode string, w io.Writer) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		f, ok := w.(*os.File)
		return ok && isatty.IsTerminal(f.Fd()), nil
	}
	return false, fmt.Errorf("--color %q: want auto, always or never", mode)
}

func schemeWords(s event.Scheme) string {
	if s == "" {
		return "opencals or standard-webhooks"
	}
	return string(s)
}
