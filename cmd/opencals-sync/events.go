package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/deliver"
	"github.com/opencals-sync/opencals-sync/store"
)

// cliTime is how the event commands print times: UTC, to the second.
const cliTime = "2006-01-02 15:04:05"

func newEventsCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "List, inspect and resend events and their deliveries",
		Long: `Look at the outbox: every event recorded, where it stands with each
endpoint, every attempt. Dead letters (deliveries that outlived their retry
window) and events older than an endpoint can be sent again; a running
daemon picks resent deliveries up within its rescan interval (10s).
Times are UTC.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newEventsListCmd(g), newEventsShowCmd(g), newEventsResendCmd(g),
		newEventsEndpointsCmd(g), newEventsEnableCmd(g))
	return cmd
}

func newEventsListCmd(g *globalFlags) *cobra.Command {
	var (
		f      store.RecentFilter
		failed bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the newest events and where their deliveries stand",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if failed {
				f.State = store.DeliveryFailed
			}
			return g.withStore(cmd.Context(), func(_ *config.Config, db *store.DB) error {
				evs, err := db.RecentEvents(cmd.Context(), f)
				if err != nil {
					return err
				}
				return printEventList(cmd.OutOrStdout(), evs)
			})
		},
	}
	cmd.Flags().BoolVar(&failed, "failed", false,
		"only events with a failed delivery (dead letters)")
	cmd.Flags().StringVar(&f.Endpoint, "endpoint", "", "with --failed: failed for this endpoint")
	cmd.Flags().IntVar(&f.Limit, "limit", 50, "at most this many events, newest first")
	return cmd
}

// printEventList prints one line per event with its deliveries.
func printEventList(w io.Writer, evs []store.EventDeliveries) error {
	if len(evs) == 0 {
		_, err := fmt.Fprintln(w, "no events")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tID\tTYPE\tRESOURCE\tCREATED\tDELIVERIES")
	for _, ed := range evs {
		e := ed.Event
		typ := string(e.Type)
		if e.Test {
			typ += " (test)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.ID, typ, e.ResourceID,
			e.CreatedAt.UTC().Format(cliTime), deliverySummary(ed.Deliveries))
	}
	return tw.Flush()
}

// deliverySummary words the deliveries of one event on one line.
func deliverySummary(ds []store.Delivery) string {
	if len(ds) == 0 {
		return "-"
	}
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Endpoint + ": " + deliveryState(d)
	}
	return strings.Join(parts, "; ")
}

// deliveryState words where one delivery stands.
func deliveryState(d store.Delivery) string {
	tries := strconv.Itoa(d.Attempts) + " attempt"
	if d.Attempts != 1 {
		tries += "s"
	}
	switch d.State {
	case store.DeliveryDelivered:
		return "delivered (" + tries + ")"
	case store.DeliveryPending:
		if d.Attempts == 0 {
			return "pending"
		}
		return fmt.Sprintf("retrying (%s, next %s)", tries,
			d.NextAttemptAt.UTC().Format(cliTime))
	case store.DeliveryFailed:
		return "FAILED (" + tries + lastProblem(d) + ")"
	}
	return string(d.State) + " (" + tries + ")"
}

func lastProblem(d store.Delivery) string {
	if d.LastError != "" {
		return ", last: " + d.LastError
	}
	return ""
}

func newEventsShowCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show an event: its payload, deliveries and every attempt",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(cmd.Context(), func(_ *config.Config, db *store.DB) error {
				return showEvent(cmd.Context(), cmd.OutOrStdout(), db, args[0])
			})
		},
	}
}

func showEvent(ctx context.Context, w io.Writer, db *store.DB, id string) error {
	ed, err := db.EventDeliveries(ctx, id)
	if err != nil {
		return err
	}
	e := ed.Event
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id\t%s\nseq\t%d\ntype\t%s\n", e.ID, e.Seq, e.Type)
	fmt.Fprintf(tw, "store\t%s\ncustomer\t%s\nresource\t%s\n", e.StoreID, e.CustomerID,
		e.ResourceID)
	source := string(e.Source)
	if e.ConfirmedBy != "" {
		source += ", confirmed by " + string(e.ConfirmedBy)
	}
	fmt.Fprintf(tw, "source\t%s\ntest\t%v\n", source, e.Test)
	fmt.Fprintf(tw, "created\t%s\noccurred\t%s\n", e.CreatedAt.UTC().Format(cliTime),
		e.OccurredAt.UTC().Format(cliTime))
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range ed.Deliveries {
		if err := showDelivery(ctx, w, db, d); err != nil {
			return err
		}
	}
	if len(ed.Deliveries) == 0 {
		fmt.Fprintln(w, "\nnot queued for any endpoint")
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, e.Body, "", "  "); err != nil {
		pretty.Reset()
		pretty.Write(e.Body)
	}
	_, err = fmt.Fprintf(w, "\npayload (%d bytes as sent, shown indented):\n%s\n",
		len(e.Body), pretty.Bytes())
	return err
}

// showDelivery prints one delivery and its attempts.
func showDelivery(ctx context.Context, w io.Writer, db *store.DB, d store.Delivery) error {
	as, err := db.DeliveryAttempts(ctx, d.Endpoint, d.Seq)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s: %s\n", d.Endpoint, deliveryState(d))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, a := range as {
		status := "-"
		if a.Status != 0 {
			status = "HTTP " + strconv.Itoa(a.Status)
		}
		fmt.Fprintf(tw, "  #%d\t%s\t%s\t%s\t%s\n", a.N, a.At.UTC().Format(cliTime), status,
			a.Latency, a.Error)
	}
	return tw.Flush()
}

// resendFlags are the flags of `events resend`.
type resendFlags struct {
	failed   bool
	since    string
	endpoint string
}

func newEventsResendCmd(g *globalFlags) *cobra.Command {
	var f resendFlags
	cmd := &cobra.Command{
		Use:   "resend [ID...]",
		Short: "Queue events again: by id, or every dead letter since a time",
		Long: `Queue events again, due at once with a fresh retry window.

  events resend ID...                 every configured endpoint whose filter
                                      accepts the event gets it again, even one
                                      that was added after the event
  events resend --failed --since T    every dead letter of an event recorded
                                      since T (RFC 3339, a date, or a duration
                                      ago such as 24h)

