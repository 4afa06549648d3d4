package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	gosync "sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/opencals-sync/opencals-sync/event"
	"github.com/opencals-sync/opencals-sync/opencals"
	"github.com/opencals-sync/opencals-sync/store"
)

// Budget is the API key's request budget, as the client's limiter sees it.
type Budget interface {
	// Rate is the general requests per second the key sustains.
	Rate(c opencals.Category) float64
	// Stats tells how much of the current window is in use.
	Stats(c opencals.Category) opencals.LimitStats
}

// Settings are the scheduler's tunables; Update swaps them while running.
type Settings struct {
	Plan Plan
	// Concurrency bounds the looks in flight.
	Concurrency int
	// Polling false stops looks (webhook mode) but keeps the completion
	// sweep.
	Polling bool
	// FullEvery forces a full look when the last one is older; light looks
	// fill the time between. Zero makes every look full.
	FullEvery time.Duration
}

// Options configure a Scheduler.
type Options struct {
	StoreID string
	API     API
	Store   Store
	Budget  Budget
	// Notify is called after events were committed (the dispatcher's
	// wake-up). May be nil.
	Notify  func()
	Clock   clockwork.Clock
	Logger  *slog.Logger
	Metrics Metrics
	// Tick is how often due customers are picked. Default 1s.
	Tick time.Duration
	// Replan is how often the stretch is recomputed. Default 30s.
	Replan time.Duration
	// Sweep is how often due completions are swept. Default 15s.
	Sweep time.Duration
	// Grace is how long looks in flight may finish after Run's context
	// ends, before they are cancelled. Default 10s.
	Grace time.Duration
}

// Metrics receives what the scheduler measures. Methods must be safe for
// concurrent use.
type Metrics interface {
	LookDone(storeID, kind string, d time.Duration, err error)
	EffectiveInterval(storeID string, d time.Duration)
	EventsRecorded(evs []event.Event)
}

// Scheduler polls the customers of one store within its key's budget,
// most overdue first, and sweeps completions.
type Scheduler struct {
	opts     Options
	look     looker
	settings atomic.Pointer[Settings]
	stretch  atomic.Uint64 // math.Float64bits of the current stretch
	cost     ewma          // requests per look

	mu       gosync.Mutex
	inFlight map[string]bool
	lastFull map[string]time.Time
	// held keeps customers whose next due time could not be stored (the
	// database refused the write) until that time, so that a failing
	// database does not turn into a look every tick.
	held    map[string]time.Time
	cycle   cycleStats
	wg      gosync.WaitGroup
	lastLog float64      // effective interval last logged, seconds
	success atomic.Int64 // unix ms of the last successful look
	ticked  atomic.Int64 // unix ms of the last tick
	dirty   atomic.Bool  // settings changed: replan at the next tick
}

// New returns a scheduler; Run starts it.
func New(opts Options, s Settings) *Scheduler {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.Logger = opts.Logger.With("component", "sync", "store_id", opts.StoreID)
	if opts.Metrics == nil {
		opts.Metrics = nopMetrics{}
	}
	if opts.Notify == nil {
		opts.Notify = func() {}
	}
	opts.Tick = cmpOr(opts.Tick, time.Second)
	opts.Replan = cmpOr(opts.Replan, 30*time.Second)
	opts.Sweep = cmpOr(opts.Sweep, 15*time.Second)
	opts.Grace = cmpOr(opts.Grace, 10*time.Second)
	sch := &Scheduler{
		opts:     opts,
		look:     looker{storeID: opts.StoreID, api: opts.API, db: opts.Store, clock: opts.Clock},
		inFlight: make(map[string]bool),
		lastFull: make(map[string]time.Time),
		held:     make(map[string]time.Time),
		cost:     ewma{value: 2},
	}
	sch.settings.Store(&s)
	sch.stretch.Store(math.Float64bits(1))
	sch.ticked.Store(opts.Clock.Now().UnixMilli())
	return sch
}

