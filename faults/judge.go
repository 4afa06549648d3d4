//go:build faults

package faults

import (
	"bytes"
	"cmp"
	"slices"
)

// Verdict compares what a receiver got with what the oracle expects.
type Verdict struct {
	// Must is what polling had to deliver; Missing is what of it never
	// arrived (accepted).
	Must, Missing []Expectation
	// Deliveries counts accepted requests, Distinct their event ids, and
	// Duplicates the repeats (allowed: delivery is at least once).
	Deliveries, Distinct, Duplicates int
	// Conflicting lists ids delivered with different bodies.
	Conflicting []string
	// Unexplained lists delivered events no change in the log accounts
	// for: wrong events, such as a cancellation made up from a failed
	// listing.
	Unexplained []Observed
	// OutOfOrder lists events that arrived before the previous event of
	// their resource (in outbox order) had been accepted.
	OutOfOrder []string
}

// Outboxed is where the daemon's outbox put an event: its seq and the
// resource deliveries are ordered by.
type Outboxed struct {
	Seq      int64
	Resource string
}

// Judge builds the verdict. outbox maps event ids to their place in the
// daemon's outbox, for the order check; ids it lacks are left out of it.
func Judge(o *Oracle, opts Options, ds []Delivery, outbox map[string]Outboxed) Verdict {
	var v Verdict
	bodies := map[string][]byte{}
	conflicting := map[string]bool{}
	seen := map[string][]Slot{}
	var firsts []Observed
	for _, d := range ds {
		if !d.Accepted {
			continue
		}
		v.Deliveries++
		first, ok := bodies[d.ID]
		if !ok {
			bodies[d.ID] = d.Body
			firsts = append(firsts, d.Observed)
			if !d.From.IsZero() {
				seen[d.ResourceID] = append(seen[d.ResourceID], Slot{d.From, d.To})
			}
			continue
		}
		v.Duplicates++
		if !bytes.Equal(first, d.Body) && !conflicting[d.ID] {
			conflicting[d.ID] = true
			v.Conflicting = append(v.Conflicting, d.ID)
		}
	}
	v.Distinct = len(bodies)
	v.Must = o.Must(opts, seen)
	for _, e := range v.Must {
		if _, ok := bodies[e.ID]; !ok {
			v.Missing = append(v.Missing, e)
		}
	}
	explainable := o.Explainable(opts)
	for _, obs := range firsts {
		if _, ok := explainable[obs.ID]; !ok {
			v.Unexplained = append(v.Unexplained, obs)
		}
	}
	v.OutOfOrder = OutOfOrder(ds, outbox)
	return v
}

// OutOfOrder checks per-resource order: a request for an event must come
// after the first acceptance of the previous event of its resource in
// outbox order. It returns the ids that broke it. Resources come from the
// outbox, since a dropped request has no body to read one from.
func OutOfOrder(ds []Delivery, outbox map[string]Outboxed) []string {
	firstArrival := map[string]int{}
	firstAccept := map[string]int{}
	for _, d := range ds {
		if _, ok := firstArrival[d.ID]; !ok {
			firstArrival[d.ID] = d.N
		}
		if at, ok := firstAccept[d.ID]; d.Accepted && (!ok || d.AcceptedAt < at) {
			firstAccept[d.ID] = d.AcceptedAt
		}
	}
	byResource := map[string][]string{}
	for id, ob := range outbox {
		byResource[ob.Resource] = append(byResource[ob.Resource], id)
	}
	var bad []string
	for _, ids := range byResource {
		slices.SortFunc(ids, func(a, b string) int {
			return cmp.Compare(outbox[a].Seq, outbox[b].Seq)
		})
		for i := 1; i < len(ids); i++ {
			arrived, ok := firstArrival[ids[i]]
			if !ok {
				continue
			}
			if prev, ok := firstAccept[ids[i-1]]; !ok || arrived < prev {
				bad = append(bad, ids[i])
			}
		}
	}
	slices.Sort(bad)
	return bad
}
