package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/demo"
)

type demoFlags struct {
	data      string
	duration  time.Duration
	eventsOut string
	customers int
	activity  time.Duration
	seed      int64
}

func newDemoCmd() *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "See events within seconds: sandbox, daemon and a verifying receiver in one process",
		Long: `Runs the sandbox (a fake Opencals API) with simulated merchant activity, the
daemon against it with a temporary database, and a local receiver that
verifies each signed delivery and prints it on one line. No account and no
network are needed. Every event type shows up within a minute.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.data, "data", "", "keep the database and config here (default: a temporary directory)")
	fl.DurationVar(&f.duration, "for", 0, "stop after this long, with status 0 (default: until Ctrl-C)")
	fl.StringVar(&f.eventsOut, "events-out", "", "append each verified event as a JSON line to this file")
	fl.IntVar(&f.customers, "customers", 8, "sandbox customers")
	fl.DurationVar(&f.activity, "activity", time.Second, "pace of simulated merchant activity")
	fl.Int64Var(&f.seed, "seed", 0, "seed for the sandbox (default: random)")
	return cmd
}

func runDemo(cmd *cobra.Command, f demoFlags) (err error) {
	out := cmd.OutOrStdout()
	opts := demo.Options{Data: f.data, For: f.duration, Out: out, Logs: cmd.ErrOrStderr(),
		Customers: f.customers, Activity: f.activity, Seed: f.seed, Version: version,
		Color: isTerminal(out)}
	if f.eventsOut != "" {
		file, err := os.OpenFile(f.eventsOut, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("opening --events-out: %w", err)
		}
		defer func() { err = errors.Join(err, file.Close()) }()
		opts.EventsOut = file
	}
	return demo.Run(cmd.Context(), opts)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isatty.IsTerminal(f.Fd())
}
