// Package customer registers the customers opencals-sync polls: by email
// and password, or by a refresh token a booking site hands over.
package customer

import (
	"context"
	"errors"
	"fmt"

	"github.com/opencals-sync/opencals-sync/opencals"
)

// TokenName is the session name opencals-sync signs in with, so that token
// rotation here never revokes a session the customer uses elsewhere.
const TokenName = "opencals-sync"

// ErrUnknownCustomer means the customer id could neither be read from the
// token nor was given.
var ErrUnknownCustomer = errors.New("customer id unknown: the token names none; give it explicitly")

// ErrIncomplete means a registration named neither a password nor a
// refresh token.
var ErrIncomplete = errors.New("registration needs email and password, or a refresh token")

// Registration is what identifies a customer to register.
type Registration struct {
	// Email and Password sign in a new session named TokenName.
	Email    string
	Password string
	// RefreshToken is used instead of a password: it is exchanged at once
	// for a fresh pair, which is what gets stored.
	RefreshToken string
	// CustomerID is the Opencals customer id; default the token's sub.
	CustomerID string
}

// Auth is what registration needs from the API client.
type Auth interface {
	SignIn(ctx context.Context, email, password, tokenName string) (opencals.Tokens, error)
	Refresh(ctx context.Context, refreshToken string) (opencals.Tokens, error)
}

// Saver stores a registered customer.
type Saver interface {
	UpsertCustomer(ctx context.Context, storeID, id, email string, tokens opencals.Tokens) error
}

// Register obtains a token pair for the customer and stores it, active and
// due for a look at once. It returns the customer id.
func Register(ctx context.Context, auth Auth, db Saver, storeID string, r Registration) (string, error) {
	var tokens opencals.Tokens
	var err error
	switch {
	case r.RefreshToken != "":
		tokens, err = auth.Refresh(ctx, r.RefreshToken)
	case r.Email != "" && r.Password != "":
		tokens, err = auth.SignIn(ctx, r.Email, r.Password, TokenName)
	default:
		return "", ErrIncomplete
	}
	if err != nil {
		return "", fmt.Errorf("registering customer: %w", err)
	}
	id := r.CustomerID
	if id == "" {
		sub, ok := opencals.TokenSubject(tokens.AccessToken)
		if !ok {
			return "", ErrUnknownCustomer
		}
		id = sub
	}
	// The new pair is stored before anything uses it: the API keeps the old
	// one valid until then, so a failure here loses nothing.
	if err := db.UpsertCustomer(ctx, storeID, id, r.Email, tokens); err != nil {
		return "", fmt.Errorf("registering customer %s: %w", id, err)
	}
	return id, nil
}
