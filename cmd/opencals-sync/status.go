package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/store"
)

func newStatusCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show customers with their last and next look, and the outbox backlog",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withStore(cmd.Context(), func(cfg *config.Config, db *store.DB) error {
				ctx, out := cmd.Context(), cmd.OutOrStdout()
				cs, err := db.ListCustomers(ctx, "")
				if err != nil {
					return err
				}
				states := make(map[store.CustomerState]int)
				for _, c := range cs {
					states[c.State]++
				}
				fmt.Fprintf(out, "mode %s, %d customers: %d active, %d needs_reauth, %d disabled\n",
					cfg.Mode, len(cs), states[store.CustomerActive],
					states[store.CustomerNeedsReauth], states[store.CustomerDisabled])
				if err := writeBacklog(cmd, cfg, db); err != nil {
					return err
				}
				if err := writeReconciliation(cmd, cfg, db); err != nil {
					return err
				}
				fmt.Fprintln(out)
				return writeCustomers(out, cs, time.Now())
			})
		},
	}
}
