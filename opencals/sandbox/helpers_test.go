package sandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testStart is where every fake clock starts.
var testStart = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

const testKey = "sfk_unit"

// harness is a sandbox on a loopback listener with a fake clock and a
// client of its own.
type harness struct {
	t      *testing.T
	sb     *Sandbox
	clock  *clockwork.FakeClock
	client *http.Client
}

// newHarness starts a sandbox. Unless cfg says otherwise it uses a fake
// clock, the key testKey, two customers and no rate limits (the fake clock
// would never free a window).
func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	clock := clockwork.NewFakeClockAt(testStart)
	if cfg.Clock == nil {
		cfg.Clock = clock
	}
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.Customers == 0 {
		cfg.Customers = 2
	}
	if cfg.RateLimit.Requests == 0 {
		cfg.RateLimit.Requests = -1
	}
	if cfg.AuthRateLimit.Requests == 0 {
		cfg.AuthRateLimit.Requests = -1
	}
	sb, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v) = %v", cfg, err)
	}
	if err := sb.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("Start() = %v", err)
	}
	transport := &http.Transport{}
	t.Cleanup(func() {
		transport.CloseIdleConnections()
		if err := sb.Close(); err != nil {
			t.Errorf("Close() = %v", err)
		}
	})
	return &harness{t: t, sb: sb, clock: clock, client: &http.Client{Transport: transport}}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// do sends an API request with the harness's key; token, when set, goes
// in the Authorization header.
func (h *harness) do(method, path, token string, body any) response {
	h.t.Helper()
	return h.send(h.sb.APIKey(), method, path, token, body)
}

// send is do with any API key.
func (h *harness) send(key, method, path, token string, body any) response {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatalf("encoding %v: %v", body, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.sb.URL()+path, rd)
	if err != nil {
		h.t.Fatalf("NewRequest(%s %s) = %v", method, path, err)
	}
	req.Header.Set("X-Api-Key", key)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("reading %s %s: %v", method, path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (h *harness) get(path, token string) response {
	h.t.Helper()
	return h.do(http.MethodGet, path, token, nil)
}

// mustGet fails the test unless the answer is 200.
func (h *harness) mustGet(path, token string) response {
	h.t.Helper()
	r := h.get(path, token)
	if r.status != http.StatusOK {
		h.t.Fatalf("GET %s = %d %s; want 200", path, r.status, r.body)
	}
	return r
}

func (h *harness) signIn(email, tokenName string) wireTokens {
	h.t.Helper()
	r := h.do(http.MethodPost, "/storefront/auth/sign-in", "",
		map[string]string{"email": email, "password": SandboxPassword, "tokenName": tokenName})
	if r.status != http.StatusOK {
		h.t.Fatalf("signing in %s = %d %s; want 200", email, r.status, r.body)
	}
	var tok wireTokens
	r.decode(h.t, &tok)
	return tok
}

func (h *harness) refresh(refreshToken string) response {
	h.t.Helper()
	return h.get("/storefront/auth/refresh", refreshToken)
}

// customer returns the i-th seeded customer (0-based) from the model; the
// customer list never changes after New.
func (h *harness) customer(i int) *customer { return h.sb.customers[i] }

// field is one line of a testdata/fields list.
type field struct {
	typ      string
	nullable bool
	optional bool
}

// loadFields reads testdata/fields/<name>.tsv.
func loadFields(t *testing.T, name string) map[string]field {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "fields", name+".tsv"))
	if err != nil {
		t.Fatalf("opening field list: %v", err)
	}
	defer f.Close()
	out := map[string]field{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 4 {
			t.Fatalf("field list %s: bad line %q", name, line)
		}
		out[cols[0]] = field{typ: cols[1], nullable: cols[2] == "nullable",
			optional: cols[3] == "optional"}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading field list %s: %v", name, err)
	}
	return out
}
