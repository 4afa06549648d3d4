package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/store"
)

// defaultConfigPath is where packaged installs keep the config file.
const defaultConfigPath = "/etc/opencals-sync/config.yaml"

// loadConfig reads, overrides from the environment and validates the file
// named by --config.
func (g *globalFlags) loadConfig() (*config.Config, error) {
	return config.Load(g.configPath, os.Environ())
}

// openStore opens the configured database for the short commands, which
// never diff (the daemon sets the diff policy itself).
func openStore(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*store.DB, error) {
	return store.Open(ctx, cfg.Database, store.Options{Logger: logger})
}

// withStore runs fn with the configured store open, for the short commands
// (status, customers, events).
func (g *globalFlags) withStore(ctx context.Context, fn func(*config.Config, *store.DB) error) error {
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	logger, err := g.logger(os.Stderr)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	return errors.Join(fn(cfg, db), db.Close())
}

// storeByName finds a configured store; "" means the only one.
func storeByName(cfg *config.Config, name string) (config.Store, error) {
	if name == "" && len(cfg.Stores) == 1 {
		return cfg.Stores[0], nil
	}
	for _, s := range cfg.Stores {
		if s.Name == name {
			return s, nil
		}
	}
	if name == "" {
		return config.Store{}, fmt.Errorf("several stores are configured: choose one with --store")
	}
	return config.Store{}, fmt.Errorf("no store named %q in the config", name)
}
