package opencals

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// pager serves a listing of appointments in creation order and lets a test
// change the items before each page read.
type pager struct {
	t      *testing.T
	mu     sync.Mutex
	items  []Appointment
	before func(p *pager, page int) // runs before each page, under the lock
	reads  int
	serial int
}

func newPager(t *testing.T, n int) *pager {
	p := &pager{t: t}
	for range n {
		p.add(0)
	}
	return p
}

// add inserts an item created at epoch plus offset.
func (p *pager) add(offset time.Duration) {
	p.serial++
	p.items = append(p.items, Appointment{
		ID:        fmt.Sprintf("a%04d", p.serial),
		CreatedAt: epoch.Add(time.Duration(p.serial)*time.Second + offset),
	})
	slices.SortFunc(p.items, func(a, b Appointment) int {
		return a.CreatedAt.Compare(b.CreatedAt)
	})
}

func (p *pager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("take") != "100" || q.Get("orderBy") != "createdAt" || q.Get("order") != "ASC" {
		p.t.Errorf("list query = %s; want take=100, orderBy=createdAt, order=ASC", r.URL.RawQuery)
	}
	page, _ := strconv.Atoi(q.Get("page"))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reads++
	if p.before != nil {
		p.before(p, page)
	}
	total := len(p.items)
	pages := (total + 99) / 100
	lo, hi := min((page-1)*100, total), min(page*100, total)
	out := struct {
		Data []map[string]string `json:"data"`
		Meta Meta                `json:"meta"`
	}{
		Data: []map[string]string{},
		Meta: Meta{Page: page, Take: 100, ItemCount: total, PageCount: pages,
			HasPreviousPage: page > 1, HasNextPage: page < pages},
	}
	for _, a := range p.items[lo:hi] {
		out.Data = append(out.Data, map[string]string{
			"id": a.ID, "createdAt": a.CreatedAt.Format(time.RFC3339),
		})
	}
	json.NewEncoder(w).Encode(out)
}

func (p *pager) ids() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, a := range p.items {
		out = append(out, a.ID)
	}
	return out
}

func TestListAppointments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		items     int
		before    func(p *pager, page int)
		wantReads int
		wantErr   error
	}{
		{name: "empty", items: 0, wantReads: 1},
		{name: "one page", items: 3, wantReads: 1},
		{name: "exactly one full page", items: 100, wantReads: 1},
		{name: "three pages", items: 250, wantReads: 3},
		{
			name:  "new items land on the last page",
			items: 250,
			before: func(p *pager, page int) {
				if page == 2 && p.reads == 2 {
					p.add(time.Hour)
				}
			},
			// The count changed between pages: the first pass is re-read.
			wantReads: 6,
		},
		{
			name:  "backdated insert shifts pages once",
			items: 250,
			before: func(p *pager, page int) {
				if page == 2 && p.reads == 2 {
					p.add(-time.Hour)
				}
			},
			wantReads: 6,
		},
		{
			name:  "items keep moving",
			items: 250,
			before: func(p *pager, page int) {
				if page == 3 {
					p.add(-time.Hour)
				}
			},
			wantReads: 9,
			wantErr:   ErrInconsistentListing,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPager(t, tt.items)
			p.before = tt.before
			c, _ := newTestClient(t, p)
			s := NewSession("c1", Tokens{AccessToken: "a", RefreshToken: "r"}, nil)

			got, err := c.ListAppointments(t.Context(), s)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ListAppointments() = %v; want %v", err, tt.wantErr)
			}
			if p.reads != tt.wantReads {
				t.Errorf("server served %d pages; want %d", p.reads, tt.wantReads)
			}
			if err != nil {
				if got != nil {
					t.Errorf("ListAppointments() returned %d items with an error; want none",
						len(got))
				}
				return
			}
			var gotIDs []string
			for _, a := range got {
				gotIDs = append(gotIDs, a.ID)
			}
			if want := p.ids(); !slices.Equal(gotIDs, want) {
				t.Errorf("ListAppointments() = %d items; want the server's %d in creation order",
					len(gotIDs), len(want))
			}
		})
	}
}

// TestListRejectsBadPages checks that pages which decode but cannot be a
// real listing are retried and never read as "no items".
func TestListRejectsBadPages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
	}{
		{name: "empty object", body: `{}`},
		{name: "null data", body: `{"data":null,"meta":{"page":1,"itemCount":0}}`},
		{name: "no meta", body: `{"data":[]}`},
		{name: "wrong page", body: `{"data":[],"meta":{"page":2,"itemCount":0}}`},
		{
			name: "item without id",
			body: `{"data":[{"name":"1001"}],"meta":{"page":1,"itemCount":1}}`,
		},
		{name: "not json", body: `<html>502</html>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := &script{answers: []answer{{status: 200, body: tt.body}}}
			c, fc := newTestClient(t, srv)
			s := NewSession("c1", Tokens{AccessToken: "a", RefreshToken: "r"}, nil)
			err := drive(t, fc, time.Second, func() error {
				_, err := c.ListOrders(t.Context(), s)
				return err
			})
			if !errors.Is(err, ErrBadResponse) {
				t.Errorf("ListOrders() = %v; want ErrBadResponse", err)
			}
			if n := srv.count(); n != DefaultMaxAttempts {
				t.Errorf("server saw %d requests; want %d", n, DefaultMaxAttempts)
			}
		})
	}
}

func TestGetAppointment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		id      string
		answer  answer
		wantErr error
	}{
		{name: "found", id: "a1", answer: answer{status: 200, body: `{"id":"a1"}`}},
		{name: "not found", id: "a1", answer: answer{status: 404, body: `{"message":"Not Found"}`},
			wantErr: ErrNotFound},
		{name: "other item", id: "a1", answer: answer{status: 200, body: `{"id":"a2"}`},
			wantErr: ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := &script{answers: []answer{tt.answer}}
			c, fc := newTestClient(t, srv)
			s := NewSession("c1", Tokens{AccessToken: "a", RefreshToken: "r"}, nil)
			var got Appointment
			err := drive(t, fc, time.Second, func() error {
				var err error
				got, err = c.GetAppointment(t.Context(), s, tt.id)
				return err
			})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("GetAppointment(%q) = %v; want %v", tt.id, err, tt.wantErr)
			}
			if err == nil && got.ID != tt.id {
				t.Errorf("GetAppointment(%q).ID = %q", tt.id, got.ID)
			}
		})
	}
}

func TestGetRejectsEmptyID(t *testing.T) {
	t.Parallel()
	srv := &script{answers: []answer{{status: 200, body: `{"data":[]}`}}}
	c, _ := newTestClient(t, srv)
	s := NewSession("c1", Tokens{}, nil)
	if _, err := c.GetOrder(t.Context(), s, ""); err == nil {
		t.Error(`GetOrder("") = nil; want an error`)
	}
	if n := srv.count(); n != 0 {
		t.Errorf("server saw %d requests; want 0", n)
	}
}
