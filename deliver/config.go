package deliver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/config"
	"github.com/opencals-sync/opencals-sync/event"
)

// BuildOptions is what building endpoints needs besides their
// configuration.
type BuildOptions struct {
	// UserAgent names the sender in HTTP deliveries, for example
	// "opencals-sync/1.2.0".
	UserAgent string
	// Transport is shared by the HTTP endpoints; nil means a new
	// NewTransport().
	Transport http.RoundTripper
	Clock     clockwork.Clock
	// Logger receives commands' output at debug level, scoped by endpoint.
	Logger *slog.Logger
}

// EndpointsFromConfig builds the configured endpoints. Errors name the
// endpoint and wrap ErrInvalidEndpoint or the signer's error; they never
// quote a secret.
func EndpointsFromConfig(eps []config.Endpoint, opts BuildOptions) ([]Endpoint, error) {
	if opts.Transport == nil {
		opts.Transport = NewTransport()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	out := make([]Endpoint, 0, len(eps))
	for _, c := range eps {
		ep, err := endpointFromConfig(c, opts)
		if err != nil {
			return nil, fmt.Errorf("endpoint %s: %w", c.Name, err)
		}
		out = append(out, ep)
	}
	return out, nil
}

func endpointFromConfig(c config.Endpoint, opts BuildOptions) (Endpoint, error) {
	filter, err := NewFilter(c.Events)
	if err != nil {
		return Endpoint{}, err
	}
	ep := Endpoint{Name: c.Name, Filter: filter, RetryWindow: c.RetryWindow,
		Fingerprint: fingerprint(c)}
	if len(c.Command) > 0 {
		ep.Handler, err = NewExecHandler(ExecOptions{
			Command: c.Command, Timeout: c.Timeout,
			Logger: opts.Logger.With("component", "deliver", "endpoint", c.Name),
		})
		return ep, err
	}
	secrets := make([]string, 0, len(c.AllSecrets()))
	for _, s := range c.AllSecrets() {
		secrets = append(secrets, s.Value())
	}
	signer, err := event.NewSigner(event.Scheme(c.Signature), c.SignatureHeader, secrets)
	if err != nil {
		return Endpoint{}, err
	}
	ep.Handler, err = NewHTTPHandler(HTTPOptions{
		URL: c.URL, Signer: signer, Timeout: c.Timeout, Headers: c.Headers,
		UserAgent: opts.UserAgent, Transport: opts.Transport, Clock: opts.Clock,
	})
	return ep, err
}

// fingerprint identifies an endpoint's target without storing it: a URL
// may carry credentials.
func fingerprint(c config.Endpoint) string {
	target, _ := json.Marshal([]any{c.URL, c.Command})
	sum := sha256.Sum256(target)
	return hex.EncodeToString(sum[:8])
}
