package main

import (
	"errors"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/logging"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// globalFlags are the flags every command shares.
type globalFlags struct {
	configPath string
	logLevel   string
	logFormat  string
}

func newRootCmd() *cobra.Command {
	var g globalFlags
	root := &cobra.Command{
		Use:           "opencals-sync",
		Short:         "Poll Opencals and deliver its webhook events to your handlers",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	configDefault := defaultConfigPath
	if env := os.Getenv(config.EnvPrefix + "_CONFIG"); env != "" {
		configDefault = env
	}
	root.PersistentFlags().StringVarP(&g.configPath, "config", "c", configDefault,
		"config file (env "+config.EnvPrefix+"_CONFIG)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info",
		"log level: debug, info, warn or error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "auto",
		"log format: auto (coloured on a terminal, else JSON), text or json")
	root.AddCommand(
		newRunCmd(&g),
		newOnceCmd(&g),
		newStatusCmd(&g),
		newCustomersCmd(&g),
		newEventsCmd(&g),
		newTriggerCmd(&g),
		newListenCmd(&g),
		newConfigCmd(&g),
		newSandboxCmd(&g),
		newDemoCmd(),
		newHealthCmd(&g),
	)
	return root
}

// logger builds the logger a command writes to stderr with.
func (g *globalFlags) logger(w io.Writer) (*slog.Logger, error) {
	level, err := logging.ParseLevel(g.logLevel)
	if err != nil {
		return nil, err
	}
	var lv slog.LevelVar
	lv.Set(level)
	return logging.New(w, g.logFormat, &lv)
}

// exitError carries a specific exit status out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}
