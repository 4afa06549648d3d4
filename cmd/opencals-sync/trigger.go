package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/deliver"
	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/store"
)

// triggerHoldMargin is added to the longest endpoint timeout to hold a
// trigger's deliveries back from a running daemon while this process
// attempts them.
const triggerHoldMargin = time.Minute

func newTriggerCmd(g *globalFlags) *cobra.Command {
	var endpoint string
	cmd := &cobra.Command{
		Use:   "trigger TYPE",
		Short: "Send a realistic sample event to the endpoints, marked as a test",
		Long: `Send a sample event of TYPE (` + typeNames() + `) through the
normal path: it is recorded in the outbox with "test": true and delivered,
signed, to every endpoint whose filter accepts it (or only --endpoint).

The first attempt is made here and now, whether or not the daemon runs,
and its outcome printed; meanwhile the delivery is held back from a running
daemon so that it is not sent twice. If that attempt fails, the daemon
retries it on the usual schedule; ` + "`events show ID`" + ` follows it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(cmd.Context(), func(cfg *config.Config, db *store.DB) error {
				return trigger(cmd.Context(), g, cmd.OutOrStdout(), cfg, db,
					event.Type(args[0]), endpoint)
			})
		},
	}
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "send to this endpoint only")
	return cmd
}

func typeNames() string {
	names := make([]string, len(event.Types))
	for i, t := range event.Types {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

func trigger(ctx context.Context, g *globalFlags, w io.Writer, cfg *config.Config,
	db *store.DB, typ event.Type, only string,
) error {
	if !typ.Valid() {
		return fmt.Errorf("unknown event type %q: want one of %s", typ, typeNames())
	}
	logger, err := g.logger(io.Discard)
	if err != nil {
		return err
	}
	transport := deliver.NewTransport()
	defer transport.CloseIdleConnections()
	eps, hold, err := triggerEndpoints(cfg, typ, only, deliver.BuildOptions{
		UserAgent: "opencals-sync/" + version, Transport: transport, Logger: logger,
	})
	if err != nil {
		return err
	}
	now := time.Now()
	ev, err := event.Sample(typ, now)
	if err != nil {
		return err
	}
	names := make([]string, len(eps))
	for i, ep := range eps {
		names[i] = ep.Name
	}
	pds, err := db.InsertTestEvent(ctx, ev, names, now.Add(hold), now)
	if err != nil {
		return err
	}
	d := deliver.NewDispatcher(deliver.Options{Store: db, Logger: logger})
	d.Update(eps)
	outs, err := d.DeliverNow(ctx, pds)
	fmt.Fprintf(w, "sent %s %s\n", typ, ev.ID)
	failed := printOutcomes(w, outs)
	if err != nil {
		return err
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d deliveries failed; the daemon "+
			"retries them (events show %s)", failed, len(outs), ev.ID)}
	}
	return nil
}

// triggerEndpoints builds the endpoints that get a trigger's sample, and
// how long to hold it back from the daemon.
func triggerEndpoints(cfg *config.Config, typ event.Type, only string,
	build deliver.BuildOptions,
) ([]deliver.Endpoint, time.Duration, error) {
	var chosen []config.Endpoint
	hold := time.Duration(0)
	for _, ep := range cfg.Endpoints {
		if only != "" && ep.Name != only {
			continue
		}
		filter, err := deliver.NewFilter(ep.Events)
		if err != nil {
			return nil, 0, fmt.Errorf("endpoint %s: %w", ep.Name, err)
		}
		if only == "" && !filter.Match(typ) {
			continue // --endpoint sends even what the filter refuses: asked for
		}
		chosen = append(chosen, ep)
		hold = max(hold, ep.Timeout)
	}
	switch {
	case len(chosen) == 0 && only != "":
		return nil, 0, fmt.Errorf("no endpoint named %q in the config", only)
	case len(chosen) == 0:
		return nil, 0, fmt.Errorf("no configured endpoint accepts %s", typ)
	}
	eps, err := deliver.EndpointsFromConfig(chosen, build)
	if err != nil {
		return nil, 0, err
	}
	return eps, hold + triggerHoldMargin, nil
}

// printOutcomes prints one line per attempt and returns how many failed.
func printOutcomes(w io.Writer, outs []deliver.Outcome) int {
	failed := 0
	for _, o := range outs {
		what := fmt.Sprintf("delivered in %s", o.Latency.Round(time.Millisecond))
		if o.Status != 0 {
			what = fmt.Sprintf("HTTP %d, %s", o.Status, what)
		}
		if o.Err != nil {
			failed++
			what = "failed: " + o.Err.Error()
			switch {
			case errors.Is(o.Err, deliver.ErrGone):
				what += "; the endpoint is now disabled (410 Gone)"
			case o.State == store.DeliveryPending:
				what += "; the daemon retries at " + o.NextAttemptAt.UTC().Format(cliTime) +
					" UTC"
			}
		}
		fmt.Fprintf(w, "  %s: %s\n", o.Endpoint, what)
	}
	return failed
}
