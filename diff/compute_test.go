package diff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
)

func TestComputeRejectsBadSnapshots(t *testing.T) {
	t.Parallel()
	stored := carry(State{}, mustCompute(t, State{},
		listing(t, []ap{booking("a1")}, nil), policy(at(0), "", 0)))
	tests := []struct {
		name  string
		snap  func(t *testing.T) Snapshot
		mode  Baseline
		wantS bool // the error wraps ErrInvalidSnapshot
	}{
		{
			name: "appointment without id",
			snap: func(t *testing.T) Snapshot {
				return listing(t, []ap{booking("a2"), booking("")}, nil)
			},
			wantS: true,
		},
		{
			name:  "order without id",
			snap:  func(t *testing.T) Snapshot { return listing(t, nil, []or{{id: ""}}) },
			wantS: true,
		},
		{
			name: "appointments of two stores",
			snap: func(t *testing.T) Snapshot {
				other := with(booking("a3"), func(a *ap) { a.store = "other" })
				return listing(t, []ap{booking("a2"), other}, nil)
			},
			wantS: true,
		},
		{
			name: "an order of another store",
			snap: func(t *testing.T) Snapshot {
				return listing(t, []ap{booking("a2")}, []or{{id: "o1", store: "other"}})
			},
			wantS: true,
		},
		{
			name: "an item whose raw JSON does not parse",
			snap: func(t *testing.T) Snapshot {
				snap := listing(t, []ap{booking("a2")}, nil)
				snap.Appointments[0].Raw = snap.Appointments[0].Raw[:40]
				return snap
			},
			wantS: true,
		},
		{
			name: "an item without raw JSON",
			snap: func(t *testing.T) Snapshot {
				return Snapshot{Orders: []opencals.Order{{ID: "o1", StoreID: testStore}}}
			},
			wantS: true,
		},
		{
			name: "an empty gone id",
			snap: func(t *testing.T) Snapshot {
				return Snapshot{GoneAppointments: []string{"a1", ""}}
			},
			wantS: true,
		},
		{
			name: "an unknown baseline mode",
			snap: func(t *testing.T) Snapshot { return listing(t, []ap{booking("a2")}, nil) },
			mode: "loud",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Compute(stored, tt.snap(t), policy(at(1), tt.mode, 0))
			if err == nil || errors.Is(err, ErrInvalidSnapshot) != tt.wantS {
				t.Errorf("Compute(...) error = %v; want an error (wrapping ErrInvalidSnapshot: %v)",
					err, tt.wantS)
			}
			if diff := cmp.Diff(Result{}, got); diff != "" {
				t.Errorf("Compute(...) on error returned a result (-want +got):\n%s", diff)
			}
		})
	}
}

func mustCompute(t rapid.TB, prior State, snap Snapshot, p Policy) Result {
	t.Helper()
	res, err := Compute(prior, snap, p)
	if err != nil {
		t.Fatalf("Compute(...) error = %v", err)
	}
	return res
}

func TestOccurredAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stored []ap
		orders []or
		look   look
		want   map[event.Type]time.Time
	}{
		{
			name: "created: updatedAt",
			look: look{at: 1, apps: []ap{booking("a1")}},
			want: map[event.Type]time.Time{created: at(0.2)},
		},
		{
			name: "created with a cancel in the same look: createdAt; canceled: updatedAt",
			look: look{at: 1, apps: []ap{with(booking("a1"), func(a *ap) {
				a.status, a.created, a.updated = canceled, 0.1, 0.5
			})}},
			want: map[event.Type]time.Time{created: at(0.1), canceledEv: at(0.5)},
		},
		{
			name:   "completed by time: the end",
			stored: []ap{booking("a1")},
			look:   look{at: 60, apps: []ap{booking("a1")}},
			want:   map[event.Type]time.Time{completedEv: at(49)},
		},
		{
			name:   "completed early by status: the change",
			stored: []ap{booking("a1")},
			look: look{at: 48.7, apps: []ap{with(booking("a1"), func(a *ap) {
				a.status, a.updated = completed, 48.6
			})}},
			want: map[event.Type]time.Time{completedEv: at(48.6)},
		},
		{
			name:   "canceled by a 404: detection time",
			stored: []ap{booking("a1")},
			look:   look{at: 3, partial: true, goneApps: []string{"a1"}},
			want:   map[event.Type]time.Time{canceledEv: at(3)},
		},
		{
			name:   "rescheduled: updatedAt",
			stored: []ap{booking("a1")},
			look: look{at: 3, apps: []ap{with(booking("a1"), func(a *ap) {
				a.from, a.to, a.updated = 50, 51, 2.5
			})}},
			want: map[event.Type]time.Time{rescheduled: at(2.5)},
		},
		{
			name:   "refunded: the transaction's createdAt; paid: updatedAt",
			orders: []or{{id: "o1", status: unpaid, total: 4500}},
			look: look{at: 3, orders: []or{{id: "o1", status: paid, total: 4500, paid: 4500,
				refunded: 500, updated: 2.5, txs: []tx{{refundID: "r1", amount: 500, at: 2.2}}}}},
			want: map[event.Type]time.Time{paidEv: at(2.5), refunded: at(2.2)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := State{Baselined: true}
			if tt.stored != nil || tt.orders != nil {
				st = carry(State{}, mustCompute(t, State{}, listing(t, tt.stored, tt.orders),
					policy(at(0), "", 0)))
			}
			res := mustCompute(t, st, tt.look.snapshot(t), policy(at(tt.look.at), "", 0))
			got := make(map[event.Type]time.Time)
			for _, ev := range res.Events {
				got[ev.Type] = ev.OccurredAt
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compute(...) occurredAt mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNextBoundary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		stored []ap
		look   look
		want   time.Time
	}{
		{
			name: "the start of the next booking",
			look: look{at: 1, apps: []ap{booking("a1"),
				with(booking("a2"), func(a *ap) { a.from, a.to = 30, 31 })}},
			want: at(30),
		},
		{
			name: "the end of a booking under way",
			look: look{at: 48.5, apps: []ap{booking("a1"),
				with(booking("a2"), func(a *ap) { a.from, a.to = 60, 61 })}},
			want: at(49),
		},
		{
			name: "holds, canceled and completed bookings do not count",
			look: look{at: 1, apps: []ap{
				with(hold("a1"), func(a *ap) { a.from, a.to = 2, 3 }),
				with(booking("a2"), func(a *ap) { a.from, a.to, a.status = 4, 5, canceled }),
				with(booking("a3"), func(a *ap) { a.from, a.to, a.status = 6, 7, completed }),
				with(booking("a4"), func(a *ap) { a.from, a.to = 8, 9 }),
			}},
			want: at(8),
		},
		{
			name:   "stored records the snapshot does not name count",
			stored: []ap{booking("a1"), with(booking("a2"), func(a *ap) { a.from, a.to = 10, 11 })},
			look:   look{at: 1, partial: true, apps: []ap{booking("a1")}},
			want:   at(10),
		},
		{
			name: "none",
			look: look{at: 1, apps: []ap{hold("a1")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := State{Baselined: true}
			if tt.stored != nil {
				st = carry(State{}, mustCompute(t, State{}, listing(t, tt.stored, nil),
					policy(at(0), "", 0)))
			}
			res := mustCompute(t, st, tt.look.snapshot(t), policy(at(tt.look.at), "", 0))
			if !res.NextBoundary.Equal(tt.want) {
				t.Errorf("Compute(...).NextBoundary = %v; want %v", res.NextBoundary, tt.want)
			}
		})
	}
}

func TestDueCompletions(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"a1","status":"scheduled"}`)
	due := AppointmentRecord{ID: "a1", Status: scheduled, From: at(1), To: at(2),
		Created: true, Body: body}
	tests := []struct {
		name       string
		records    []AppointmentRecord
		now        float64
		catchUp    time.Duration
		wantEvents []string // resource ids of appointment.completed
		wantDone   []string // records returned, all Completed
		wantLate   int
		wantObject string
	}{
		{
			name: "due: one event with the stored body", records: []AppointmentRecord{due},
			now: 3, wantEvents: []string{"a1"}, wantDone: []string{"a1"}, wantObject: string(body),
		},
		{
			name:    "older than the catch-up window: recorded without an event",
			records: []AppointmentRecord{due}, now: 40, catchUp: 24 * time.Hour,
			wantDone: []string{"a1"}, wantLate: 1,
		},
		{
			name: "no body stored: the object names the id",
			records: []AppointmentRecord{func() AppointmentRecord {
				r := due
				r.Body = nil
				return r
			}()},
			now: 3, wantEvents: []string{"a1"}, wantDone: []string{"a1"}, wantObject: `{"id":"a1"}`,
		},
		{
			name: "not due, a hold, canceled, deleted, completed or missing: skipped",
			records: []AppointmentRecord{
				due,
				{ID: "a2", To: at(2)},
				{ID: "a3", To: at(2), Created: true, Canceled: true},
				{ID: "a4", To: at(2), Created: true, Deleted: true},
				{ID: "a5", To: at(2), Created: true, Completed: true},
				{ID: "a6", To: at(1), Created: true, Missing: true},
			},
			now: 1.5,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := policy(at(tt.now), "", tt.catchUp)
			res, err := DueCompletions(tt.records, p)
			if err != nil {
				t.Fatalf("DueCompletions(...) error = %v", err)
			}
			checkEnvelope(t, res, p)
			var gotEvents, gotDone []string
			for _, ev := range res.Events {
				gotEvents = append(gotEvents, ev.ResourceID)
				checkCompletion(t, ev, at(2), tt.wantObject)
			}
			for _, rec := range res.Appointments {
				gotDone = append(gotDone, rec.ID)
				if !rec.Completed {
					t.Errorf("DueCompletions(...) record %s not marked completed", rec.ID)
				}
			}
			if diff := cmp.Diff(tt.wantEvents, gotEvents); diff != "" {
				t.Errorf("DueCompletions(...) events mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDone, gotDone); diff != "" {
				t.Errorf("DueCompletions(...) records mismatch (-want +got):\n%s", diff)
			}
			if res.LateCompletions != tt.wantLate {
				t.Errorf("DueCompletions(...).LateCompletions = %d; want %d",
					res.LateCompletions, tt.wantLate)
			}
		})
	}
}

func checkCompletion(t *testing.T, ev event.Event, end time.Time, object string) {
	t.Helper()
	if ev.Type != completedEv || !ev.OccurredAt.Equal(end) || string(ev.Data.Object) != object {
		t.Errorf("DueCompletions(...) event %s %s at %v, object %s; want completed at %v, %s",
			ev.Type, ev.ResourceID, ev.OccurredAt, ev.Data.Object, end, object)
	}
}

func TestDueCompletionsRejectsRecordWithoutID(t *testing.T) {
	t.Parallel()
	_, err := DueCompletions([]AppointmentRecord{{Created: true}}, policy(at(1), "", 0))
	if !errors.Is(err, ErrInvalidSnapshot) {
		t.Errorf("DueCompletions(record without id) error = %v; want ErrInvalidSnapshot", err)
	}
}

func TestCanceledByLookupCarriesStoredBody(t *testing.T) {
	t.Parallel()
	st := carry(State{}, mustCompute(t, State{}, listing(t, []ap{booking("a1")}, nil),
		policy(at(0), "", 0)))
	res := mustCompute(t, st, Snapshot{GoneAppointments: []string{"a1"}}, policy(at(1), "", 0))
	if len(res.Events) != 1 || !bytes.Equal(res.Events[0].Data.Object, st.Appointments["a1"].Body) {
		t.Fatalf("Compute(404) = %+v; want one event carrying the stored body", res.Events)
	}
}

// TestComputeFixtures feeds the real API answers through an emit baseline:
// the events carry the items byte for byte, minus the credentials.
func TestComputeFixtures(t *testing.T) {
	t.Parallel()
	var apps opencals.Page[opencals.Appointment]
	var orders opencals.Page[opencals.Order]
	decode(t, readFixture(t, "appointments-page.json"), &apps)
	decode(t, readFixture(t, "orders-page.json"), &orders)
	snap := Snapshot{Appointments: apps.Data, Orders: orders.Data, Complete: true}
	p := policy(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), BaselineEmit, 0)
	res := mustCompute(t, State{}, snap, p)
	checkEnvelope(t, res, p)

	var got []string
	for _, ev := range res.Events {
		got = append(got, string(ev.Type))
	}
	wantTypes := []string{string(created), string(paidEv)}
	if diff := cmp.Diff(wantTypes, got); diff != "" {
		t.Errorf("Compute(fixtures) event types mismatch (-want +got):\n%s", diff)
	}
	raws := [][]byte{apps.Data[0].Raw, orders.Data[0].Raw}
	for i, ev := range res.Events {
		want, err := event.Redact(raws[i])
		if err != nil {
			t.Fatalf("Redact(fixture item) error = %v", err)
		}
		if !bytes.Equal(ev.Data.Object, want) || !json.Valid(ev.Data.Object) {
			t.Errorf("event %s: data.object is not the redacted item", ev.Type)
		}
	}
	rec := res.Appointments[0]
	if rec.Hash != Hash(raws[0]) || !bytes.Equal(rec.Body, res.Events[0].Data.Object) {
		t.Errorf("appointment record: hash %x, body %d bytes; want %x and the event's object",
			rec.Hash, len(rec.Body), Hash(raws[0]))
	}
}

func readFixture(t rapid.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return b
}

// TestHashIsXXH64 pins Hash to XXH64 with seed 0: hashes are persisted, so
// a change of algorithm would make every stored item look changed. The
// wanted values are XXH64's reference outputs; the long input covers the
// 32-byte stripes, the 8-, 4- and 1-byte tails.
func TestHashIsXXH64(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want uint64
	}{
		{in: "", want: 0xef46db3751d8e999},
		{in: "a", want: 0xd24ec4f1a98c6e5b},
		{in: "abc", want: 0x44bc2cf5ad770999},
		{in: "0123456789abcdef0123456789abcdef!", want: 0x8afff4daac4e677e},
	}
	for _, tt := range tests {
		if got := Hash([]byte(tt.in)); got != tt.want {
			t.Errorf("Hash(%q) = %#x; want %#x", tt.in, got, tt.want)
		}
	}
}

// BenchmarkHash compares Hash with FNV-1a, the simplest stable choice, on
// a real 7 KB item.
func BenchmarkHash(b *testing.B) {
	item := readFixture(b, "orders-page.json")
	b.Run("xxh64", func(b *testing.B) {
		b.SetBytes(int64(len(item)))
		for b.Loop() {
			Hash(item)
		}
	})
	b.Run("fnv1a", func(b *testing.B) {
		b.SetBytes(int64(len(item)))
		for b.Loop() {
			h := fnv.New64a()
			h.Write(item)
			h.Sum64()
		}
	})
}

// BenchmarkCompute shows what the hash saves: a look at 10 appointments and
// 3 orders of real size (the fixture items, 5 and 7 KB), all unchanged since
// the last look, next to the same look with every item changed (hashed,
// redacted and diffed).
func BenchmarkCompute(b *testing.B) {
	before := fixtureSnapshot(b, "2026-12-01T09:15:02.000Z")
	changed := fixtureSnapshot(b, "2026-12-01T10:00:00.000Z")
	p := policy(at(1), "", 0)
	st := carry(State{}, mustCompute(b, State{}, before, p))
	for _, bc := range []struct {
		name string
		snap Snapshot
	}{{"unchanged", before}, {"changed", changed}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Compute(st, bc.snap, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// fixtureSnapshot copies the fixture items under new ids, with the given
// updatedAt on every one.
func fixtureSnapshot(b *testing.B, updatedAt string) Snapshot {
	b.Helper()
	var apps opencals.Page[json.RawMessage]
	var orders opencals.Page[json.RawMessage]
	decode(b, readFixture(b, "appointments-page.json"), &apps)
	decode(b, readFixture(b, "orders-page.json"), &orders)
	restamp := func(raw []byte, oldID string, i int) []byte {
		raw = bytes.ReplaceAll(raw, []byte(oldID), []byte(fmt.Sprintf("%s-%d", oldID, i)))
		return bytes.ReplaceAll(raw, []byte("2026-12-01T09:15:02.000Z"), []byte(updatedAt))
	}
	snap := Snapshot{Complete: true}
	for i := range 10 {
		var a opencals.Appointment
		decode(b, restamp(apps.Data[0], "0a1b2c3d-6666-4666-8666-000000000001", i), &a)
		snap.Appointments = append(snap.Appointments, a)
	}
	for i := range 3 {
		var o opencals.Order
		decode(b, restamp(orders.Data[0], "9e8d7c6b-7777-4777-8777-000000000001", i), &o)
		snap.Orders = append(snap.Orders, o)
	}
	return snap
}