--endpoint narrows either to one endpoint. A running daemon sends them
within its rescan interval.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(cmd.Context(), func(cfg *config.Config, db *store.DB) error {
				return resend(cmd.Context(), cmd.OutOrStdout(), cfg, db, f, args)
			})
		},
	}
	cmd.Flags().BoolVar(&f.failed, "failed", false, "resend dead letters (with --since)")
	cmd.Flags().StringVar(&f.since, "since", "", "with --failed: events recorded since then")
	cmd.Flags().StringVar(&f.endpoint, "endpoint", "", "only this endpoint")
	return cmd
}

func resend(ctx context.Context, w io.Writer, cfg *config.Config, db *store.DB,
	f resendFlags, ids []string,
) error {
	now := time.Now()
	var (
		n   int
		err error
	)
	switch {
	case f.failed && len(ids) > 0:
		return fmt.Errorf("give event ids or --failed, not both")
	case f.failed:
		since, perr := parseSince(f.since, now)
		if perr != nil {
			return perr
		}
		n, err = db.ResendFailed(ctx, since, f.endpoint, now)
	case len(ids) > 0:
		targets, terr := resendTargets(cfg, f.endpoint)
		if terr != nil {
			return terr
		}
		n, err = db.Resend(ctx, ids, targets, now)
	default:
		return fmt.Errorf("give event ids, or --failed --since T")
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "queued %d deliveries\n", n)
	return err
}

// resendTargets are the configured endpoints (one, if named) as the store
// queues for them.
func resendTargets(cfg *config.Config, only string) ([]store.EndpointTarget, error) {
	var targets []store.EndpointTarget
	for _, ep := range cfg.Endpoints {
		if only != "" && ep.Name != only {
			continue
		}
		filter, err := deliver.NewFilter(ep.Events)
		if err != nil {
			return nil, fmt.Errorf("endpoint %s: %w", ep.Name, err)
		}
		targets = append(targets, store.EndpointTarget{Name: ep.Name, Types: filter.Types()})
	}
	if len(targets) == 0 {
		if only != "" {
			return nil, fmt.Errorf("no endpoint named %q in the config", only)
		}
		return nil, fmt.Errorf("no endpoints in the config")
	}
	return targets, nil
}

// parseSince reads --since: RFC 3339, a date (midnight UTC), or a
// duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("--failed needs --since (for example --since 24h)")
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339, time.DateTime, time.DateOnly} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: want RFC 3339, YYYY-MM-DD or a duration "+
		"such as 24h", s)
}

func newEventsEndpointsCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "endpoints",
		Short: "List the endpoints the store knows: cursor, backlog, disabled",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withStore(cmd.Context(), func(cfg *config.Config, db *store.DB) error {
				return listEndpoints(cmd.Context(), cmd.OutOrStdout(), cfg, db)
			})
		},
	}
}

func listEndpoints(ctx context.Context, w io.Writer, cfg *config.Config, db *store.DB) error {
	states, err := db.EndpointStates(ctx)
	if err != nil {
		return err
	}
	configured := map[string]bool{}
	for _, ep := range cfg.Endpoints {
		configured[ep.Name] = true
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tCURSOR\tPENDING\tOLDEST PENDING")
	for _, s := range states {
		b, err := db.DeliveryBacklog(ctx, []string{s.Name})
		if err != nil {
			return err
		}
		state := "enabled"
		switch {
		case s.Disabled():
			state = "DISABLED since " + s.DisabledAt.UTC().Format(cliTime) + " (" +
				s.DisabledReason + ")"
		case !configured[s.Name]:
			state = "not configured"
		}
		oldest := "-"
		if !b.Oldest.IsZero() {
			oldest = b.Oldest.UTC().Format(cliTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", s.Name, state, s.LastSeq, b.Pending, oldest)
	}
	return tw.Flush()
}

func newEventsEnableCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "enable ENDPOINT",
		Short: "Enable an endpoint a 410 Gone disabled; its held deliveries go at once",
		Long: `An endpoint that answers 410 Gone is disabled: its deliveries are held,
not lost. Changing its url or command in the config enables it again; so
does this command, once the handler is back. A running daemon resumes it
within its rescan interval.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(cmd.Context(), func(_ *config.Config, db *store.DB) error {
				n, err := db.EnableEndpoint(cmd.Context(), args[0], time.Now())
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(),
					"enabled %s: %d held deliveries are due now\n", args[0], n)
				return err
			})
		},
	}
}
