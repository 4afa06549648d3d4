package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/daemon"
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
			return daemon.Run(cmd.Context(), g.daemonOptions(cmd))
		},
	}
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
