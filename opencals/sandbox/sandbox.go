// Package sandbox is a stateful, in-process fake of the Opencals Storefront
// API on a real listener. Tests start it on 127.0.0.1:0 and point the client
// at URL(); the `opencals-sync sandbox` command runs it for demos. It serves
// the real paths, query parameters, JSON shapes, status codes and error
// bodies, enforces the documented rate limits, rotates tokens, and records
// every change merchant activity makes so tests can compare derived events
// with what really happened.
package sandbox

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// Errors merchant operations return; callers branch on them with errors.Is.
var (
	// ErrNotFound means no appointment, order or customer has that id.
	ErrNotFound = errors.New("not found")
	// ErrInvalidState means the operation does not apply to the item's
	// current state (a refund on an unpaid order, a checkout of a booking).
	ErrInvalidState = errors.New("invalid state for this operation")
	// ErrInvalidArgument means an amount or a time range is out of bounds.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrStarted means Start was called twice, or after Close.
	ErrStarted = errors.New("sandbox already started")
)

// Limit is a sliding-window rate limit: at most Requests in any Per.
// Requests < 0 disables the limit; zero picks the default.
type Limit struct {
	Requests int
	Per      time.Duration
}

// Config configures a Sandbox. Zero values pick the documented defaults.
type Config struct {
	// APIKey is the X-Api-Key value every /storefront request must carry.
	// Default "sfk_test".
	APIKey string
	// Customers is the number of seeded customers, customer1@example.test …
	// customerN@example.test, all with password "sandbox-password".
	// Default 3; zero means the default, so use 1 for the smallest store.
	Customers int
	// Seed makes ids, history and activity reproducible. Zero is a seed.
	Seed int64
	// Clock drives token expiry, rate windows and timestamps.
	// Default the real clock.
	Clock clockwork.Clock
	// RateLimit is the general budget per API key. Default 100 per 60s.
	RateLimit Limit
	// AuthRateLimit is the /storefront/auth/* budget. Default 20 per 10s.
	AuthRateLimit Limit
	// AccessTokenTTL is how long an access token is accepted. Default 15m.
	AccessTokenTTL time.Duration
	// Logger receives per-request debug lines. Default discards.
	Logger *slog.Logger
	// BeforeListPage, if set, runs before a list page is served, outside
	// any lock, so tests can change data between page reads. resource is
	// "appointments" or "orders"; page is 1-based.
	BeforeListPage func(resource, customerID string, page int)
}

// Customer is a seeded customer's identity and sign-in credentials.
type Customer struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Faults makes a share of /storefront answers misbehave. Rates are in [0,1].
type Faults struct {
	// ErrorRate is the share answered 500, 502 or 503, with a JSON or a
	// plain-text body.
	ErrorRate float64 `json:"errorRate"`
	// Latency is added to every API request. It waits on Config.Clock, so
	// with a fake clock a test advances it.
	Latency time.Duration `json:"latency"`
	// MalformedRate is the share answered 200 with a body that is not JSON.
	MalformedRate float64 `json:"malformedRate"`
	// TruncateRate is the share answered 200 with a body cut short.
	TruncateRate float64 `json:"truncateRate"`
	// ShiftRate is the share of page>1 list reads preceded by the insert of
	// an item older than all others (a hold for appointments, a booking for
	// orders), so that items shift between pages. Each insert is a Change.
	ShiftRate float64 `json:"shiftRate"`
}

// Change kinds, as recorded in Change.Kind.
const (
	KindHold        = "hold"
	KindBooked      = "booked"
	KindPaid        = "paid"
	KindAddOn       = "add_on"
	KindCanceled    = "canceled"
	KindRescheduled = "rescheduled"
	KindRefunded    = "refunded"
	KindCompleted   = "completed"
	KindDeleted     = "deleted"
)

