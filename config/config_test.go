package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const minimal = `
database: /tmp/state.db
stores:
  - name: main
    api_key: sfk_minimal
`

func mustParse(t *testing.T, doc string) *Config {
	t.Helper()
	cfg, err := Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatalf("Parse() = %v", err)
	}
	return cfg
}

func TestExampleFileIsValidAndMatchesDefaults(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, string(raw))
	cfg.Stores[0].APIKey = "sfk_example"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate(example) = %v", err)
	}

	// The example documents every default: parsing it must give what an
	// almost empty file gives.
	want := mustParse(t, minimal)
	want.Database = cfg.Database
	want.Stores[0].APIKey = "sfk_example"
	want.Stores[0].APIKeyFile = "/etc/opencals-sync/api-key"
	want.Endpoints = []Endpoint{}
	want.Webhook.Secrets = []Secret{}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("example differs from defaults (-defaults +example):\n%s", diff)
	}
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, minimal)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	s := cfg.Stores[0]
	if s.BaseURL != "https://api.opencals.com" || s.RateLimit.Requests != 100 ||
		s.RateLimit.Per != time.Minute || s.RateLimit.Headroom != 0.9 {
		t.Errorf("store defaults = %+v", s)
	}
	if got, want := cfg.Sync.Tiers, DefaultTiers(); !cmp.Equal(got, want) {
		t.Errorf("tiers = %v; want %v", got, want)
	}
	if !cfg.Sync.Completion.Verify || cfg.Sync.Interval != 15*time.Minute {
		t.Errorf("sync defaults = %+v", cfg.Sync)
	}
}

func TestShortMaxAgeCapsTheDefaultTiers(t *testing.T) {
	t.Parallel()
	// The default tiers' 5m exceeds this max_age: max_age caps it, it is
	// not an error in keys the file never wrote.
	cfg := mustParse(t, minimal+"sync: {interval: 10s, max_age: 1m}\n")
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate() = %v; want the default tiers accepted under a short max_age", err)
	}
}

