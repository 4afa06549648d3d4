package deliver

import (
	"fmt"
	"path"

	"github.com/opencals-sync/opencals-sync/event"
)

// Filter selects event types by exact name or path.Match glob
// ("appointment.*"). The zero value accepts every type.
type Filter struct {
	patterns []string
}

// NewFilter checks the patterns; no pattern accepts every type. A pattern
// that is not a valid glob wraps ErrInvalidEndpoint.
func NewFilter(patterns []string) (Filter, error) {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return Filter{}, fmt.Errorf("event filter %q: %w: %w", p, ErrInvalidEndpoint, err)
		}
	}
	return Filter{patterns: append([]string(nil), patterns...)}, nil
}

// Match reports whether the filter accepts t.
func (f Filter) Match(t event.Type) bool {
	if len(f.patterns) == 0 {
		return true
	}
	for _, p := range f.patterns {
		if ok, _ := path.Match(p, string(t)); ok {
			return true
		}
	}
	return false
}

// Types lists the known event types the filter accepts: what the store
// queues for the endpoint.
func (f Filter) Types() []event.Type {
	var ts []event.Type
	for _, t := range event.Types {
		if f.Match(t) {
			ts = append(ts, t)
		}
	}
	return ts
}
