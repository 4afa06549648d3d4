package main

import (
	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/store"
)

// writeBacklog prints the outbox backlog per endpoint. TODO: filled in
// once the delivery package lands.
func writeBacklog(cmd *cobra.Command, cfg *config.Config, db *store.DB) error { return nil }
