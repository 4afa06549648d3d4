package customer

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/opencals-sync/opencals-sync/opencals"
)

// jwt builds an unsigned token whose payload is claims.
func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(claims)) + ".sig"
}

type fakeAuth struct {
	signedIn, refreshed string
	tokens              opencals.Tokens
	err                 error
}

func (f *fakeAuth) SignIn(_ context.Context, email, _, tokenName string) (opencals.Tokens, error) {
	f.signedIn = email + "/" + tokenName
	return f.tokens, f.err
}

func (f *fakeAuth) Refresh(_ context.Context, refresh string) (opencals.Tokens, error) {
	f.refreshed = refresh
	return f.tokens, f.err
}

type fakeSaver struct {
	storeID, id, email string
	tokens             opencals.Tokens
}

func (f *fakeSaver) UpsertCustomer(_ context.Context, storeID, id, email string, t opencals.Tokens) error {
	f.storeID, f.id, f.email, f.tokens = storeID, id, email, t
	return nil
}

func TestRegister(t *testing.T) {
	t.Parallel()
	fresh := opencals.Tokens{AccessToken: jwt(`{"sub":"cust-9"}`), RefreshToken: "r2"}
	tests := []struct {
		name          string
		reg           Registration
		tokens        opencals.Tokens
		authErr       error
		wantID        string
		wantSignedIn  string
		wantRefreshed string
		wantErr       error
	}{
		{name: "password, id from the token", tokens: fresh,
			reg:    Registration{Email: "jo@example.test", Password: "pw"},
			wantID: "cust-9", wantSignedIn: "jo@example.test/" + TokenName},
		{name: "refresh token exchanged first", tokens: fresh,
			reg:    Registration{RefreshToken: "r1"},
			wantID: "cust-9", wantRefreshed: "r1"},
		{name: "id given", tokens: opencals.Tokens{AccessToken: "opaque", RefreshToken: "r2"},
			reg:    Registration{RefreshToken: "r1", CustomerID: "cust-1"},
			wantID: "cust-1", wantRefreshed: "r1"},
		{name: "id unknown", tokens: opencals.Tokens{AccessToken: "opaque", RefreshToken: "r2"},
			reg: Registration{RefreshToken: "r1"}, wantRefreshed: "r1", wantErr: ErrUnknownCustomer},
		{name: "nothing to sign in with", reg: Registration{Email: "jo@example.test"},
			wantErr: ErrIncomplete},
		{name: "refused", reg: Registration{RefreshToken: "r1"}, wantRefreshed: "r1",
			authErr: opencals.ErrReauthRequired, wantErr: opencals.ErrReauthRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			auth, db := &fakeAuth{tokens: tt.tokens, err: tt.authErr}, &fakeSaver{}
			id, err := Register(context.Background(), auth, db, "store-1", tt.reg)
			if !errors.Is(err, tt.wantErr) || id != tt.wantID {
				t.Fatalf("Register() = %q, %v; want %q, %v", id, err, tt.wantID, tt.wantErr)
			}
			if auth.signedIn != tt.wantSignedIn || auth.refreshed != tt.wantRefreshed {
				t.Errorf("signed in %q, refreshed %q; want %q, %q",
					auth.signedIn, auth.refreshed, tt.wantSignedIn, tt.wantRefreshed)
			}
			if err == nil && (db.storeID != "store-1" || db.id != tt.wantID || db.tokens != tt.tokens) {
				t.Errorf("stored %+v; want the new pair under %s", db, tt.wantID)
			}
			if err != nil && db.id != "" {
				t.Errorf("a failed registration stored customer %q", db.id)
			}
		})
	}
}
