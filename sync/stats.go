package sync

import (
	"strings"
	gosync "sync"

	"github.com/opencals-sync/opencals-sync/event"
)

// ewma is an exponentially weighted moving average, safe for concurrent
// use. It tracks the requests a look costs.
type ewma struct {
	mu    gosync.Mutex
	value float64
}

func (e *ewma) add(x float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.value += 0.05 * (x - e.value)
}

func (e *ewma) get() float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.value
}

// cycleStats counts what happened since the last summary line.
type cycleStats struct {
	mu gosync.Mutex
	cycleCounts
}

type cycleCounts struct {
	looks    int
	light    int
	requests int
	failures int
	events   map[event.Type]int
}

func (c *cycleStats) add(r lookResult, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.looks++
	if r.kind == lookLight {
		c.light++
	}
	c.requests += r.requests
	if err != nil {
		c.failures++
	}
	c.countLocked(r.events)
}

func (c *cycleStats) addEvents(evs []event.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.countLocked(evs)
}

func (c *cycleStats) countLocked(evs []event.Event) {
	if c.events == nil {
		c.events = make(map[event.Type]int)
	}
	for _, e := range evs {
		c.events[e.Type]++
	}
}

// take returns the counts and starts a new cycle.
func (c *cycleStats) take() cycleCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.cycleCounts
	c.cycleCounts = cycleCounts{}
	return out
}

// logCycle writes the summary line of the last cycle, if anything happened.
func (s *Scheduler) logCycle() {
	c := s.cycle.take()
	if c.looks == 0 && len(c.events) == 0 {
		return
	}
	args := []any{"looks", c.looks, "light_looks", c.light, "requests", c.requests,
		"failures", c.failures, "effective_interval", s.EffectiveInterval().String()}
	for _, t := range event.Types {
		if n := c.events[t]; n > 0 {
			args = append(args, strings.ReplaceAll(string(t), ".", "_"), n)
		}
	}
	s.opts.Logger.Info("sync cycle", args...)
}