func TestParseKeepsExplicitFalseAndEmptyTiers(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, minimal+`
sync:
  tiers: []
  completion: {verify: false}
`)
	if cfg.Sync.Completion.Verify {
		t.Error("completion.verify: false was replaced by the default")
	}
	if len(cfg.Sync.Tiers) != 0 {
		t.Errorf("tiers: [] gave %v; want none", cfg.Sync.Tiers)
	}
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		doc     string
		wantErr string
	}{
		{name: "unknown key", doc: minimal + "sync: {intervall: 5m}\n", wantErr: "intervall"},
		{name: "bad yaml", doc: "stores: [\n", wantErr: "parsing YAML"},
		{name: "bad duration", doc: minimal + "sync: {interval: soon}\n", wantErr: "interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(strings.NewReader(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse() = %v; want an error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{name: "empty file", doc: "", want: "stores: at least one store is required"},
		{name: "short interval", doc: minimal + "sync: {interval: 2s}\n",
			want: "sync.interval: must be at least 10s, got 2s"},
		{name: "max age below interval", doc: minimal + "sync: {interval: 20m, max_age: 10m}\n",
			want: "sync.max_age: must be at least sync.interval (20m0s), got 10m0s"},
		{name: "bad mode", doc: minimal + "mode: push\n",
			want: `mode: must be poll, webhook or hybrid, got "push"`},
		{name: "bad level", doc: minimal + "log: {level: loud}\n",
			want: `log.level: must be debug, info, warn or error, got "loud"`},
		{name: "missing api key", doc: "stores: [{name: main}]\n",
			want: "stores[0].api_key: is required (or api_key_file)"},
		{name: "duplicate store", doc: minimal + "  - {name: main, api_key: k}\n",
			want: `stores[1].name: "main" is used twice`},
		{name: "headroom", doc: "stores: [{name: m, api_key: k, rate_limit: {headroom: 1.5}}]\n",
			want: "stores[0].rate_limit.headroom: must be in (0, 1], got 1.5"},
		{name: "tier interval", doc: minimal + "sync: {tiers: [{name: x, interval: 5s}]}\n",
			want: "sync.tiers[0].interval: must be at least 10s, got 5s"},
		{name: "bad baseline", doc: minimal + "sync: {baseline: loud}\n",
			want: `sync.baseline: must be silent, emit or when_needed, got "loud"`},
		{name: "endpoint without target", doc: minimal + "endpoints: [{name: e}]\n",
			want: "endpoints[0]: needs url or command"},
		{name: "endpoint without secret", doc: minimal + "endpoints: [{name: e, url: 'https://x.test/h'}]\n",
			want: "endpoints[0].secret: is required to sign"},
		{name: "endpoint filter", doc: minimal +
			"endpoints: [{name: e, command: [x], events: [appointment.moved]}]\n",
			want: `endpoints[0].events[0]: "appointment.moved" matches no event type`},
		{name: "standard webhooks secret", doc: minimal +
			"endpoints: [{name: e, url: 'https://x.test', secret: plain, signature: standard-webhooks}]\n",
			want: "endpoints[0].secrets[0]: standard-webhooks secrets look like whsec_<base64>"},
		{name: "webhook secret in webhook mode", doc: minimal + "mode: webhook\n",
			want: "webhook.secret: is required to sign"},
		{name: "admin listen", doc: minimal + "admin: {listen: nowhere}\n",
			want: `admin.listen: must be host:port, got "nowhere"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := mustParse(t, tt.doc).Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v; want it to contain %q", err, tt.want)
			}
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Errorf("Validate() error %T is not a *KeyError", err)
			}
		})
	}
}

func TestApplyEnv(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, minimal)
	err := cfg.ApplyEnv([]string{
		"OPENCALS_SYNC_LOG_LEVEL=debug",
		"OPENCALS_SYNC_SYNC_INTERVAL=30s",
		"OPENCALS_SYNC_SYNC_COMPLETION_VERIFY=false",
		"OPENCALS_SYNC_STORES_0_API_KEY=sfk_from_env",
		"OPENCALS_SYNC_STORES_1_NAME=second",
		"OPENCALS_SYNC_STORES_1_API_KEY=sfk_second",
		"OPENCALS_SYNC_ENDPOINTS_0_NAME=hook",
		"OPENCALS_SYNC_ENDPOINTS_0_COMMAND=/bin/true",
		"OPENCALS_SYNC_ENDPOINTS_0_EVENTS=order.paid, appointment.*",
		"UNRELATED=1",
	})
	if err != nil {
		t.Fatalf("ApplyEnv() = %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
	if cfg.Log.Level != "debug" || cfg.Sync.Interval != 30*time.Second || cfg.Sync.Completion.Verify {
		t.Errorf("scalars not overridden: log=%v sync=%+v", cfg.Log, cfg.Sync)
	}
	if got := len(cfg.Stores); got != 2 {
		t.Fatalf("stores = %d; want 2 (one appended from the environment)", got)
	}
	if cfg.Stores[0].APIKey.Value() != "sfk_from_env" || cfg.Stores[1].RateLimit.Requests != 100 {
		t.Errorf("stores = %+v", cfg.Stores)
	}
	if want := []string{"order.paid", "appointment.*"}; !cmp.Equal(cfg.Endpoints[0].Events, want) {
		t.Errorf("events = %q; want %q", cfg.Endpoints[0].Events, want)
	}
}

func TestApplyEnvRejectsBadValue(t *testing.T) {
	t.Parallel()
	err := mustParse(t, minimal).ApplyEnv([]string{"OPENCALS_SYNC_SYNC_INTERVAL=often"})
	if err == nil || !strings.Contains(err.Error(), "sync.interval (from OPENCALS_SYNC_SYNC_INTERVAL)") {
		t.Errorf("ApplyEnv() = %v; want an error naming the key and variable", err)
	}
}

func TestLoadReadsSecretFilesAndPrintsThemMasked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "api-key"), "sfk_secret_from_file\n")
	writeFile(t, filepath.Join(dir, "hook-secret"), "hook-secret-value")
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, `
database: state.db
stores: [{name: main, api_key_file: api-key}]
endpoints: [{name: crm, url: "https://crm.test/h", secret_file: hook-secret}]
`)
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatalf("Load() = %v", err)
	}
	if got := cfg.Stores[0].APIKey.Value(); got != "sfk_secret_from_file" {
		t.Errorf("api key = %q; want the file's content, trimmed", got)
	}
	var out bytes.Buffer
	if err := cfg.Write(&out); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"sfk_secret_from_file", "hook-secret-value"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("printed config contains a secret:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), "interval: 15m0s") {
		t.Errorf("printed config lacks the effective interval:\n%s", out.String())
	}
}

func TestLoadMissingSecretFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, "stores: [{name: main, api_key_file: nope}]\n")
	_, err := Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), "stores[0].api_key_file") {
		t.Errorf("Load() = %v; want an error naming stores[0].api_key_file", err)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