// Update swaps the settings. Looks in flight finish under the old ones; the
// next tick replans with the new ones.
func (s *Scheduler) Update(set Settings) {
	s.settings.Store(&set)
	s.dirty.Store(true)
}

// Stretch is the factor intervals are currently multiplied by to fit the
// budget.
func (s *Scheduler) Stretch() float64 { return math.Float64frombits(s.stretch.Load()) }

// EffectiveInterval is the default interval as the budget lets it be kept.
func (s *Scheduler) EffectiveInterval() time.Duration {
	return scale(s.settings.Load().Plan.Interval, s.Stretch())
}

// Run schedules until ctx ends, then waits for looks in flight.
func (s *Scheduler) Run(ctx context.Context) error {
	cron, err := gocron.NewScheduler(
		gocron.WithClock(s.opts.Clock),
		gocron.WithLogger(gocronLogger{s.opts.Logger.With("job_scheduler", "gocron")}),
		gocron.WithGlobalJobOptions(
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
			// gocron recovers a panicking job only when this listener is
			// set; a panic must cost one tick, not the daemon.
			gocron.WithEventListeners(gocron.AfterJobRunsWithPanic(
				func(_ uuid.UUID, name string, recovered any) {
					s.opts.Logger.Error("scheduled job panicked", "job", name, "panic", recovered)
				})),
		),
	)
	if err != nil {
		return fmt.Errorf("starting scheduler: %w", err)
	}
	// Looks run on their own context: shutdown stops scheduling at once but
	// lets looks in flight finish, within the grace period.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	jobs := []struct {
		name  string
		every time.Duration
		run   func(context.Context)
	}{
		{"tick", s.opts.Tick, s.tick},
		{"replan", s.opts.Replan, s.replan},
		{"sweep", s.opts.Sweep, s.sweep},
		{"summary", time.Minute, func(context.Context) { s.logCycle() }},
	}
	for _, j := range jobs {
		run := j.run
		// Jobs get the work context, never gocron's: an update must not
		// cancel a look halfway.
		_, err := cron.NewJob(gocron.DurationJob(j.every),
			gocron.NewTask(func() { run(work) }), gocron.WithName(j.name))
		if err != nil {
			return errors.Join(fmt.Errorf("adding %s job: %w", j.name, err), cron.Shutdown())
		}
	}
	s.replan(work)
	cron.Start()
	s.opts.Logger.Info("scheduler started", "effective_interval", s.EffectiveInterval().String())

	<-ctx.Done()
	err = cron.Shutdown()
	s.drain(cancelWork)
	s.logCycle()
	return err
}

// drain waits for looks in flight, cancelling them after the grace period.
func (s *Scheduler) drain(cancel context.CancelFunc) {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	grace := s.opts.Clock.NewTimer(s.opts.Grace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.Chan():
		s.opts.Logger.Warn("looks still running after the grace period; cancelling them",
			"grace", s.opts.Grace.String())
		cancel()
		<-done
	}
}

// tick starts looks at due customers, as many as free slots and the
// budget's free room allow: the scheduler never plans more than the limiter
// would let through.
func (s *Scheduler) tick(ctx context.Context) {
	s.ticked.Store(s.opts.Clock.Now().UnixMilli())
	if s.dirty.Swap(false) {
		s.replan(ctx)
	}
	set := s.settings.Load()
	if !set.Polling {
		return
	}
	slots := set.Concurrency - s.running()
	room := s.room()
	n := min(slots, room)
	if n <= 0 {
		return
	}
	now := s.opts.Clock.Now()
	due, err := s.opts.Store.DueCustomers(ctx, s.opts.StoreID, now, n+s.running())
	if err != nil {
		s.opts.Logger.Error("listing due customers", "err", err)
		return
	}
	for _, c := range due {
		if n == 0 {
			break
		}
		if s.start(ctx, c, set) {
			n--
		}
	}
}

// room is how many looks the budget's current window still admits.
func (s *Scheduler) room() int {
	st := s.opts.Budget.Stats(opencals.General)
	free := float64(st.Allowed - st.InUse)
	return int(free / math.Max(1, s.cost.get()))
}

