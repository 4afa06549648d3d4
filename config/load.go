package config

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
)

// Default returns the configuration an empty file would mean, before
// validation (which an empty file fails: it names no store).
func Default() *Config {
	return &Config{
		Database: "/var/lib/opencals-sync/state.db",
		Mode:     ModePoll,
		Log:      Log{Level: "info", Format: "auto"},
		Admin:    Admin{Listen: "127.0.0.1:9090"},
		Sync: Sync{
			Interval:    15 * time.Minute,
			MaxAge:      time.Hour,
			Baseline:    "silent",
			Concurrency: 4,
			Completion:  Completion{Verify: true, Lead: 2 * time.Minute, CatchUp: 24 * time.Hour},
		},
		Delivery: Delivery{Concurrency: 16},
		Webhook: Webhook{
			Listen:    "0.0.0.0:8080",
			Path:      "/webhooks/opencals",
			Signature: "opencals",
			Tolerance: 5 * time.Minute,
			MaxBody:   1 << 20,
		},
	}
}

// DefaultTiers are the tiers used when the file names none.
func DefaultTiers() []Tier {
	return []Tier{
		{Name: "imminent", BoundaryWithin: 2 * time.Hour, Interval: time.Minute},
		{Name: "recent", ChangedWithin: 24 * time.Hour, Interval: 5 * time.Minute},
	}
}

// Parse reads a YAML document into a Config: defaults first, the document on
// top. Unknown keys are errors (a typo must not silently mean a default).
// It reads no environment and no files; see Load.
func Parse(r io.Reader) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(r); err != nil {
		return nil, fmt.Errorf("parsing YAML: %w", err)
	}
	cfg := Default()
	if err := v.UnmarshalExact(cfg, func(dc *mapstructure.DecoderConfig) {
		dc.WeaklyTypedInput = false
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
		)
	}); err != nil {
		return nil, fmt.Errorf("reading keys: %w", err)
	}
	cfg.fillItemDefaults()
	return cfg, nil
}

// fillItemDefaults gives list items their defaults: viper's defaults do not
// reach into lists.
func (c *Config) fillItemDefaults() {
	if c.Sync.Tiers == nil {
		c.Sync.Tiers = DefaultTiers()
	}
	for i := range c.Stores {
		s := &c.Stores[i]
		setDefault(&s.BaseURL, "https://api.opencals.com")
		setDefault(&s.RateLimit.Requests, 100)
		setDefault(&s.RateLimit.Per, 60*time.Second)
		setDefault(&s.RateLimit.AuthRequests, 20)
		setDefault(&s.RateLimit.AuthPer, 10*time.Second)
		setDefault(&s.RateLimit.Headroom, 0.9)
	}
	for i := range c.Endpoints {
		e := &c.Endpoints[i]
		setDefault(&e.Signature, "opencals")
		setDefault(&e.SignatureHeader, "Opencals-Signature")
		setDefault(&e.Timeout, 10*time.Second)
		setDefault(&e.RetryWindow, 72*time.Hour)
	}
	setDefault(&c.Webhook.SignatureHeader, "Opencals-Signature")
}

func setDefault[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// Load reads the file at path, applies environment overrides from environ
// (os.Environ() in production), reads secret files (relative paths are
// relative to the config file) and validates the result.
func Load(path string, environ []string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	cfg, err := Parse(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := cfg.ApplyEnv(environ); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := cfg.ReadSecretFiles(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// ReadSecretFiles fills each secret from its _file key. Setting both a
// secret and its file is left for Validate to report.
func (c *Config) ReadSecretFiles(baseDir string) error {
	read := func(key, file string, into *Secret) error {
		if file == "" || *into != "" {
			return nil
		}
		if !filepath.IsAbs(file) {
			file = filepath.Join(baseDir, file)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		*into = Secret(strings.TrimSpace(string(b)))
		if *into == "" {
			return fmt.Errorf("%s: %s is empty", key, file)
		}
		return nil
	}
	if err := read("admin.token_file", c.Admin.TokenFile, &c.Admin.Token); err != nil {
		return err
	}
	for i := range c.Stores {
		key := fmt.Sprintf("stores[%d].api_key_file", i)
		if err := read(key, c.Stores[i].APIKeyFile, &c.Stores[i].APIKey); err != nil {
			return err
		}
	}
	for i := range c.Endpoints {
		key := fmt.Sprintf("endpoints[%d].secret_file", i)
		if err := read(key, c.Endpoints[i].SecretFile, &c.Endpoints[i].Secret); err != nil {
			return err
		}
	}
	return read("webhook.secret_file", c.Webhook.SecretFile, &c.Webhook.Secret)
}
