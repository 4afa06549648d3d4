package sandbox

import (
	"context"
	"math/rand/v2"
	"time"
)

// runActivity is RunActivity's loop. Its random source is seeded from
// Config.Seed alone, so the same seed and the same clock give the same
// operations.
func (s *Sandbox) runActivity(ctx context.Context, every time.Duration) {
	rng := rand.New(rand.NewPCG(uint64(s.cfg.Seed), 0xac7))
	ticker := s.clock.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-ticker.Chan():
			s.activityStep(rng)
			if s.stepHook != nil {
				s.stepHook()
			}
		}
	}
}

// activityOps are the generator's operations and their weights. An
// operation with no valid target falls back to a booking, which always
// applies, so every step records at least one change.
var activityOps = []struct {
	weight int
	run    func(s *Sandbox, rng *rand.Rand) bool
}{
	{30, (*Sandbox).randomBooking},
	{20, (*Sandbox).randomPayment},
	{8, (*Sandbox).randomCancel},
	{10, (*Sandbox).randomReschedule},
	{10, (*Sandbox).randomRefund},
	{12, (*Sandbox).randomCompletion},
	{5, (*Sandbox).randomAddOn},
	{5, (*Sandbox).randomHold},
}

func (s *Sandbox) activityStep(rng *rand.Rand) {
	total := 0
	for _, op := range activityOps {
		total += op.weight
	}
	roll := rng.IntN(total)
	for _, op := range activityOps {
		if roll -= op.weight; roll < 0 {
			if !op.run(s, rng) {
				s.randomBooking(rng)
			}
			return
		}
	}
}

// randomSlot is either a short appointment starting within seconds (so a
// demo sees completions within a minute) or a regular one in the next
// weeks.
func (s *Sandbox) randomSlot(rng *rand.Rand) (time.Time, time.Time) {
	now := s.clock.Now().Truncate(time.Second)
	if rng.IntN(2) == 0 {
		from := now.Add(time.Duration(5+rng.IntN(10)) * time.Second)
		return from, from.Add(time.Duration(20+rng.IntN(30)) * time.Second)
	}
	day := now.Truncate(24 * time.Hour).Add(time.Duration(1+rng.IntN(21)) * 24 * time.Hour)
	from := day.Add(time.Duration(9*60+15*rng.IntN(32)) * time.Minute)
	return from, from.Add(time.Duration(30*(1+rng.IntN(3))) * time.Minute)
}

func (s *Sandbox) randomCustomer(rng *rand.Rand) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.customers) == 0 {
		return ""
	}
	return s.customers[rng.IntN(len(s.customers))].id
}

func (s *Sandbox) randomBooking(rng *rand.Rand) bool {
	from, to := s.randomSlot(rng)
	_, err := s.Book(s.randomCustomer(rng), from, to)
	return err == nil
}

func (s *Sandbox) randomHold(rng *rand.Rand) bool {
	from, to := s.randomSlot(rng)
	_, err := s.Hold(s.randomCustomer(rng), from, to)
	return err == nil
}

// pickAppointment chooses among the appointments (in creation order) that
// pass keep; "" when none does.
func (s *Sandbox) pickAppointment(rng *rand.Rand, keep func(*appointment) bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for _, c := range s.customers {
		for _, a := range c.appointments {
			if a.deletedAt.IsZero() && keep(a) {
				ids = append(ids, a.id)
			}
		}
	}
	if len(ids) == 0 {
		return ""
	}
	return ids[rng.IntN(len(ids))]
}

// pickOrder chooses among the orders (in creation order) that pass keep.
func (s *Sandbox) pickOrder(rng *rand.Rand, keep func(figures, *order) bool) (string, figures) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var picked []*order
	for _, c := range s.customers {
		for _, o := range c.orders {
			if keep(o.figures(), o) {
				picked = append(picked, o)
			}
		}
	}
	if len(picked) == 0 {
		return "", figures{}
	}
	o := picked[rng.IntN(len(picked))]
	return o.id, o.figures()
}

func (s *Sandbox) randomPayment(rng *rand.Rand) bool {
	id, _ := s.pickOrder(rng, func(f figures, _ *order) bool { return f.dueToPay > 0 })
	return id != "" && s.CapturePayment(id) == nil
}

func (s *Sandbox) randomCancel(rng *rand.Rand) bool {
	id := s.pickAppointment(rng, func(a *appointment) bool {
		return a.status == statusScheduled || a.status == statusPending
	})
	return id != "" && s.Cancel(id) == nil
}

func (s *Sandbox) randomReschedule(rng *rand.Rand) bool {
	now := s.clock.Now()
	id := s.pickAppointment(rng, func(a *appointment) bool {
		return a.status == statusScheduled && a.from.After(now)
	})
	if id == "" {
		return false
	}
	from, to := s.randomSlot(rng)
	return s.Reschedule(id, from, to) == nil
}

// randomRefund refunds an order with money on it: in full when its
// appointment was canceled or on a coin toss, otherwise a part.
func (s *Sandbox) randomRefund(rng *rand.Rand) bool {
	id, f := s.pickOrder(rng, func(f figures, _ *order) bool { return f.balance > 0 })
	if id == "" {
		return false
	}
	amount := f.balance
	if f.dueToRefund == 0 && rng.IntN(2) == 0 {
		amount = max(1, f.balance/(2+int64(rng.IntN(3))))
	}
	_, err := s.Refund(id, amount)
	return err == nil
}

// randomCompletion completes an appointment whose end has passed.
func (s *Sandbox) randomCompletion(rng *rand.Rand) bool {
	now := s.clock.Now()
	id := s.pickAppointment(rng, func(a *appointment) bool {
		return a.status == statusScheduled && !a.to.After(now)
	})
	return id != "" && s.Complete(id) == nil
}

func (s *Sandbox) randomAddOn(rng *rand.Rand) bool {
	id, _ := s.pickOrder(rng, func(f figures, o *order) bool {
		return f.paid > 0 && o.lines[0].appt.status == statusScheduled
	})
	return id != "" && s.AddOn(id, int64(500*(1+rng.IntN(4)))) == nil
}
