package sandbox

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxTake is the largest page the API serves.
const maxTake = 100

// defaultTake is the page size when take is absent.
const defaultTake = 10

// listQuery is a parsed list query. Unknown parameters are ignored, as the
// real API does with parameters it does not document.
type listQuery struct {
	page, take int
	orderBy    string
	desc       bool
	q          string
	values     map[string][]string // array filters by parameter name
	date       time.Time           // zero: no date filter
	name       string
}

// queryParser reads parameters and collects validation errors in the
// API's shape: one entry per property, class-validator wording.
type queryParser struct {
	q    url.Values
	errs []wireFieldError
}

func (p *queryParser) fail(property, format string, args ...any) {
	p.errs = append(p.errs, wireFieldError{Property: property,
		Messages: []string{fmt.Sprintf(format, args...)}})
}

// list returns an array parameter in any encoding the SDK or a hand-made
// URL uses: repeated (status=a&status=b), bracketed (status[]=a) or
// comma-separated (status=a,b).
func (p *queryParser) list(name string) []string {
	var out []string
	for _, raw := range append(p.q[name], p.q[name+"[]"]...) {
		for v := range strings.SplitSeq(raw, ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

func (p *queryParser) int(name string, def, lo, hi int) int {
	raw := p.q.Get(name)
	if raw == "" {
		return def
	}
	n, err := strconv.Atoi(raw)
	switch {
	case err != nil:
		p.fail(name, "%s must be an integer number", name)
	case n < lo:
		p.fail(name, "%s must not be less than %d", name, lo)
	case n > hi:
		p.fail(name, "%s must not be greater than %d", name, hi)
	default:
		return n
	}
	return def
}

func (p *queryParser) oneOf(name, value string, allowed []string, each bool) {
	if value == "" || slices.Contains(allowed, value) {
		return
	}
	prefix := name
	if each {
		prefix = "each value in " + name
	}
	p.fail(name, "%s must be one of the following values: %s", prefix, strings.Join(allowed, ", "))
}

// enumList reads an array parameter whose values come from allowed.
func (p *queryParser) enumList(name string, allowed []string) []string {
	vals := p.list(name)
	for _, v := range vals {
		if !slices.Contains(allowed, v) {
			p.oneOf(name, v, allowed, true)
			break
		}
	}
	return vals
}

// listSpec says which parameters one list endpoint takes.
type listSpec struct {
	orderBy []string            // allowed orderBy values; nil: none
	enums   map[string][]string // array parameters with a fixed set of values
	ids     []string            // array parameters of ids
	date    bool
	name    bool
	search  bool
}

var (
	appointmentsSpec = listSpec{
		orderBy: []string{"from", "to", "productId", "staffMemberId", "customerId", "createdAt"},
		enums: map[string][]string{
			"status": {statusPending, statusScheduled, statusCompleted, statusCanceled}},
		ids:  []string{"staffMembers", "products", "locations"},
		date: true,
	}
	ordersSpec = listSpec{
		orderBy: []string{"customerId", "createdAt"},
		enums: map[string][]string{
			"paymentStatuses":     {paymentUnpaid, paymentPaid, paymentPartiallyPaid},
			"fulfillmentStatuses": {fulfillmentPartially, fulfillmentFully, fulfillmentNone}},
		ids:  []string{"customers", "services", "staffMembers", "locations"},
		name: true,
	}
	catalogSpec  = listSpec{search: true}
	locationSpec = listSpec{orderBy: []string{"id", "title", "createdAt", "type"}, search: true}
)

func parseList(q url.Values, spec listSpec) (listQuery, []wireFieldError) {
	p := &queryParser{q: q}
	lq := listQuery{values: map[string][]string{}}
	lq.page = p.int("page", 1, 1, 1<<30)
	takeName := "take"
	if q.Get("take") == "" && q.Get("limit") != "" {
		takeName = "limit" // the appointments list also documents limit
	}
	lq.take = p.int(takeName, defaultTake, 1, maxTake)
	lq.orderBy = q.Get("orderBy")
	if spec.orderBy != nil {
		p.oneOf("orderBy", lq.orderBy, spec.orderBy, false)
	}
	order := q.Get("order")
	p.oneOf("order", order, []string{"ASC", "DESC"}, false)
	lq.desc = order == "DESC"
	for name, allowed := range spec.enums {
		lq.values[name] = p.enumList(name, allowed)
	}
	for _, name := range spec.ids {
		lq.values[name] = p.list(name)
	}
	if raw := q.Get("date"); spec.date && raw != "" {
		d, err := time.Parse(time.DateOnly, raw)
		if err != nil {
			p.fail("date", "date must be a valid ISO 8601 date string")
		}
		lq.date = d
	}
	if spec.name {
		lq.name = q.Get("name")
	}
	if spec.search {
		lq.q = strings.ToLower(q.Get("q"))
	}
	slices.SortFunc(p.errs, func(a, b wireFieldError) int {
		return cmp.Compare(a.Property, b.Property)
	})
	return lq, p.errs
}

// matches reports whether v passes the filter for name (an empty filter
// passes everything).
func (lq listQuery) matches(name string, v ...string) bool {
	want := lq.values[name]
	if len(want) == 0 {
		return true
	}
	for _, x := range v {
		if slices.Contains(want, x) {
			return true
		}
	}
	return false
}

// page cuts one page out of the sorted items and describes it.
func page[T any](items []T, lq listQuery) ([]T, wireMeta) {
	n := len(items)
	meta := wireMeta{Page: lq.page, Take: lq.take, ItemCount: n,
		PageCount: (n + lq.take - 1) / lq.take, HasPreviousPage: lq.page > 1}
	meta.HasNextPage = lq.page < meta.PageCount
	lo := min((lq.page-1)*lq.take, n)
	hi := min(lo+lq.take, n)
	return items[lo:hi], meta
}

// sortStable orders items by key (then createdAt, then id), all ascending
// or all descending, so equal keys never swap between two reads.
func sortStable[T any](items []T, desc bool, key func(T) string, created func(T) time.Time,
	id func(T) string) {
	slices.SortFunc(items, func(a, b T) int {
		c := cmp.Or(strings.Compare(key(a), key(b)), created(a).Compare(created(b)),
			strings.Compare(id(a), id(b)))
		if desc {
			return -c
		}
		return c
	})
}
