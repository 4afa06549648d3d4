package admin

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	_ "modernc.org/sqlite"

	"github.com/opencals-sync/opencals-sync/customer"
	"github.com/opencals-sync/opencals-sync/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func serve(t *testing.T, s *Server) *httptest.Server {
	t.Helper()
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.Token == nil {
		s.Token = func() string { return "" }
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestReadinessFollowsTheDatabase(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	db, err := store.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	srv := serve(t, &Server{Checks: map[string]Check{
		"database": db.CheckWritable,
		"polling":  func(context.Context) error { return nil },
	}})

	if code, body := get(t, srv.URL+"/readyz"); code != http.StatusOK ||
		!cmp.Equal(body, map[string]string{"database": "ok", "polling": "ok"}) {
		t.Fatalf("GET /readyz = %d %v; want 200 with every check ok", code, body)
	}

	// Another process holding the write lock makes the database unwritable
	// for longer than the check waits.
	other, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	code, body := get(t, srv.URL+"/readyz")
	if code != http.StatusServiceUnavailable || body["database"] == "ok" || body["polling"] != "ok" {
		t.Errorf("GET /readyz with the database locked = %d %v; want 503 naming the database", code, body)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, srv.URL+"/readyz"); code != http.StatusOK {
		t.Errorf("GET /readyz after the lock = %d; want 200", code)
	}
}

func TestReadinessNamesAStalledCheck(t *testing.T) {
	t.Parallel()
	srv := serve(t, &Server{Checks: map[string]Check{
		"polling": func(context.Context) error { return errors.New("polling stalled: no successful look for 2h0m0s") },
	}})
	code, body := get(t, srv.URL+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body["polling"], "stalled") {
		t.Errorf("GET /readyz = %d %v; want 503 with the polling error", code, body)
	}
	if code, _ := get(t, srv.URL+"/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz = %d; want 200 while the process lives", code)
	}
}

func TestRegisterCustomer(t *testing.T) {
	t.Parallel()
	var got customer.Registration
	srv := serve(t, &Server{
		Token: func() string { return "s3cret" },
		Register: func(_ context.Context, storeName string, r customer.Registration) (string, error) {
			if r.RefreshToken == "" && r.Password == "" {
				return "", customer.ErrIncomplete
			}
			got = r
			return "cust-1", nil
		},
	})
	tests := []struct {
		name     string
		token    string
		body     string
		wantCode int
	}{
		{name: "no token", body: `{"refreshToken":"r"}`, wantCode: http.StatusUnauthorized},
		{name: "wrong token", token: "guess", body: `{"refreshToken":"r"}`, wantCode: http.StatusUnauthorized},
		{name: "not JSON", token: "s3cret", body: `refreshToken=r`, wantCode: http.StatusBadRequest},
		{name: "unknown field", token: "s3cret", body: `{"refresh":"r"}`, wantCode: http.StatusBadRequest},
		{name: "incomplete", token: "s3cret", body: `{"email":"a@b.test"}`, wantCode: http.StatusBadRequest},
		{name: "registered", token: "s3cret", body: `{"refreshToken":"r","customerId":"cust-1"}`,
			wantCode: http.StatusCreated},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/customers", strings.NewReader(tt.body))
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.wantCode {
			t.Errorf("%s: POST /v1/customers = %d; want %d", tt.name, resp.StatusCode, tt.wantCode)
		}
	}
	if want := (customer.Registration{RefreshToken: "r", CustomerID: "cust-1"}); got != want {
		t.Errorf("registered %+v; want %+v", got, want)
	}
}

func TestRegistrationDisabledWithoutToken(t *testing.T) {
	t.Parallel()
	srv := serve(t, &Server{Register: func(context.Context, string, customer.Registration) (string, error) {
		t.Error("registered without an admin token configured")
		return "", nil
	}})
	resp, err := http.Post(srv.URL+"/v1/customers", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST without a configured token = %d; want 401", resp.StatusCode)
	}
}
