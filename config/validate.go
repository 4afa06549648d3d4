package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/opencals-sync/opencals-sync/event"
)

// MinInterval is the shortest poll interval accepted, for sync.interval and
// every tier.
const MinInterval = 10 * time.Second

// KeyError is one problem with one key.
type KeyError struct {
	Key     string
	Problem string
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Problem }

// problems collects KeyErrors so Validate reports all of them at once.
type problems []error

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, &KeyError{Key: key, Problem: fmt.Sprintf(format, args...)})
}

// Validate reports every invalid key, joined; each error is a *KeyError.
func (c *Config) Validate() error {
	var p problems
	if c.Database == "" {
		p.add("database", "must name the SQLite file")
	}
	switch c.Mode {
	case ModePoll, ModeWebhook, ModeHybrid:
	default:
		p.add("mode", "must be poll, webhook or hybrid, got %q", c.Mode)
	}
	c.validateLog(&p)
	validateAddr(&p, "admin.listen", c.Admin.Listen, true)
	c.validateStores(&p)
	c.validateSync(&p)
	if c.Delivery.Concurrency < 1 {
		p.add("delivery.concurrency", "must be at least 1, got %d", c.Delivery.Concurrency)
	}
	c.validateEndpoints(&p)
	c.validateWebhook(&p)
	return errors.Join(p...)
}

func (c *Config) validateLog(p *problems) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(c.Log.Level)); err != nil {
		p.add("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "text", "json":
	default:
		p.add("log.format", "must be auto, text or json, got %q", c.Log.Format)
	}
}

func (c *Config) validateStores(p *problems) {
	if len(c.Stores) == 0 {
		p.add("stores", "at least one store is required (name, base_url, api_key or api_key_file)")
	}
	seen := make(map[string]bool)
	for i, s := range c.Stores {
		key := fmt.Sprintf("stores[%d]", i)
		if s.Name == "" {
			p.add(key+".name", "is required")
		} else if seen[s.Name] {
			p.add(key+".name", "%q is used twice", s.Name)
		}
		seen[s.Name] = true
		validateURL(p, key+".base_url", s.BaseURL)
		if s.APIKey == "" {
			p.add(key+".api_key", "is required (or api_key_file)")
		}
		r := s.RateLimit
		if r.Requests < 1 || r.Per <= 0 {
			p.add(key+".rate_limit", "requests and per must be positive, got %d per %s",
				r.Requests, r.Per)
		}
		if r.AuthRequests < 1 || r.AuthPer <= 0 {
			p.add(key+".rate_limit", "auth_requests and auth_per must be positive, got %d per %s",
				r.AuthRequests, r.AuthPer)
		}
		if r.Headroom <= 0 || r.Headroom > 1 {
			p.add(key+".rate_limit.headroom", "must be in (0, 1], got %g", r.Headroom)
		}
	}
}

func (c *Config) validateSync(p *problems) {
	s := c.Sync
	if s.Interval < MinInterval {
		p.add("sync.interval", "must be at least %s, got %s", MinInterval, s.Interval)
	}
	if s.MaxAge < s.Interval {
		p.add("sync.max_age", "must be at least sync.interval (%s), got %s", s.Interval, s.MaxAge)
	}
	for i, t := range s.Tiers {
		key := fmt.Sprintf("sync.tiers[%d]", i)
		if t.Name == "" {
			p.add(key+".name", "is required")
		}
		// Longer than max_age is fine: max_age caps every interval.
		if t.Interval < MinInterval {
			p.add(key+".interval", "must be at least %s, got %s", MinInterval, t.Interval)
		}
		if t.BoundaryWithin < 0 || t.ChangedWithin < 0 {
			p.add(key, "boundary_within and changed_within must not be negative")
		}
	}
	switch s.Baseline {
	case "silent", "emit", "when_needed":
	default:
		p.add("sync.baseline", "must be silent, emit or when_needed, got %q", s.Baseline)
	}
	if s.Concurrency < 1 || s.Concurrency > 64 {
		p.add("sync.concurrency", "must be between 1 and 64, got %d", s.Concurrency)
	}
	if s.Completion.Lead < 0 || s.Completion.Lead > time.Hour {
		p.add("sync.completion.lead", "must be between 0s and 1h, got %s", s.Completion.Lead)
	}
	if s.Completion.CatchUp < 0 {
		p.add("sync.completion.catch_up", "must not be negative, got %s", s.Completion.CatchUp)
	}
}