// Change is one entry of the change log: what an observer of the API could
// see happen. From and To are the appointment's slot after the change;
// Amount is the money moved (paid, added or refunded) or, for a booking,
// the order's total, in minor units.
type Change struct {
	Seq           int64     `json:"seq"`
	At            time.Time `json:"at"`
	Kind          string    `json:"kind"`
	CustomerID    string    `json:"customerId"`
	AppointmentID string    `json:"appointmentId,omitempty"`
	OrderID       string    `json:"orderId,omitempty"`
	From          time.Time `json:"from,omitzero"`
	To            time.Time `json:"to,omitzero"`
	Amount        int64     `json:"amount,omitempty"`
	RefundID      string    `json:"refundId,omitempty"`
}

// Stats counts what the sandbox answered.
type Stats struct {
	// Requests counts answers by "METHOD /route pattern" and status code.
	Requests map[string]map[int]int `json:"requests"`
	// Total is the number of /storefront requests.
	Total int `json:"total"`
	// RateLimited is the number of 429 answers.
	RateLimited int `json:"rateLimited"`
	// Faults is the number of injected faults, page shifts included.
	Faults int `json:"faults"`
}

// Sandbox is the fake API. Its methods are safe for concurrent use.
type Sandbox struct {
	cfg     Config
	clock   clockwork.Clock
	logger  *slog.Logger
	storeID string
	handler http.Handler

	// mu guards everything below it: the store's data, sessions, the change
	// log, rate windows, faults and counters.
	mu           sync.Mutex
	ids          *rand.Rand // ids, tokens and seeded history
	faultRand    *rand.Rand // fault rolls, apart so faults never shift ids
	jwtKey       []byte
	customers    []*customer
	customerByID map[string]*customer
	products     []*product
	staff        []*staffMember
	locations    []*location
	schedules    map[string]*schedule
	addOn        *addOnProduct
	appts        map[string]*appointment
	orders       map[string]*order
	nextApptName int
	nextOrdName  int
	tokens       map[string]*tokenInfo
	changes      []Change
	general      window
	auth         window
	faults       Faults
	stats        Stats

	// life guards the listener and the background goroutines.
	life     sync.Mutex
	server   *http.Server
	url      string
	done     chan struct{}
	closed   bool
	wg       sync.WaitGroup
	stepHook func() // tests: runs after each activity step
}

// Defaults for the zero fields of Config.
const (
	DefaultAPIKey         = "sfk_test"
	DefaultCustomers      = 3
	DefaultAccessTokenTTL = 15 * time.Minute
	// SandboxPassword is every seeded customer's password. It is a sandbox
	// credential only.
	SandboxPassword = "sandbox-password"
)

// DefaultRateLimit and DefaultAuthRateLimit are the documented budgets.
var (
	DefaultRateLimit     = Limit{Requests: 100, Per: 60 * time.Second}
	DefaultAuthRateLimit = Limit{Requests: 20, Per: 10 * time.Second}
)

func (c Config) withDefaults() Config {
	if c.APIKey == "" {
		c.APIKey = DefaultAPIKey
	}
	if c.Customers == 0 {
		c.Customers = DefaultCustomers
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.RateLimit.Requests == 0 {
		c.RateLimit = DefaultRateLimit
	}
	if c.AuthRateLimit.Requests == 0 {
		c.AuthRateLimit = DefaultAuthRateLimit
	}
	if c.AccessTokenTTL == 0 {
		c.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Customers < 0:
		return fmt.Errorf("customers %d: %w", c.Customers, ErrInvalidArgument)
	case c.RateLimit.Requests > 0 && c.RateLimit.Per <= 0:
		return fmt.Errorf("rate limit window %v: %w", c.RateLimit.Per, ErrInvalidArgument)
	case c.AuthRateLimit.Requests > 0 && c.AuthRateLimit.Per <= 0:
		return fmt.Errorf("auth rate limit window %v: %w", c.AuthRateLimit.Per, ErrInvalidArgument)
	case c.AccessTokenTTL < 0:
		return fmt.Errorf("access token ttl %v: %w", c.AccessTokenTTL, ErrInvalidArgument)
	}
	return nil
}

// New seeds a sandbox from cfg. It does not listen until Start; Handler
// serves it without a listener.
func New(cfg Config) (*Sandbox, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("configuring sandbox: %w", err)
	}
	seed := uint64(cfg.Seed)
	s := &Sandbox{
		cfg:          cfg,
		clock:        cfg.Clock,
		logger:       cfg.Logger.With("component", "sandbox"),
		ids:          rand.New(rand.NewPCG(seed, 0x5eed)),
		faultRand:    rand.New(rand.NewPCG(seed, 0xfa17)),
		customerByID: map[string]*customer{},
		schedules:    map[string]*schedule{},
		appts:        map[string]*appointment{},
		orders:       map[string]*order{},
		tokens:       map[string]*tokenInfo{},
		nextApptName: 1001,
		nextOrdName:  1001,
		general:      window{limit: cfg.RateLimit},
		auth:         window{limit: cfg.AuthRateLimit},
		stats:        Stats{Requests: map[string]map[int]int{}},
		done:         make(chan struct{}),
	}
	s.jwtKey = []byte(s.newID())
	s.storeID = s.newID()
	s.seed(s.clock.Now())
	s.handler = s.routes()
	return s, nil
}

