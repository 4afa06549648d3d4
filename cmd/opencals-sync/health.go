package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/opencals-sync/opencals-sync/config"
)

// defaultReadyURL is asked when neither --url nor a readable config says
// where the admin listener is.
const defaultReadyURL = "http://127.0.0.1:9090/readyz"

// errAdminOff means the config disables the admin listener, so there is
// nothing to ask.
var errAdminOff = errors.New("the admin listener is off (admin.listen is empty): " +
	"set it, or pass --url")

func newHealthCmd(g *globalFlags) *cobra.Command {
	var url string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Exit 0 if the running daemon is ready, 1 if not (for health checks)",
		Long: `Ask the running daemon's /readyz and print its answer. The exit status
is 0 when it is ready and 1 otherwise, as container HEALTHCHECKs expect.
Without --url, the address comes from the config's admin.listen (an
unspecified host such as 0.0.0.0 is asked on loopback); if the config cannot
be read, ` + defaultReadyURL + ` is asked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("url") {
				var err error
				if url, err = g.readyURL(); err != nil {
					return err
				}
			}
			return checkReady(cmd.Context(), url, timeout, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&url, "url", defaultReadyURL,
		"readiness URL (default: from the config's admin.listen)")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "give up after this long")
	return cmd
}

// readyURL derives the readiness URL from the config's admin.listen. Only
// the file and the environment are read: the check must not fail because a
// secret file is unreadable or another key is invalid.
func (g *globalFlags) readyURL() (string, error) {
	raw, err := os.ReadFile(g.configPath)
	if err != nil {
		return defaultReadyURL, nil
	}
	cfg, err := config.Parse(bytes.NewReader(raw))
	if err != nil || cfg.ApplyEnv(os.Environ()) != nil {
		return defaultReadyURL, nil
	}
	if cfg.Admin.Listen == "" {
		return "", errAdminOff
	}
	return readyURLFor(cfg.Admin.Listen)
}

// readyURLFor turns a listen address into the URL to ask, on loopback
// when the address listens on every interface.
func readyURLFor(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("admin.listen %q: %w", listen, err)
	}
	switch ip := net.ParseIP(host); {
	case host == "" || ip != nil && ip.Equal(net.IPv4zero):
		host = "127.0.0.1"
	case ip != nil && ip.Equal(net.IPv6unspecified):
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

// checkReady asks url once and prints the answer's body to out. Any answer
// but 200 is an exitError with status 1.
func checkReady(ctx context.Context, url string, timeout time.Duration, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("asking %s: %w", url, err)
	}
	// No proxy and no kept-alive connection: a one-shot local question.
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("asking %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("reading the answer of %s: %w", url, err)
	}
	if _, err := out.Write(body); err != nil {
		return fmt.Errorf("printing readiness: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return &exitError{code: 1, err: fmt.Errorf("not ready: %s answered %s", url, resp.Status)}
	}
	return nil
}
