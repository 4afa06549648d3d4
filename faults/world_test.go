//go:build faults

package faults

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencals-sync/opencals-sync/opencals/sandbox"
)

// suite is what every scenario shares: the report, the directory every
// log goes to, and the secrets used, for the final check.
type suite struct {
	report *Report
	logs   string
	short  bool

	mu      sync.Mutex
	secrets map[string]map[string]bool // kind → values
}

// remember records a secret value the logs must never contain.
func (s *suite) remember(kind, value string) {
	if value == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secrets[kind] == nil {
		s.secrets[kind] = map[string]bool{}
	}
	s.secrets[kind][value] = true
}

// scaled picks the full or the -short figure.
func (s *suite) scaled(full, short int) int {
	if s.short {
		return short
	}
	return full
}

// world is one scenario's sandbox, receiver and daemon.
type world struct {
	t    *testing.T
	s    *suite
	name string
	dir  string // config, database, password file
	logs string // this scenario's logs, kept for the secrets check

	sb        *sandboxProc
	recv      *Receiver
	conf      daemonConf
	confPath  string
	daemon    *daemonLife
	lives     int
	customers []sandbox.Customer
}

// worldOptions shape a world.
type worldOptions struct {
	customers int
	tokenTTL  time.Duration
	requests  int           // the API key's budget, in the sandbox and the config
	per       time.Duration // its window
	// dir holds the database; default a temporary directory.
	dir string
}

// newWorld starts the sandbox and the receiver and writes the daemon's
// config; the daemon is not started.
func newWorld(t *testing.T, s *suite, name string, o worldOptions) *world {
	t.Helper()
	w := &world{t: t, s: s, name: name, dir: o.dir, logs: filepath.Join(s.logs, name)}
	if w.dir == "" {
		w.dir = t.TempDir()
	}
	if err := os.MkdirAll(w.logs, 0o700); err != nil {
		t.Fatal(err)
	}
	apiKey := "sfk_" + name + "_" + randomHex(12)
	s.remember("api key", apiKey)
	w.sb = startSandbox(t, w.logs, sandboxSpec{APIKey: apiKey, Customers: o.customers,
		Seed: int64(len(name)), Requests: o.requests, Per: o.per, AuthRequests: 500,
		AuthPer: 10 * time.Second, TokenTTL: o.tokenTTL})
	w.customers = w.sb.customers(t)
	secret := "whk_" + randomHex(16)
	s.remember("endpoint secret", secret)
	recv, err := StartReceiver(ReceiverOptions{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	w.recv = recv
	t.Cleanup(func() { _ = recv.Close() })
	w.conf = defaultConf(w, apiKey, secret, o)
	w.confPath = filepath.Join(w.dir, "config.yaml")
	w.writeConfig(w.conf.yaml())
	w.probeLeakedFields()
	return w
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// writeConfig replaces the config file as editors do: write, then rename.
func (w *world) writeConfig(doc string) {
	w.t.Helper()
	tmp := w.confPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(doc), 0o600); err != nil {
		w.t.Fatal(err)
	}
	if err := os.Rename(tmp, w.confPath); err != nil {
		w.t.Fatal(err)
	}
}

// registerAll registers every sandbox customer with the CLI, the password
// read from a file as operators do.
func (w *world) registerAll() {
	w.t.Helper()
	pw := filepath.Join(w.dir, "password")
	for _, c := range w.customers {
		w.s.remember("customer password", c.Password)
		if err := os.WriteFile(pw, []byte(c.Password+"\n"), 0o600); err != nil {
			w.t.Fatal(err)
		}
		w.runCLI("customers", "add", "--config", w.confPath, "--email", c.Email,
			"--password-file", pw)
	}
}

// daemonLife is one run of the daemon process.
type daemonLife struct {
	*proc
	logPath string
}

// startDaemon starts a new life of the daemon.
func (w *world) startDaemon() *daemonLife {
	w.t.Helper()
	w.lives++
	logPath := filepath.Join(w.logs, fmt.Sprintf("daemon-%03d.log", w.lives))
	cmd := exec.Command(binary, "run", "--config", w.confPath)
	p, _ := startProc(w.t, "daemon", logPath, cmd, false, false)
	w.daemon = &daemonLife{proc: p, logPath: logPath}
	return w.daemon
}

// stopDaemon stops the current life with SIGTERM and returns its exit
// code.
func (w *world) stopDaemon() int {
	w.t.Helper()
	code, err := w.daemon.stop(time.Minute)
	if err != nil {
		w.t.Errorf("stopping the daemon: %v", err)
	}
	return code
}

// adminURL waits for the current life to log its admin address.
func (w *world) adminURL() string {
	w.t.Helper()
	var addr string
	eventually(w.t, time.Minute, "the daemon's admin listener", func() bool {
		if !w.daemon.running() {
			w.t.Fatalf("the daemon exited; see %s", w.daemon.logPath)
		}
		addr = logField(w.daemon.logPath, "admin listener started", "addr")
		return addr != ""
	})
	return "http://" + addr
}

// logField returns field of the first JSON log line with message msg.
func logField(path, msg, field string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		var rec map[string]any
		if json.Unmarshal(line, &rec) != nil || rec["msg"] != msg {
			continue
		}
		if v, ok := rec[field].(string); ok {
			return v
		}
	}
	return ""
}

// countLogLines counts the lines of the scenario's daemon logs holding
// every one of substrs.
func (w *world) countLogLines(substrs ...string) int {
	paths, _ := filepath.Glob(filepath.Join(w.logs, "daemon-*.log"))
	n := 0
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			all := true
			for _, s := range substrs {
				all = all && strings.Contains(line, s)
			}
			if all {
				n++
			}
		}
	}
	return n
}

// eventually polls cond until it holds or the time is up. It serves only
// where real processes and real I/O are involved.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// getJSON GETs url and decodes a 2xx answer into out.
func getJSON(url string, out any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return json.Unmarshal(body, out)
}

// send makes a request with a JSON body and decodes a 2xx answer into out
// (nil: discard).
func send(method, url string, in, out any, header http.Header) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, out)
}
