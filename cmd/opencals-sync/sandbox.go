package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/opencals/sandbox"
)

// sandboxFlags are the flags of `opencals-sync sandbox`.
type sandboxFlags struct {
	listen        string
	apiKey        string
	customers     int
	activity      time.Duration
	seed          int64
	tokenTTL      time.Duration
	rateLimit     string
	authRateLimit string
}

func newSandboxCmd(g *globalFlags) *cobra.Command {
	var f sandboxFlags
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a local fake of the Opencals Storefront API",
		Long: `Run a local, stateful fake of the Opencals Storefront API: the same paths,
shapes, status codes, rate limits and token rotation, with seeded customers
(password "sandbox-password", sandbox only) and optional simulated merchant
activity. Admin endpoints under /sandbox/ (loopback only) book, pay, cancel,
reschedule, refund and complete, and list every change made.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSandbox(cmd.Context(), g, f, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8787", "address to listen on")
	fl.StringVar(&f.apiKey, "api-key", sandbox.DefaultAPIKey, "the X-Api-Key value to accept")
	fl.IntVar(&f.customers, "customers", 20, "number of seeded customers")
	fl.DurationVar(&f.activity, "activity", 0,
		"pace of simulated merchant activity, for example 1s (0: none)")
	fl.Int64Var(&f.seed, "seed", 1, "seed for ids, history and activity")
	fl.DurationVar(&f.tokenTTL, "token-ttl", sandbox.DefaultAccessTokenTTL,
		"how long an access token is accepted")
	fl.StringVar(&f.rateLimit, "rate-limit", "100/60s",
		"general budget per API key as requests/window (-1: unlimited)")
	fl.StringVar(&f.authRateLimit, "auth-rate-limit", "20/10s",
		"authentication budget per API key as requests/window (-1: unlimited)")
	return cmd
}

func runSandbox(ctx context.Context, g *globalFlags, f sandboxFlags, out, errOut io.Writer) error {
	logger, err := g.logger(errOut)
	if err != nil {
		return err
	}
	cfg := sandbox.Config{APIKey: f.apiKey, Customers: f.customers, Seed: f.seed,
		AccessTokenTTL: f.tokenTTL, Logger: logger}
	if cfg.RateLimit, err = parseLimit("rate-limit", f.rateLimit); err != nil {
		return err
	}
	if cfg.AuthRateLimit, err = parseLimit("auth-rate-limit", f.authRateLimit); err != nil {
		return err
	}
	sb, err := sandbox.New(cfg)
	if err != nil {
		return err
	}
	if err := sb.Start(f.listen); err != nil {
		return err
	}
	defer sb.Close()
	if !isLoopback(f.listen) {
		logger.Warn("sandbox listens beyond this machine; admin endpoints still answer loopback only",
			"listen", f.listen)
	}
	if err := printSandbox(out, sb, f); err != nil {
		return fmt.Errorf("printing sandbox details: %w", err)
	}
	sb.RunActivity(ctx, f.activity)
	<-ctx.Done()
	if err := sb.Close(); err != nil {
		return err
	}
	logger.Info("sandbox stopped", "changes", len(sb.Changes(0)), "requests", sb.Stats().Total,
		"rate_limited", sb.Stats().RateLimited)
	return nil
}

// parseLimit reads "requests/window", or "-1" for no limit.
func parseLimit(flag, s string) (sandbox.Limit, error) {
	if strings.TrimSpace(s) == "-1" {
		return sandbox.Limit{Requests: -1}, nil
	}
	reqs, per, found := strings.Cut(s, "/")
	n, errN := strconv.Atoi(strings.TrimSpace(reqs))
	d, errD := time.ParseDuration(strings.TrimSpace(per))
	if !found || errN != nil || errD != nil || n <= 0 || d <= 0 {
		return sandbox.Limit{}, fmt.Errorf("--%s %q: want requests/window, for example 100/60s", flag, s)
	}
	return sandbox.Limit{Requests: n, Per: d}, nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// printSandbox tells the user where the sandbox is and how to sign in.
// The credentials are the sandbox's own, printed on purpose.
func printSandbox(w io.Writer, sb *sandbox.Sandbox, f sandboxFlags) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Opencals sandbox listening on %s\n", sb.URL())
	fmt.Fprintf(tw, "  base URL:\t%s\n", sb.URL())
	fmt.Fprintf(tw, "  API key:\t%s\n", sb.APIKey())
	fmt.Fprintf(tw, "  store id:\t%s\n", sb.StoreID())
	activity := "off"
	if f.activity > 0 {
		activity = "every " + f.activity.String()
	}
	fmt.Fprintf(tw, "  activity:\t%s (seed %d)\n", activity, f.seed)
	fmt.Fprintf(tw, "  admin:\t%s/sandbox/ (changes, stats, book, refund, …)\n", sb.URL())
	fmt.Fprintf(tw, "Customers (sandbox-only credentials):\n")
	for _, c := range sb.Customers() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Email, c.Password, c.ID)
	}
	fmt.Fprintf(tw, "Press Ctrl-C to stop.\n")
	return tw.Flush()
}