func (s *Scheduler) running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inFlight)
}

// start runs one look in its own goroutine unless one is already running
// for that customer.
func (s *Scheduler) start(ctx context.Context, c store.Customer, set *Settings) bool {
	kind := s.kindFor(c, set)
	s.mu.Lock()
	if s.inFlight[c.ID] || s.opts.Clock.Now().Before(s.held[c.ID]) {
		s.mu.Unlock()
		return false
	}
	s.inFlight[c.ID] = true
	s.mu.Unlock()

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.inFlight, c.ID)
			s.mu.Unlock()
		}()
		s.lookAt(ctx, c, kind, set)
	}()
	return true
}

func (s *Scheduler) kindFor(c store.Customer, set *Settings) lookKind {
	s.mu.Lock()
	defer s.mu.Unlock()
	last, ok := s.lastFull[c.ID]
	if set.FullEvery <= 0 || !ok || s.opts.Clock.Since(last) >= set.FullEvery {
		return lookFull
	}
	return lookLight
}

// lookAt performs one look and records its outcome and the next due time.
func (s *Scheduler) lookAt(ctx context.Context, c store.Customer, kind lookKind, set *Settings) {
	began := s.opts.Clock.Now()
	res, err := s.look.look(ctx, c, kind)
	now := s.opts.Clock.Now()
	s.cost.add(float64(max(res.requests, 1)))
	s.opts.Metrics.LookDone(s.opts.StoreID, kindName(res.kind), now.Sub(began), err)
	s.cycle.add(res, err)
	if res.kind == lookFull && err == nil {
		s.mu.Lock()
		s.lastFull[c.ID] = now
		s.mu.Unlock()
	}
	if len(res.events) > 0 {
		s.opts.Metrics.EventsRecorded(res.events)
		s.opts.Notify()
	}
	if res.late > 0 {
		s.opts.Logger.Info("completions older than the catch-up window recorded without events",
			"customer", c.ID, "count", res.late)
	}
	s.record(ctx, c, res, err, now, set)
}

// record stores the look's outcome. A customer whose tokens the API refused
// is marked needs_reauth and skipped until it signs in again; the others
// keep running.
func (s *Scheduler) record(ctx context.Context, c store.Customer, res lookResult, lookErr error,
	now time.Time, set *Settings) {
	log := s.opts.Logger.With("customer", c.ID)
	if errors.Is(lookErr, opencals.ErrReauthRequired) {
		log.Warn("customer must sign in again; skipping it until then", "err", lookErr)
		if err := s.opts.Store.SetCustomerState(ctx, s.opts.StoreID, c.ID,
			store.CustomerNeedsReauth, lookErr.Error()); err != nil {
			log.Error("marking customer needs_reauth", "err", err)
		}
		return
	}
	view := CustomerView{LastPoll: now, NextBoundary: c.NextBoundaryAt, LastChange: c.LastChangeAt}
	if lookErr == nil {
		view.NextBoundary = res.boundary
		if len(res.events) > 0 {
			view.LastChange = now
		}
	}
	poll := store.Poll{At: now, NextAt: set.Plan.NextPoll(view, now, s.Stretch())}
	if lookErr != nil {
		log.Warn("look failed; retrying at the next due time", "err", lookErr)
		poll.Error = lookErr.Error()
	} else {
		s.success.Store(now.UnixMilli())
		log.Debug("look done", "kind", kindName(res.kind), "requests", res.requests,
			"events", len(res.events), "next_at", poll.NextAt)
	}
	err := s.opts.Store.RecordPoll(ctx, s.opts.StoreID, c.ID, poll)
	s.mu.Lock()
	if err != nil {
		s.held[c.ID] = poll.NextAt
	} else {
		delete(s.held, c.ID)
	}
	s.mu.Unlock()
	if err != nil {
		log.Error("recording poll; holding the customer until its next due time in memory",
			"err", err, "next_at", poll.NextAt)
	}
}