func (c *Config) validateEndpoints(p *problems) {
	seen := make(map[string]bool)
	for i, e := range c.Endpoints {
		key := fmt.Sprintf("endpoints[%d]", i)
		if e.Name == "" {
			p.add(key+".name", "is required")
		} else if seen[e.Name] {
			p.add(key+".name", "%q is used twice", e.Name)
		}
		seen[e.Name] = true
		switch {
		case e.URL == "" && len(e.Command) == 0:
			p.add(key, "needs url or command")
		case e.URL != "" && len(e.Command) > 0:
			p.add(key, "has both url and command; choose one")
		case e.URL != "":
			validateURL(p, key+".url", e.URL)
			validateSigning(p, key, e.Signature, e.SignatureHeader, e.AllSecrets())
		}
		for j, pattern := range e.Events {
			if !matchesAnyType(pattern) {
				p.add(fmt.Sprintf("%s.events[%d]", key, j),
					"%q matches no event type (known: %s)", pattern, typeList())
			}
		}
		if e.Timeout <= 0 {
			p.add(key+".timeout", "must be positive, got %s", e.Timeout)
		}
		if e.RetryWindow <= 0 {
			p.add(key+".retry_window", "must be positive, got %s", e.RetryWindow)
		}
		for name := range e.Headers {
			if name == "" || strings.ContainsAny(name, " :\r\n") {
				p.add(key+".headers", "%q is not a valid header name", name)
			}
		}
	}
}

func (c *Config) validateWebhook(p *problems) {
	if c.Mode == ModePoll {
		return
	}
	w := c.Webhook
	validateAddr(p, "webhook.listen", w.Listen, false)
	if !strings.HasPrefix(w.Path, "/") {
		p.add("webhook.path", "must start with /, got %q", w.Path)
	}
	if w.MaxBody < 1 {
		p.add("webhook.max_body", "must be positive, got %d", w.MaxBody)
	}
	if w.Tolerance <= 0 {
		p.add("webhook.tolerance", "must be positive, got %s", w.Tolerance)
	}
	validateSigning(p, "webhook", w.Signature, w.SignatureHeader, w.AllSecrets())
}

func validateSigning(p *problems, key, scheme, header string, secrets []Secret) {
	if len(secrets) == 0 {
		p.add(key+".secret", "is required to sign (or secret_file, or secrets)")
	}
	switch scheme {
	case "opencals":
		if http.CanonicalHeaderKey(header) == "" || strings.ContainsAny(header, " :\r\n") {
			p.add(key+".signature_header", "%q is not a valid header name", header)
		}
	case "standard-webhooks":
		for i, s := range secrets {
			b64, ok := strings.CutPrefix(s.Value(), "whsec_")
			if _, err := base64.StdEncoding.DecodeString(b64); !ok || err != nil {
				p.add(fmt.Sprintf("%s.secrets[%d]", key, i),
					"standard-webhooks secrets look like whsec_<base64>")
			}
		}
	default:
		p.add(key+".signature", "must be opencals or standard-webhooks, got %q", scheme)
	}
}

func validateURL(p *problems, key, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(key, "must be an http or https URL, got %q", raw)
	}
}

func validateAddr(p *problems, key, addr string, optional bool) {
	if addr == "" && optional {
		return
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		p.add(key, "must be host:port, got %q", addr)
	}
}

func matchesAnyType(pattern string) bool {
	for _, t := range event.Types {
		if ok, _ := path.Match(pattern, string(t)); ok {
			return true
		}
	}
	return false
}

func typeList() string {
	names := make([]string, len(event.Types))
	for i, t := range event.Types {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// AllSecrets is the endpoint's signing secrets, the primary one first.
func (e Endpoint) AllSecrets() []Secret { return primaryFirst(e.Secret, e.Secrets) }

// AllSecrets is the receiver's accepted secrets, the primary one first.
func (w Webhook) AllSecrets() []Secret { return primaryFirst(w.Secret, w.Secrets) }

func primaryFirst(primary Secret, more []Secret) []Secret {
	var all []Secret
	if primary != "" {
		all = append(all, primary)
	}
	for _, s := range more {
		if s != "" {
			all = append(all, s)
		}
	}
	return all
}
