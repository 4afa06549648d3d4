package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readyServer answers /readyz with status and body, counting the requests
// it gets.
func readyServer(t *testing.T, status int, body string) (*httptest.Server, *int) {
	t.Helper()
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		hits++
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// runHealth runs `opencals-sync health` with args and returns what it
// printed, its exit status and its error.
func runHealth(t *testing.T, args ...string) (string, int, error) {
	t.Helper()
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs(append([]string{"health"}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(io.Discard)
	err := cmd.ExecuteContext(t.Context())
	code := 0
	if err != nil {
		code = exitCode(err)
	}
	return out.String(), code, err
}

func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatalf("writing config: %v", err)
	}
	return path
}

func TestHealthCommand(t *testing.T) {
	t.Parallel()
	const readyBody = `{"database":"ok","polling":"ok"}`
	const stalledBody = `{"database":"ok","polling":"store main: no poll for 2h"}`
	tests := []struct {
		name     string
		status   int
		body     string
		args     func(srv *httptest.Server) []string
		wantCode int
		wantOut  string
		wantErr  string
		wantHits int
	}{
		{
			name: "ready by --url", status: http.StatusOK, body: readyBody,
			args: func(srv *httptest.Server) []string {
				return []string{"--url", srv.URL + "/readyz", "--config", "/nonexistent.yaml"}
			},
			wantOut: readyBody, wantHits: 1,
		},
		{
			name: "not ready by --url", status: http.StatusServiceUnavailable, body: stalledBody,
			args: func(srv *httptest.Server) []string {
				return []string{"--url", srv.URL + "/readyz"}
			},
			wantCode: 1, wantOut: stalledBody, wantErr: "503", wantHits: 1,
		},
		{
			name: "address from admin.listen", status: http.StatusOK, body: readyBody,
			args: func(srv *httptest.Server) []string {
				yaml := "admin:\n  listen: " + srv.Listener.Addr().String() + "\n"
				return []string{"--config", writeConfig(t, yaml)}
			},
			wantOut: readyBody, wantHits: 1,
		},
		{
			name: "unspecified admin.listen is asked on loopback", status: http.StatusOK,
			body: readyBody,
			args: func(srv *httptest.Server) []string {
				_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
				yaml := "admin:\n  listen: 0.0.0.0:" + port + "\n"
				return []string{"--config", writeConfig(t, yaml)}
			},
			wantOut: readyBody, wantHits: 1,
		},
		{
			name: "--url beats the config", status: http.StatusOK, body: readyBody,
			args: func(srv *httptest.Server) []string {
				yaml := "admin:\n  listen: 127.0.0.1:1\n"
				return []string{"--config", writeConfig(t, yaml), "--url", srv.URL + "/readyz"}
			},
			wantOut: readyBody, wantHits: 1,
		},
		{
			name: "admin listener off", status: http.StatusOK, body: readyBody,
			args: func(*httptest.Server) []string {
				return []string{"--config", writeConfig(t, "admin:\n  listen: \"\"\n")}
			},
			wantCode: 1, wantErr: "admin.listen is empty",
		},
		{
			name: "nobody listening", status: http.StatusOK,
			args: func(*httptest.Server) []string {
				return []string{"--url", closedURL(t)}
			},
			wantCode: 1, wantErr: "asking http://127.0.0.1:",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, hits := readyServer(t, tt.status, tt.body)
			out, code, err := runHealth(t, tt.args(srv)...)
			if code != tt.wantCode {
				t.Errorf("health exit status = %d (err %v); want %d", code, err, tt.wantCode)
			}
			if out != tt.wantOut {
				t.Errorf("health printed %q; want %q", out, tt.wantOut)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("health error = %v; want one containing %q", err, tt.wantErr)
			}
			srv.Close() // waits for the handler, so hits is settled
			if *hits != tt.wantHits {
				t.Errorf("server got %d readiness requests; want %d", *hits, tt.wantHits)
			}
		})
	}
}

// closedURL is a readiness URL on a loopback port nobody listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/readyz"
}

// TestHealthTimeout: a daemon that never answers is unhealthy after
// --timeout, not a hung health check.
func TestHealthTimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	_, code, err := runHealth(t, "--url", srv.URL+"/readyz", "--timeout", "50ms")
	if code != 1 || err == nil || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Errorf("health against a silent server = %v (exit %d); want a deadline error, exit 1",
			err, code)
	}
}

func TestReadyURLFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		listen  string
		want    string
		wantErr bool
	}{
		{listen: "127.0.0.1:9090", want: "http://127.0.0.1:9090/readyz"},
		{listen: "0.0.0.0:9090", want: "http://127.0.0.1:9090/readyz"},
		{listen: ":9090", want: "http://127.0.0.1:9090/readyz"},
		{listen: "[::]:9090", want: "http://[::1]:9090/readyz"},
		{listen: "[::1]:9091", want: "http://[::1]:9091/readyz"},
		{listen: "localhost:9092", want: "http://localhost:9092/readyz"},
		{listen: "9090", wantErr: true},
	}
	for _, tt := range tests {
		got, err := readyURLFor(tt.listen)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("readyURLFor(%q) = %q, %v; want %q, error %v",
				tt.listen, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestHealthDefaultURL: without --url and without a readable config the
// documented default address is asked.
func TestHealthDefaultURL(t *testing.T) {
	t.Parallel()
	g := &globalFlags{configPath: filepath.Join(t.TempDir(), "missing.yaml")}
	got, err := g.readyURL()
	if got != defaultReadyURL || err != nil {
		t.Errorf("readyURL() without a config = %q, %v; want %q, nil", got, err, defaultReadyURL)
	}
}