// replan recomputes the stretch from every active customer's tier, so that
// the looks planned fit the key's budget.
func (s *Scheduler) replan(ctx context.Context) {
	set := s.settings.Load()
	customers, err := s.opts.Store.ListCustomers(ctx, s.opts.StoreID)
	if err != nil {
		s.opts.Logger.Error("planning: listing customers", "err", err)
		return
	}
	now := s.opts.Clock.Now()
	views := make([]CustomerView, 0, len(customers))
	for _, c := range customers {
		if c.State == store.CustomerActive {
			views = append(views, CustomerView{LastPoll: c.LastPollAt,
				NextBoundary: c.NextBoundaryAt, LastChange: c.LastChangeAt})
		}
	}
	budget := s.opts.Budget.Rate(opencals.General)
	stretch := 1.0
	if set.Polling {
		stretch = Stretch(set.Plan.Demand(views, now, s.cost.get()), budget)
	}
	s.stretch.Store(math.Float64bits(stretch))
	effective := s.EffectiveInterval()
	s.opts.Metrics.EffectiveInterval(s.opts.StoreID, effective)
	s.logIntervalChange(effective, stretch, len(views), budget)
}

// logIntervalChange logs the effective interval once when it changes by
// more than 5 %.
func (s *Scheduler) logIntervalChange(effective time.Duration, stretch float64, customers int,
	budget float64) {
	secs := effective.Seconds()
	s.mu.Lock()
	last := s.lastLog
	changed := last == 0 || math.Abs(secs-last)/last >= 0.05
	if changed {
		s.lastLog = secs
	}
	s.mu.Unlock()
	if !changed {
		return
	}
	log := s.opts.Logger.Info
	if stretch > 1 {
		log = s.opts.Logger.Warn
	}
	log("effective poll interval changed", "effective_interval", effective.Round(time.Second).String(),
		"stretch", math.Round(stretch*100)/100, "customers", customers,
		"budget_per_minute", math.Round(budget*60))
}

// sweep records appointment.completed for appointments whose end passed,
// for customers polled or not.
func (s *Scheduler) sweep(ctx context.Context) {
	res, err := s.opts.Store.SweepCompletions(ctx, s.opts.StoreID, s.opts.Clock.Now())
	if len(res.Events) > 0 {
		s.opts.Metrics.EventsRecorded(res.Events)
		s.cycle.addEvents(res.Events)
		s.opts.Notify()
	}
	if res.LateCompletions > 0 {
		s.opts.Logger.Info("completions older than the catch-up window recorded without events",
			"count", res.LateCompletions)
	}
	if err != nil {
		s.opts.Logger.Error("sweeping completions", "err", err)
	}
}

// LastSuccess is when the last look succeeded; zero if none since start.
func (s *Scheduler) LastSuccess() time.Time {
	if ms := s.success.Load(); ms != 0 {
		return time.UnixMilli(ms)
	}
	return time.Time{}
}

// LastTick is when the scheduler last looked for due customers; readiness
// uses it to tell a stopped scheduler.
func (s *Scheduler) LastTick() time.Time { return time.UnixMilli(s.ticked.Load()) }

// Polling reports whether the current settings poll customers at all.
func (s *Scheduler) Polling() bool { return s.settings.Load().Polling }

func kindName(k lookKind) string {
	if k == lookLight {
		return "light"
	}
	return "full"
}

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// gocronLogger hands gocron's own start and stop lines to Debug: the
// scheduler logs what an operator needs; warnings and errors stay.
type gocronLogger struct{ l *slog.Logger }

func (g gocronLogger) Debug(msg string, args ...any) { g.l.Debug(msg, args...) }
func (g gocronLogger) Info(msg string, args ...any)  { g.l.Debug(msg, args...) }
func (g gocronLogger) Warn(msg string, args ...any)  { g.l.Warn(msg, args...) }
func (g gocronLogger) Error(msg string, args ...any) { g.l.Error(msg, args...) }

type nopMetrics struct{}

func (nopMetrics) LookDone(string, string, time.Duration, error) {}
func (nopMetrics) EffectiveInterval(string, time.Duration)       {}
func (nopMetrics) EventsRecorded([]event.Event)                  {}
