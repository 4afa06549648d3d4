//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/opencals-sync/opencals-sync/customer"
	"github.com/opencals-sync/opencals-sync/opencals"
	"github.com/opencals-sync/opencals-sync/store"
)

// sandboxSeed fixes the sandbox's ids and history, so every run measures
// the same data.
const sandboxSeed = 1

// sandboxInfo is what `opencals-sync sandbox` prints on start.
type sandboxInfo struct {
	url, apiKey, storeID string
	customers            []sandboxCustomer
}

// sandboxCustomer is a seeded customer's sign-in (sandbox-only
// credentials, printed by the sandbox on purpose).
type sandboxCustomer struct {
	email, password string
}

// startSandbox runs `opencals-sync sandbox` with n customers and no rate
// limits, and reads where it listens and whom it seeded.
func (e *env) startSandbox(ctx context.Context, bin string, n int) (*child, sandboxInfo, error) {
	c, stdout, err := e.spawnReading("sandbox", bin, "sandbox", "--listen", "127.0.0.1:0",
		"--customers", strconv.Itoa(n), "--seed", strconv.Itoa(sandboxSeed),
		"--rate-limit", "-1", "--auth-rate-limit", "-1", "--log-format", "json")
	if err != nil {
		return nil, sandboxInfo{}, err
	}
	type parsed struct {
		info sandboxInfo
		err  error
	}
	done := make(chan parsed, 1)
	go func() {
		info, err := parseSandbox(stdout)
		done <- parsed{info, err}
	}()
	var p parsed
	select {
	case p = <-done:
	case <-ctx.Done():
		p.err = ctx.Err()
	}
	if p.err == nil && len(p.info.customers) != n {
		p.err = fmt.Errorf("sandbox seeded %d customers; want %d", len(p.info.customers), n)
	}
	if p.err != nil {
		_, stopErr := c.stop(10 * time.Second)
		return nil, sandboxInfo{}, errors.Join(fmt.Errorf("starting the sandbox: %w", p.err), stopErr)
	}
	c.keepDraining()
	return c, p.info, nil
}

// parseSandbox reads the sandbox's greeting up to "Press Ctrl-C".
func parseSandbox(r io.Reader) (sandboxInfo, error) {
	var info sandboxInfo
	sc := bufio.NewScanner(r)
	inCustomers := false
	for sc.Scan() {
		line := sc.Text()
		key, value, _ := strings.Cut(line, ":")
		value = strings.TrimSpace(value)
		switch {
		case strings.HasPrefix(line, "Press Ctrl-C"):
			if info.url == "" || info.apiKey == "" || info.storeID == "" {
				return sandboxInfo{}, errors.New("sandbox greeting lacks its URL, key or store id")
			}
			return info, nil
		case strings.HasPrefix(line, "Customers"):
			inCustomers = true
		case inCustomers:
			f := strings.Fields(line)
			if len(f) != 3 {
				return sandboxInfo{}, fmt.Errorf("unexpected customer line %q", line)
			}
			info.customers = append(info.customers, sandboxCustomer{email: f[0], password: f[1]})
		case strings.TrimSpace(key) == "base URL":
			info.url = value
		case strings.TrimSpace(key) == "API key":
			info.apiKey = value
		case strings.TrimSpace(key) == "store id":
			info.storeID = value
		}
	}
	if err := sc.Err(); err != nil {
		return sandboxInfo{}, err
	}
	return sandboxInfo{}, errors.New("sandbox stopped before it was ready")
}

// unlimited is a budget the sandbox (started without limits) never meets:
// the figures measure the daemon, not the API's allowance.
var unlimited = opencals.Limits{Requests: 100000, Per: time.Second, AuthRequests: 100000,
	AuthPer: time.Second, Headroom: 1}

// registerWorkers is how many sign-ins run at once while registering.
const registerWorkers = 8

// registerCustomers signs every sandbox customer in, as `customers add`
// does, and stores them in the database at path.
func registerCustomers(ctx context.Context, path string, sb sandboxInfo) error {
	db, err := store.Open(ctx, path, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	client, err := opencals.New(opencals.Config{BaseURL: sb.url, APIKey: sb.apiKey,
		Limiter: opencals.NewLimiter(unlimited, nil), UserAgent: "opencals-sync-bench"})
	if err != nil {
		return errors.Join(err, db.Close())
	}
	defer client.CloseIdleConnections()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(registerWorkers)
	for _, c := range sb.customers {
		g.Go(func() error {
			_, err := customer.Register(gctx, client, db, sb.storeID,
				customer.Registration{Email: c.email, Password: c.password})
			return err
		})
	}
	return errors.Join(g.Wait(), db.Close())
}
