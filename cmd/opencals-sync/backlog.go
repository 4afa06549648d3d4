package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/store"
)

// writeBacklog prints what waits to be delivered, per configured endpoint.
func writeBacklog(cmd *cobra.Command, cfg *config.Config, db *store.DB) error {
	ctx, out := cmd.Context(), cmd.OutOrStdout()
	if len(cfg.Endpoints) == 0 {
		fmt.Fprintln(out, "no endpoints configured: events wait in the outbox")
		return nil
	}
	states, err := db.EndpointStates(ctx)
	if err != nil {
		return err
	}
	disabled := make(map[string]string)
	for _, s := range states {
		if s.Disabled() {
			disabled[s.Name] = s.DisabledReason
		}
	}
	for _, ep := range cfg.Endpoints {
		b, err := db.DeliveryBacklog(ctx, []string{ep.Name})
		if err != nil {
			return err
		}
		line := fmt.Sprintf("endpoint %s: %d pending", ep.Name, b.Pending)
		if !b.Oldest.IsZero() {
			line += fmt.Sprintf(", oldest queued %s ago", time.Since(b.Oldest).Round(time.Second))
		}
		if reason, ok := disabled[ep.Name]; ok {
			line += fmt.Sprintf(" (disabled: %s; `events enable %s` after fixing it)", reason, ep.Name)
		}
		fmt.Fprintln(out, line)
	}
	return nil
}
