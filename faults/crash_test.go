//go:build faults

package faults

import (
	"math/rand/v2"
	"testing"
	"time"
)

// testCrashLoop SIGKILLs the daemon at random moments while merchants keep
// changing things, restarting it each time, then checks that what reached
// the receiver is what the change log says happened: nothing missing, no
// id with two payloads; repeats are allowed and counted. Access tokens
// live 20 s, so kills also land around token rotations.
func testCrashLoop(t *testing.T, s *suite) {
	kills := s.scaled(50, 10)
	w := newWorld(t, s, "crash_loop", worldOptions{customers: 8, tokenTTL: 20 * time.Second,
		requests: 1200, per: time.Minute})
	w.registerAll()
	w.startDaemon()
	w.waitBaselined(time.Minute)
	since := w.sb.startActivity(t, 300*time.Millisecond)
	start := w.startState()

	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0xc4a5))
	var alive time.Duration
	for range kills {
		life := 300*time.Millisecond + time.Duration(rng.Int64N(int64(4700*time.Millisecond)))
		<-time.After(life) // the kill's random moment
		alive += life
		w.daemon.kill()
		w.customerRows() // remember the tokens of this life
		w.startDaemon()
	}
	stopped := w.sb.stopActivity(t)
	opts := Options{CompletedBy: stopped.At}
	o := w.settle(start, since, opts, 2*time.Minute)
	v := w.finish(o, opts, since)

	reauth := 0
	for _, c := range w.customerRows() {
		if c.State != "active" {
			reauth++
		}
	}
	s.report.Info(w.name, "SIGKILLs", kills)
	s.report.Info(w.name, "mean life between kills (ms)", alive.Milliseconds()/int64(kills))
	s.report.Info(w.name, "looks completed, all lives", w.countLogLines(`"msg":"look done"`))
	s.report.Info(w.name, "delivery attempts recorded, all lives",
		w.countLogLines(`"msg":"delivery attempt"`))
	s.report.Zero(w.name, "customers locked out (needs_reauth)", reauth)
	s.report.Note(w.name, "kill moments seeded with %d", seed)
	if reauth > 0 {
		t.Errorf("%d customers lost their tokens across kills", reauth)
	}
	if v.Distinct == 0 {
		t.Errorf("no event reached the receiver")
	}
}
