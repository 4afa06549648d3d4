package opencals

import (
	"errors"
	"strings"
	"testing"
)

func TestExcerptScrubsSecrets(t *testing.T) {
	t.Parallel()
	const key = "sfk_live_0123456789"
	tests := []struct {
		name       string
		body       string
		wantSubstr string
		forbidden  []string
	}{
		{
			name:       "plain error body",
			body:       `{"message":"Unauthorized","statusCode":401}`,
			wantSubstr: `{"message":"Unauthorized","statusCode":401}`,
		},
		{
			name:       "echoed bearer header",
			body:       `invalid header Authorization: Bearer abc.def.ghi for request`,
			wantSubstr: "Bearer [REDACTED]",
			forbidden:  []string{"abc.def.ghi"},
		},
		{
			name:       "jwt anywhere",
			body:       `token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl expired`,
			wantSubstr: "token [REDACTED] expired",
			forbidden:  []string{"eyJ", "c2lnbmF0dXJl"},
		},
		{
			name:       "api key by value",
			body:       `{"message":"key sfk_live_0123456789 is revoked"}`,
			wantSubstr: "key [REDACTED] is revoked",
			forbidden:  []string{key},
		},
		{
			name:      "api key of another shape",
			body:      `{"message":"bad key sfk_other_key"}`,
			forbidden: []string{"sfk_other_key"},
		},
		{
			name:       "token and password fields",
			body:       `{"refreshToken":"r-123","accessToken":"a-456","password":"hunter2"}`,
			wantSubstr: `"refreshToken":"[REDACTED]"`,
			forbidden:  []string{"r-123", "a-456", "hunter2"},
		},
		{
			name:       "newlines collapse",
			body:       "<html>\n  <body>Bad   Gateway</body>\n</html>\n",
			wantSubstr: "<html> <body>Bad Gateway</body> </html>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := excerpt([]byte(tt.body), key)
			if !strings.Contains(got, tt.wantSubstr) {
				t.Errorf("excerpt(%q) = %q; want it to contain %q", tt.body, got, tt.wantSubstr)
			}
			for _, f := range tt.forbidden {
				if strings.Contains(got, f) {
					t.Errorf("excerpt(%q) = %q; must not contain %q", tt.body, got, f)
				}
			}
		})
	}
}

func TestExcerptBoundsLength(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		body    string
		wantLen int
	}{
		{name: "short", body: "oops", wantLen: 4},
		{name: "long ascii", body: strings.Repeat("x", 5000), wantLen: maxExcerpt},
		// 3-byte runes: 200 is not a rune boundary, so the cut backs off.
		{name: "long multibyte", body: strings.Repeat("€", 100), wantLen: 198},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := excerpt([]byte(tt.body), "")
			if len(got) != tt.wantLen {
				t.Errorf("len(excerpt(%d bytes)) = %d; want %d",
					len(tt.body), len(got), tt.wantLen)
			}
		})
	}
}

func TestExcerptScrubsBeforeCutting(t *testing.T) {
	t.Parallel()
	// A token straddling the 200-byte cut must not leave a readable prefix.
	body := strings.Repeat("a", 190) + " eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"
	got := excerpt([]byte(body), "")
	if strings.Contains(got, "eyJ") {
		t.Errorf("excerpt = %q; want no token prefix", got)
	}
}

func TestAPIErrorMatchesItsSentinel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		want   error
	}{
		{status: 500, want: ErrServer},
		{status: 502, want: ErrServer},
		{status: 503, want: ErrServer},
		{status: 429, want: ErrRateLimited},
		{status: 404, want: ErrNotFound},
		{status: 400, want: nil},
		{status: 409, want: nil},
	}
	all := []error{ErrServer, ErrRateLimited, ErrNotFound, ErrBadResponse, ErrReauthRequired}
	for _, tt := range tests {
		err := error(&APIError{Method: "GET", Path: "/p", Status: tt.status,
			Err: sentinelFor(tt.status)})
		for _, s := range all {
			if got, want := errors.Is(err, s), s == tt.want; got != want {
				t.Errorf("errors.Is(status %d, %v) = %v; want %v", tt.status, s, got, want)
			}
		}
	}
}

func TestAPIErrorMessage(t *testing.T) {
	t.Parallel()
	err := &APIError{Method: "GET", Path: "/storefront/orders", Status: 503,
		Body: "upstream down", Err: ErrServer}
	want := `GET /storefront/orders: status 503 (API server error): "upstream down"`
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
}
