package main

import (
	"context"
	"fmt"
	"os"
	gosync "sync"

	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/daemon"
	"github.com/opencals-sync/opencals-sync/sdnotify"
)

func newRunCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the daemon: poll, synthesize events, deliver them",
		Long: `Run the daemon until SIGINT or SIGTERM. The config file is watched: edits
apply while running (an invalid edit is logged and ignored), and SIGHUP
reloads it too. On shutdown, looks in flight finish first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.runUnderSystemd(cmd)
		},
	}
}

// runUnderSystemd runs the daemon, telling systemd about its life cycle and
// feeding its watchdog when NOTIFY_SOCKET says it is watching (no-ops
// otherwise). The watchdog stops only after the daemon has.
func (g *globalFlags) runUnderSystemd(cmd *cobra.Command) error {
	logger, err := g.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	notifier, err := sdnotify.FromEnviron(os.Environ(), os.Getpid(),
		sdnotify.Options{Logger: logger})
	if err != nil {
		return fmt.Errorf("reading systemd's environment: %w", err)
	}
	opts := g.daemonOptions(cmd)
	opts.Notify = notifier.Hook()

	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	var wg gosync.WaitGroup
	wg.Go(func() { _ = notifier.RunWatchdog(ctx) })
	err = daemon.Run(ctx, opts)
	cancel()
	wg.Wait()
	return err
}

func newOnceCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "once",
		Short: "Look at every customer once, record the events, and exit",
		Long: `One full pass over every active customer of every store, then the
completion sweep. The exit status is non-zero if any look failed, for cron.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return daemon.Once(cmd.Context(), g.daemonOptions(cmd))
		},
	}
}

// daemonOptions passes --log-level and --log-format, when given, as the
// environment overrides of the config's log keys.
func (g *globalFlags) daemonOptions(cmd *cobra.Command) daemon.Options {
	environ := os.Environ()
	if cmd.Flags().Changed("log-level") {
		environ = append(environ, "OPENCALS_SYNC_LOG_LEVEL="+g.logLevel)
	}
	if cmd.Flags().Changed("log-format") {
		environ = append(environ, "OPENCALS_SYNC_LOG_FORMAT="+g.logFormat)
	}
	return daemon.Options{ConfigPath: g.configPath, Environ: environ, Logs: cmd.ErrOrStderr(),
		Version: version}
}
