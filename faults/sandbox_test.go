//go:build faults

package faults

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/opencals/sandbox"
)

// sandboxProc is the sandbox child and how to reach it.
type sandboxProc struct {
	*proc
	url, storeID, apiKey string
}

// startSandbox starts the sandbox as its own process.
func startSandbox(t *testing.T, logs string, spec sandboxSpec) *sandboxProc {
	t.Helper()
	raw, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=sandbox", sandboxSpecEnv+"="+string(raw))
	p, line := startProc(t, "sandbox", filepath.Join(logs, "sandbox.log"), cmd, true, true)
	var hello sandboxHello
	if err := json.Unmarshal([]byte(line), &hello); err != nil {
		t.Fatalf("sandbox hello %q: %v", line, err)
	}
	return &sandboxProc{proc: p, url: hello.URL, storeID: hello.StoreID, apiKey: spec.APIKey}
}

func (sb *sandboxProc) customers(t *testing.T) []sandbox.Customer {
	t.Helper()
	var out struct {
		Customers []sandbox.Customer `json:"customers"`
	}
	if err := getJSON(sb.url+"/sandbox/customers", &out); err != nil {
		t.Fatal(err)
	}
	return out.Customers
}

// changes returns the change log after seq since.
func (sb *sandboxProc) changes(t *testing.T, since int64) []sandbox.Change {
	t.Helper()
	var out struct {
		Changes []sandbox.Change `json:"changes"`
	}
	u := sb.url + "/sandbox/changes?since=" + strconv.FormatInt(since, 10)
	if err := getJSON(u, &out); err != nil {
		t.Fatal(err)
	}
	return out.Changes
}

// lastSeq is the seq of the latest change, 0 when none.
func (sb *sandboxProc) lastSeq(t *testing.T) int64 {
	t.Helper()
	cs := sb.changes(t, 0)
	if len(cs) == 0 {
		return 0
	}
	return cs[len(cs)-1].Seq
}

func (sb *sandboxProc) stats(t *testing.T) sandbox.Stats {
	t.Helper()
	var st sandbox.Stats
	if err := getJSON(sb.url+"/sandbox/stats", &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// apiFaults is the body of POST /sandbox/faults.
type apiFaults struct {
	ErrorRate     float64 `json:"errorRate"`
	Latency       string  `json:"latency,omitempty"`
	MalformedRate float64 `json:"malformedRate"`
	TruncateRate  float64 `json:"truncateRate"`
	ShiftRate     float64 `json:"shiftRate"`
}

func (sb *sandboxProc) setFaults(t *testing.T, f apiFaults) {
	t.Helper()
	if err := send(http.MethodPost, sb.url+"/sandbox/faults", f, nil, nil); err != nil {
		t.Fatal(err)
	}
}

func (sb *sandboxProc) revoke(t *testing.T, customerID string) {
	t.Helper()
	err := send(http.MethodPost, sb.url+"/sandbox/revoke-tokens",
		map[string]string{"customerId": customerID}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
}

// book makes a booking for the customer through the admin endpoint.
func (sb *sandboxProc) book(t *testing.T, customerID string, from, to time.Time) {
	t.Helper()
	err := send(http.MethodPost, sb.url+"/sandbox/book",
		map[string]any{"customerId": customerID, "from": from, "to": to}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
}

// startActivity starts the merchant activity and returns the seq of the
// last change before it.
func (sb *sandboxProc) startActivity(t *testing.T, every time.Duration) int64 {
	t.Helper()
	since := sb.lastSeq(t)
	if err := send(http.MethodPost, sb.url+"/faults/activity?every="+every.String(), nil, nil,
		nil); err != nil {
		t.Fatal(err)
	}
	return since
}

// stopActivity stops it; nothing changes in the sandbox afterwards
// unless a fault inserts items.
func (sb *sandboxProc) stopActivity(t *testing.T) activityStopped {
	t.Helper()
	var out activityStopped
	if err := send(http.MethodDelete, sb.url+"/faults/activity", nil, &out, nil); err != nil {
		t.Fatal(err)
	}
	return out
}

// storefront calls the API with the store's key, as another client of the
// key would; bearer may be "".
func (sb *sandboxProc) storefront(method, path, bearer string, in, out any) error {
	h := http.Header{"X-Api-Key": {sb.apiKey}}
	if bearer != "" {
		h.Set("Authorization", "Bearer "+bearer)
	}
	return send(method, sb.url+path, in, out, h)
}

// probeLeakedFields signs one customer in under a session of its own and
// reads, from one appointment, the credentials the API leaks in nested
// objects (customer.password, staffMember.refreshToken): neither may ever
// reach a log or an event.
func (w *world) probeLeakedFields() {
	w.t.Helper()
	c := w.customers[0]
	var tokens struct {
		AccessToken string `json:"accessToken"`
	}
	err := w.sb.storefront(http.MethodPost, "/storefront/auth/sign-in", "",
		map[string]string{"email": c.Email, "password": c.Password, "tokenName": "faults-probe"},
		&tokens)
	if err != nil {
		w.t.Fatalf("probe sign-in: %v", err)
	}
	var page struct {
		Data []struct {
			Customer struct {
				Password string `json:"password"`
			} `json:"customer"`
			StaffMember struct {
				RefreshToken string `json:"refreshToken"`
			} `json:"staffMember"`
		} `json:"data"`
	}
	q := url.Values{"take": {"100"}}
	err = w.sb.storefront(http.MethodGet, "/storefront/appointments?"+q.Encode(),
		tokens.AccessToken, nil, &page)
	if err != nil || len(page.Data) == 0 {
		w.t.Fatalf("probe listing: %v (%d items)", err, len(page.Data))
	}
	for _, a := range page.Data {
		w.s.remember("customer.password (nested)", a.Customer.Password)
		w.s.remember("staffMember.refreshToken (nested)", a.StaffMember.RefreshToken)
	}
}

// burn spends the key's budget as another client would, until the API
// answers 429: the daemon then meets a storm of 429s. It returns the
// requests made.
func (sb *sandboxProc) burn(max int) int {
	for i := 1; i <= max; i++ {
		err := sb.storefront(http.MethodGet, "/storefront/products", "", nil, nil)
		if err != nil && strings.Contains(err.Error(), ": 429 ") {
			return i
		}
	}
	return max
}
