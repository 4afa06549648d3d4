package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/opencals"
)

func TestCustomerLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := clockwork.NewFakeClockAt(t0)
	db := openTest(t, Options{Clock: clock})
	first := opencals.Tokens{AccessToken: "a1", RefreshToken: "r1"}
	if err := db.UpsertCustomer(ctx, "s1", "c1", "jo@example.test", first); err != nil {
		t.Fatalf("UpsertCustomer() = %v", err)
	}

	want := Customer{
		StoreID: "s1", ID: "c1", Email: "jo@example.test", State: CustomerActive,
		Tokens: first, NextPollAt: t0, CreatedAt: t0, UpdatedAt: t0,
	}
	assertCustomer(t, db, want)

	// Tokens rotate.
	clock.Advance(time.Minute)
	rotated := opencals.Tokens{AccessToken: "a2", RefreshToken: "r2"}
	if err := db.SaveTokens(ctx, "s1", "c1", rotated); err != nil {
		t.Fatalf("SaveTokens() = %v", err)
	}
	want.Tokens, want.UpdatedAt = rotated, t0.Add(time.Minute)
	assertCustomer(t, db, want)

	// A failed look, then the API refuses the tokens.
	poll := Poll{
		At: t0.Add(2 * time.Minute), Error: "listing appointments: 503", NextAt: t0.Add(time.Hour),
	}
	if err := db.RecordPoll(ctx, "s1", "c1", poll); err != nil {
		t.Fatalf("RecordPoll() = %v", err)
	}
	want.LastPollAt, want.LastError, want.NextPollAt = poll.At, poll.Error, poll.NextAt
	assertCustomer(t, db, want)
	err := db.SetCustomerState(ctx, "s1", "c1", CustomerNeedsReauth, "refresh refused")
	if err != nil {
		t.Fatalf("SetCustomerState() = %v", err)
	}
	want.State, want.LastError = CustomerNeedsReauth, "refresh refused"
	assertCustomer(t, db, want)

	// A new sign-in brings it back; a successful look clears the error.
	clock.Advance(time.Hour)
	if err := db.UpsertCustomer(ctx, "s1", "c1", "jo@example.test", first); err != nil {
		t.Fatalf("UpsertCustomer(again) = %v", err)
	}
	want.State, want.LastError, want.Tokens, want.UpdatedAt = CustomerActive, "", first, clock.Now()
	assertCustomer(t, db, want)
	ok := Poll{At: clock.Now(), NextAt: clock.Now().Add(5 * time.Minute)}
	if err := db.RecordPoll(ctx, "s1", "c1", ok); err != nil {
		t.Fatalf("RecordPoll(success) = %v", err)
	}
	want.LastPollAt, want.LastSuccessAt, want.NextPollAt = ok.At, ok.At, ok.NextAt
	assertCustomer(t, db, want)

	if err := db.RemoveCustomer(ctx, "s1", "c1"); err != nil {
		t.Fatalf("RemoveCustomer() = %v", err)
	}
	if _, err := db.GetCustomer(ctx, "s1", "c1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetCustomer(removed) = %v; want ErrNotFound", err)
	}
}

// assertCustomer compares the stored customer with want.
func assertCustomer(t *testing.T, db *DB, want Customer) {
	t.Helper()
	got, err := db.GetCustomer(context.Background(), want.StoreID, want.ID)
	if err != nil {
		t.Fatalf("GetCustomer(%s) = %v", want.ID, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetCustomer(%s) mismatch (-want +got):\n%s", want.ID, diff)
	}
}

func TestCustomerNotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	addCustomer(t, db, "s1", "c1")
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{name: "GetCustomer", call: func() error {
			_, err := db.GetCustomer(ctx, "s2", "c1")
			return err
		}},
		{name: "RemoveCustomer", call: func() error { return db.RemoveCustomer(ctx, "s1", "nobody") }},
		{name: "SaveTokens", call: func() error {
			return db.SaveTokens(ctx, "s1", "nobody", opencals.Tokens{})
		}},
		{name: "SetCustomerState", call: func() error {
			return db.SetCustomerState(ctx, "s1", "nobody", CustomerDisabled, "")
		}},
		{name: "RecordPoll", call: func() error { return db.RecordPoll(ctx, "s1", "nobody", Poll{}) }},
	} {
		if err := tc.call(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s(unknown customer) = %v; want ErrNotFound", tc.name, err)
		}
	}
	err := db.SetCustomerState(ctx, "s1", "c1", "sleeping", "")
	if !errors.Is(err, ErrInvalidState) {
		t.Errorf("SetCustomerState(sleeping) = %v; want ErrInvalidState", err)
	}
}

func TestListAndDueCustomers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t, Options{})
	for _, c := range []string{"c3", "c1", "c2", "c4"} {
		addCustomer(t, db, "s1", c)
	}
	addCustomer(t, db, "s2", "c1")
	next := map[string]time.Duration{"c1": 3 * time.Minute, "c2": time.Minute, "c3": time.Hour}
	for id, d := range next {
		if err := db.RecordPoll(ctx, "s1", id, Poll{At: t0, NextAt: t0.Add(d)}); err != nil {
			t.Fatalf("RecordPoll(%s) = %v", id, err)
		}
	}
	if err := db.SetCustomerState(ctx, "s1", "c4", CustomerNeedsReauth, ""); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		call func() ([]Customer, error)
		want []string
	}{
		{name: "ListCustomers(s1)", call: func() ([]Customer, error) {
			return db.ListCustomers(ctx, "s1")
		},
			want: []string{"s1/c1", "s1/c2", "s1/c3", "s1/c4"}},
		{name: "ListCustomers(all)", call: func() ([]Customer, error) {
			return db.ListCustomers(ctx, "")
		},
			want: []string{"s1/c1", "s1/c2", "s1/c3", "s1/c4", "s2/c1"}},
		{name: "ListCustomers(none)", call: func() ([]Customer, error) {
			return db.ListCustomers(ctx, "s9")
		}},
		{name: "DueCustomers(+5m)", call: func() ([]Customer, error) {
			return db.DueCustomers(ctx, "s1", t0.Add(5*time.Minute), 10)
		}, want: []string{"s1/c2", "s1/c1"}},
		{name: "DueCustomers(+2h, limit 2)", call: func() ([]Customer, error) {
			return db.DueCustomers(ctx, "s1", t0.Add(2*time.Hour), 2)
		}, want: []string{"s1/c2", "s1/c1"}},
		{name: "DueCustomers(now)", call: func() ([]Customer, error) {
			return db.DueCustomers(ctx, "s1", t0, 10)
		}},
	} {
		cs, err := tc.call()
		if err != nil {
			t.Fatalf("%s = %v", tc.name, err)
		}
		var got []string
		for _, c := range cs {
			got = append(got, c.StoreID+"/"+c.ID)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s mismatch (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestCustomerTokensNeverPrinted(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	addCustomer(t, db, "s1", "c1")
	c, err := db.GetCustomer(context.Background(), "s1", "c1")
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("customer", "customer", c)
	printed := []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), logged.String()}
	for _, out := range printed {
		if strings.Contains(out, "access-c1") || strings.Contains(out, "refresh-c1") {
			t.Errorf("printed customer %q; want tokens masked", out)
		}
	}
}
