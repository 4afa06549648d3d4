package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/store"
	"github.com/opencals-sync/opencals-sync/webhook"
)

// writeReconciliation prints, in webhook and hybrid modes, how the events
// of the reconciliation window were seen: the evidence that webhooks alone
// deliver everything polling finds.
func writeReconciliation(cmd *cobra.Command, cfg *config.Config, db *store.DB) error {
	if cfg.Mode == config.ModePoll {
		return nil
	}
	grace := webhook.ReconcileGrace(cfg.Sync.MaxAge)
	from, to := webhook.ReconcileRange(time.Now(), grace)
	counts, err := db.ReconcileCounts(cmd.Context(), from, to)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "\nreconciliation over the last %s, since the first webhook "+
		"(events newer than %s wait for their other side):\n", days(webhook.ReconcileWindow), grace)
	if len(counts) == 0 {
		fmt.Fprintln(out, "  nothing yet: no webhook received in that time")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  STORE\tTYPE\tBOTH\tPOLL ONLY\tWEBHOOK ONLY")
	for _, c := range counts {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\n", c.StoreID, c.Type, c.Matched, c.PollOnly,
			c.WebhookOnly)
	}
	return tw.Flush()
}

// days words a whole number of days.
func days(d time.Duration) string {
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}