// Start listens on addr (for example "127.0.0.1:0") and serves in the
// background until Close.
func (s *Sandbox) Start(addr string) error {
	s.life.Lock()
	defer s.life.Unlock()
	if s.server != nil || s.closed {
		return ErrStarted
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("starting sandbox on %s: %w", addr, err)
	}
	s.server = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.url = "http://" + ln.Addr().String()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("serving sandbox", "err", err)
		}
	}()
	return nil
}

// URL is the base URL clients use, without a trailing slash. It is empty
// before Start.
func (s *Sandbox) URL() string {
	s.life.Lock()
	defer s.life.Unlock()
	return s.url
}

// Close stops the listener and the activity generator and waits for their
// goroutines. In-flight requests are cut off: the sandbox never needs a
// graceful drain.
func (s *Sandbox) Close() error {
	s.life.Lock()
	if s.closed {
		s.life.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	var err error
	if s.server != nil {
		err = s.server.Close()
	}
	s.life.Unlock()
	s.wg.Wait()
	if err != nil {
		return fmt.Errorf("closing sandbox: %w", err)
	}
	return nil
}

// Handler serves the API under /storefront/ and the admin endpoints under
// /sandbox/ (loopback callers only).
func (s *Sandbox) Handler() http.Handler { return s.handler }

// StoreID is the id of the sandbox's only store.
func (s *Sandbox) StoreID() string { return s.storeID }

// APIKey is the X-Api-Key value the sandbox accepts.
func (s *Sandbox) APIKey() string { return s.cfg.APIKey }

// Customers lists the seeded customers in order: customer1 first.
func (s *Sandbox) Customers() []Customer {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Customer, 0, len(s.customers))
	for _, c := range s.customers {
		out = append(out, Customer{ID: c.id, Email: c.email, Password: c.password})
	}
	return out
}

// Changes returns the change log entries with Seq > since, oldest first.
// Seq starts at 1; the seeded history is not in the log.
func (s *Sandbox) Changes(since int64) []Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(s.changes), func(i int) bool { return s.changes[i].Seq > since })
	return slices.Clone(s.changes[i:])
}

// Stats returns a copy of the request counters.
func (s *Sandbox) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stats
	out.Requests = make(map[string]map[int]int, len(s.stats.Requests))
	for route, byStatus := range s.stats.Requests {
		out.Requests[route] = maps.Clone(byStatus)
	}
	return out
}

// SetFaults replaces the fault configuration. The zero Faults turns every
// fault off.
func (s *Sandbox) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// newID returns a random UUID (version 4 layout) from the seeded source.
// Callers hold s.mu, or own s exclusively (New).
func (s *Sandbox) newID() string {
	hi, lo := s.ids.Uint64(), s.ids.Uint64()
	hi = hi&^0xf000 | 0x4000
	lo = lo&^(0xc<<60) | 0x8<<60
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x",
		hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}
