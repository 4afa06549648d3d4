package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/customer"
	"github.com/opencals-sync/opencals-sync/opencals"
	"github.com/opencals-sync/opencals-sync/store"
)

func newCustomersCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{Use: "customers", Short: "Register, list and remove the customers polled"}
	cmd.AddCommand(newCustomersAddCmd(g), newCustomersListCmd(g), newCustomersRemoveCmd(g))
	return cmd
}

type addFlags struct {
	store            string
	email            string
	passwordFile     string
	refreshTokenFile string
	id               string
}

func newCustomersAddCmd(g *globalFlags) *cobra.Command {
	var f addFlags
	cmd := &cobra.Command{
		Use:   "add --email E | --refresh-token-file F",
		Short: "Register a customer by signing in, or with a refresh token",
		Long: `Register a customer. With --email, the password is read from --password-file
or from standard input (never from a flag: flags end up in shell history and
process listings). With --refresh-token-file, that token ("-" for standard
input) is exchanged for a fresh pair. The customer id is read from the token
unless --id is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withStore(cmd.Context(), func(cfg *config.Config, db *store.DB) error {
				return addCustomer(cmd.Context(), cfg, db, f, cmd.InOrStdin(), cmd.OutOrStdout())
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.store, "store", "", "store name from the config (default: the only one)")
	fl.StringVar(&f.email, "email", "", "the customer's email")
	fl.StringVar(&f.passwordFile, "password-file", "", "file holding the password (default: stdin)")
	fl.StringVar(&f.refreshTokenFile, "refresh-token-file", "", "file holding a refresh token, - for stdin")
	fl.StringVar(&f.id, "id", "", "the Opencals customer id (default: from the token)")
	return cmd
}

func addCustomer(ctx context.Context, cfg *config.Config, db *store.DB, f addFlags,
	stdin io.Reader, out io.Writer) error {
	sc, err := storeByName(cfg, f.store)
	if err != nil {
		return err
	}
	reg := customer.Registration{Email: f.email, CustomerID: f.id}
	switch {
	case f.refreshTokenFile != "":
		if reg.RefreshToken, err = readSecret(f.refreshTokenFile, stdin); err != nil {
			return fmt.Errorf("reading the refresh token: %w", err)
		}
	case f.email != "":
		if reg.Password, err = readSecret(orStdin(f.passwordFile), stdin); err != nil {
			return fmt.Errorf("reading the password: %w", err)
		}
	default:
		return errors.New("give --email (password on stdin or --password-file) or --refresh-token-file")
	}
	client, err := newClient(sc)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	storeID := sc.ID
	if storeID == "" {
		if storeID, err = client.StoreID(ctx); err != nil {
			return err
		}
	}
	id, err := customer.Register(ctx, client, db, storeID, reg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "registered customer %s in store %s; the running daemon polls it at its next tick\n",
		id, sc.Name)
	return nil
}

// newClient builds an API client for a one-off command.
func newClient(sc config.Store) (*opencals.Client, error) {
	return opencals.New(opencals.Config{
		BaseURL: sc.BaseURL, APIKey: sc.APIKey.Value(), UserAgent: "opencals-sync/" + version,
		Limiter: opencals.NewLimiter(opencals.Limits{
			Requests: sc.RateLimit.Requests, Per: sc.RateLimit.Per,
			AuthRequests: sc.RateLimit.AuthRequests, AuthPer: sc.RateLimit.AuthPer,
			Headroom: sc.RateLimit.Headroom,
		}, nil),
	})
}

func orStdin(path string) string {
	if path == "" {
		return "-"
	}
	return path
}

// readSecret reads the first line of a file, or of stdin for "-".
func readSecret(path string, stdin io.Reader) (string, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	secret := strings.TrimSpace(line)
	if secret == "" {
		return "", errors.New("empty")
	}
	return secret, nil
}

func newCustomersListCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List customers with their state and last and next look",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.withStore(cmd.Context(), func(_ *config.Config, db *store.DB) error {
				cs, err := db.ListCustomers(cmd.Context(), "")
				if err != nil {
					return err
				}
				return writeCustomers(cmd.OutOrStdout(), cs, time.Now())
			})
		},
	}
}

// writeCustomers prints one line per customer.
func writeCustomers(out io.Writer, cs []store.Customer, now time.Time) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STORE\tCUSTOMER\tEMAIL\tSTATE\tLAST LOOK\tNEXT LOOK\tLAST ERROR")
	for _, c := range cs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", short(c.StoreID), c.ID, c.Email, c.State,
			ago(c.LastPollAt, now), ago(c.NextPollAt, now), truncate(c.LastError, 60))
	}
	return w.Flush()
}

func newCustomersRemoveCmd(g *globalFlags) *cobra.Command {
	var storeID string
	cmd := &cobra.Command{
		Use:   "remove ID",
		Short: "Stop polling a customer and forget its snapshots (its events stay)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.withStore(cmd.Context(), func(_ *config.Config, db *store.DB) error {
				return removeCustomer(cmd.Context(), db, storeID, args[0], cmd.OutOrStdout())
			})
		},
	}
	cmd.Flags().StringVar(&storeID, "store-id", "", "Opencals store id, when the customer id is in several")
	return cmd
}

func removeCustomer(ctx context.Context, db *store.DB, storeID, id string, out io.Writer) error {
	if storeID == "" {
		cs, err := db.ListCustomers(ctx, "")
		if err != nil {
			return err
		}
		var stores []string
		for _, c := range cs {
			if c.ID == id {
				stores = append(stores, c.StoreID)
			}
		}
		switch len(stores) {
		case 0:
			return fmt.Errorf("customer %s: %w", id, store.ErrNotFound)
		case 1:
			storeID = stores[0]
		default:
			return fmt.Errorf("customer %s is in stores %s: choose one with --store-id",
				id, strings.Join(stores, ", "))
		}
	}
	if err := db.RemoveCustomer(ctx, storeID, id); err != nil {
		return err
	}
	fmt.Fprintf(out, "removed customer %s\n", id)
	return nil
}

// ago renders a time relative to now for tables: "3m ago", "in 2m", "-".
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t).Round(time.Second)
	if d < 0 {
		return "in " + (-d).String()
	}
	return d.String() + " ago"
}

func short(id string) string { return truncate(id, 8) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
