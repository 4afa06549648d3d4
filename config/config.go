// Package config reads, validates and watches opencals-sync's YAML file.
//
// viper stays at this edge: a file is parsed once into a typed Config with
// defaults, environment overrides are applied, secret files are read, and
// Validate names the key of every problem. The rest of the program only ever
// sees a whole, valid *Config.
package config

import (
	"log/slog"
	"time"
)

// EnvPrefix starts every environment variable that overrides a key:
// sync.interval is OPENCALS_SYNC_SYNC_INTERVAL, the first store's api_key is
// OPENCALS_SYNC_STORES_0_API_KEY.
const EnvPrefix = "OPENCALS_SYNC"

// Mode says where events come from.
type Mode string

// The modes.
const (
	// ModePoll synthesizes events by polling the API. The default.
	ModePoll Mode = "poll"
	// ModeWebhook receives Opencals' real webhooks and stops polling.
	ModeWebhook Mode = "webhook"
	// ModeHybrid receives webhooks and keeps polling as reconciliation.
	ModeHybrid Mode = "hybrid"
)

// Config is the whole configuration. Each field documents its default: a
// key absent from the file keeps it. Inside list items (stores, endpoints,
// tiers) a zero value means the default.
type Config struct {
	// Database is the SQLite file. Default /var/lib/opencals-sync/state.db.
	Database string `mapstructure:"database" yaml:"database"`
	// Mode is poll, webhook or hybrid. Default poll.
	Mode      Mode       `mapstructure:"mode" yaml:"mode"`
	Log       Log        `mapstructure:"log" yaml:"log"`
	Admin     Admin      `mapstructure:"admin" yaml:"admin"`
	Stores    []Store    `mapstructure:"stores" yaml:"stores"`
	Sync      Sync       `mapstructure:"sync" yaml:"sync"`
	Delivery  Delivery   `mapstructure:"delivery" yaml:"delivery"`
	Endpoints []Endpoint `mapstructure:"endpoints" yaml:"endpoints"`
	Webhook   Webhook    `mapstructure:"webhook" yaml:"webhook"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error. Default info.
	Level string `mapstructure:"level" yaml:"level"`
	// Format is auto (colours on a terminal, JSON otherwise), text or json.
	// Default auto.
	Format string `mapstructure:"format" yaml:"format"`
}

// SlogLevel returns the configured level; Validate has checked it parses.
func (l Log) SlogLevel() slog.Level {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(l.Level))
	return lv
}

// Admin configures the admin listener: health, metrics and the customer
// registration endpoint.
type Admin struct {
	// Listen is the address. Default 127.0.0.1:9090; empty after an
	// explicit "" disables the listener.
	Listen string `mapstructure:"listen" yaml:"listen"`
	// Token is the bearer token for POST /v1/customers. Default none, which
	// disables that endpoint.
	Token     Secret `mapstructure:"token" yaml:"token"`
	TokenFile string `mapstructure:"token_file" yaml:"token_file"`
}

// Store is one Opencals store and its API key.
type Store struct {
	// Name identifies the store in logs, metrics and the CLI. Required.
	Name string `mapstructure:"name" yaml:"name"`
	// ID is the Opencals store id event ids derive from. Default: read from
	// the API's catalog at start (one request).
	ID string `mapstructure:"id" yaml:"id"`
	// BaseURL is the API's address. Default https://api.opencals.com.
	BaseURL string `mapstructure:"base_url" yaml:"base_url"`
	// APIKey (or APIKeyFile) is the store's sfk_ key. Required.
	APIKey     Secret    `mapstructure:"api_key" yaml:"api_key"`
	APIKeyFile string    `mapstructure:"api_key_file" yaml:"api_key_file"`
	RateLimit  RateLimit `mapstructure:"rate_limit" yaml:"rate_limit"`
}

// RateLimit is the API key's budget as Opencals documents it.
type RateLimit struct {
	// Requests per Per for data endpoints. Default 100 per 60s.
	Requests int           `mapstructure:"requests" yaml:"requests"`
	Per      time.Duration `mapstructure:"per" yaml:"per"`
	// AuthRequests per AuthPer for /storefront/auth/*. Default 20 per 10s.
	AuthRequests int           `mapstructure:"auth_requests" yaml:"auth_requests"`
	AuthPer      time.Duration `mapstructure:"auth_per" yaml:"auth_per"`
	// Headroom is the share of the budget opencals-sync may use, leaving the
	// rest for clock skew and other clients of the key. Default 0.9.
	Headroom float64 `mapstructure:"headroom" yaml:"headroom"`
}

// Sync configures polling.
type Sync struct {
	// Interval is the time between two looks at a customer no tier claims.
	// Default 15m; at least 10s.
	Interval time.Duration `mapstructure:"interval" yaml:"interval"`
	// MaxAge is the longest any customer waits between looks, whatever the
	// tiers say. Default 1h.
	MaxAge time.Duration `mapstructure:"max_age" yaml:"max_age"`
	// Tiers poll some customers more often; the first tier a customer
	// matches wins. Default: imminent (a start or end within 2h, every 1m)
	// and recent (a change within 24h, every 5m).
	Tiers []Tier `mapstructure:"tiers" yaml:"tiers"`
	// Baseline is what the first look at a customer emits: silent, emit or
	// when_needed. Default silent.
	Baseline string `mapstructure:"baseline" yaml:"baseline"`
	// Concurrency is how many customers are polled at once. Default 4.
	Concurrency int        `mapstructure:"concurrency" yaml:"concurrency"`
	Completion  Completion `mapstructure:"completion" yaml:"completion"`
}

// Tier is a class of customers polled at their own interval. A tier with
// neither window set matches every customer.
type Tier struct {
	Name string `mapstructure:"name" yaml:"name"`
	// BoundaryWithin matches customers with an appointment starting or
	// ending within this time. Zero: not used.
	BoundaryWithin time.Duration `mapstructure:"boundary_within" yaml:"boundary_within"`
	// ChangedWithin matches customers with an event within this time.
	// Zero: not used.
	ChangedWithin time.Duration `mapstructure:"changed_within" yaml:"changed_within"`
	// Interval is the time between looks at a customer of this tier, at
	// least 10s. Tiers only speed customers up: sync.interval and
	// sync.max_age cap it.
	Interval time.Duration `mapstructure:"interval" yaml:"interval"`
}

// Completion configures appointment.completed, which is time-based.
type Completion struct {
	// Verify re-polls a customer just before an appointment ends, so a
	// last-minute cancellation or reschedule is not missed. Costs one look.
	// Default true.
	Verify bool `mapstructure:"verify" yaml:"verify"`
	// Lead is how long before the end time the verifying look happens.
	// Default 2m.
	Lead time.Duration `mapstructure:"lead" yaml:"lead"`
	// CatchUp is how late a completion may still be emitted after downtime;
	// older ones are recorded without an event. Default 24h.
	CatchUp time.Duration `mapstructure:"catch_up" yaml:"catch_up"`
}

// Delivery configures the dispatcher.
type Delivery struct {
	// Concurrency bounds deliveries in flight across endpoints. Default 16.
	Concurrency int `mapstructure:"concurrency" yaml:"concurrency"`
}

// Endpoint is one handler events are delivered to: an HTTP URL or a
// command.
type Endpoint struct {
	// Name identifies the endpoint in logs, metrics and the CLI. Required.
	Name string `mapstructure:"name" yaml:"name"`
	// URL receives a signed POST per event. Exactly one of URL and Command.
	URL string `mapstructure:"url" yaml:"url"`
	// Command runs with the event JSON on stdin; exit 0 means delivered.
	Command []string `mapstructure:"command" yaml:"command"`
	// Secret (or SecretFile) signs HTTP deliveries. Required for URL.
	// Secrets lists further secrets during a rotation: with
	// standard-webhooks every one signs (receivers accept any); the opencals
	// scheme carries one signature, made with the first secret.
	Secret     Secret   `mapstructure:"secret" yaml:"secret"`
	SecretFile string   `mapstructure:"secret_file" yaml:"secret_file"`
	Secrets    []Secret `mapstructure:"secrets" yaml:"secrets"`
	// Signature is opencals (hex HMAC-SHA256 of the body in
	// SignatureHeader) or standard-webhooks. Default opencals.
	Signature string `mapstructure:"signature" yaml:"signature"`
	// SignatureHeader names the header of the opencals scheme. Default
	// Opencals-Signature.
	SignatureHeader string `mapstructure:"signature_header" yaml:"signature_header"`
	// Events filters by type: exact names or globs such as appointment.*.
	// Default every event.
	Events []string `mapstructure:"events" yaml:"events"`
	// Timeout bounds one attempt. Default 10s.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout"`
	// RetryWindow is how long an event is retried before it is failed.
	// Default 72h.
	RetryWindow time.Duration `mapstructure:"retry_window" yaml:"retry_window"`
	// Headers are added to every HTTP delivery.
	Headers map[string]string `mapstructure:"headers" yaml:"headers"`
}

// Webhook configures the receiver of Opencals' real webhooks (webhook and
// hybrid modes).
type Webhook struct {
	// Listen is the receiver's address. Default 0.0.0.0:8080.
	Listen string `mapstructure:"listen" yaml:"listen"`
	// Path is where Opencals posts. Default /webhooks/opencals.
	Path string `mapstructure:"path" yaml:"path"`
	// Secret (or SecretFile, or Secrets during a rotation) verifies
	// deliveries. Required in webhook and hybrid modes.
	Secret     Secret   `mapstructure:"secret" yaml:"secret"`
	SecretFile string   `mapstructure:"secret_file" yaml:"secret_file"`
	Secrets    []Secret `mapstructure:"secrets" yaml:"secrets"`
	// Signature is opencals or standard-webhooks. Default opencals.
	Signature       string `mapstructure:"signature" yaml:"signature"`
	SignatureHeader string `mapstructure:"signature_header" yaml:"signature_header"`
	// Tolerance is the accepted clock difference for standard-webhooks
	// timestamps. Default 5m.
	Tolerance time.Duration `mapstructure:"tolerance" yaml:"tolerance"`
	// MaxBody bounds a request body in bytes. Default 1 MiB.
	MaxBody int64 `mapstructure:"max_body" yaml:"max_body"`
}

// Secret is a string that never prints: fmt, slog and YAML output show a
// mask. Use Value to read it.
type Secret string

const secretMask = "********"

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// String masks the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return secretMask
}

// GoString masks the secret under %#v.
func (s Secret) GoString() string { return s.String() }

// LogValue masks the secret in structured logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalYAML masks the secret when a config is printed.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText masks the secret in JSON and other text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
