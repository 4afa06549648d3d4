package sandbox

import (
	"net/http"
	"strings"
	"time"
)

// The catalog endpoints are store-scoped: the API key is enough.

func (s *Sandbox) handleProducts(r *http.Request) reply {
	lq, errs := parseList(r.URL.Query(), catalogSpec)
	if len(errs) > 0 {
		return invalid(errs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []*product
	for _, p := range s.products {
		if strings.Contains(strings.ToLower(p.title+" "+p.description), lq.q) {
			items = append(items, p)
		}
	}
	sortStable(items, lq.desc, func(*product) string { return "" },
		func(p *product) time.Time { return p.createdAt }, func(p *product) string { return p.id })
	items, meta := page(items, lq)
	out := wirePage[wireProductListItem]{Data: []wireProductListItem{}, Meta: meta}
	for _, p := range items {
		out.Data = append(out.Data, wireProductListItem{wireProduct: s.productView(p),
			Variants: []wireProductVariant{s.variantView(p)}})
	}
	return ok(out)
}

// variantView is the product's only variant, itself, with the staff and
// locations that offer it (all of them).
func (s *Sandbox) variantView(p *product) wireProductVariant {
	v := wireProductVariant{wireProduct: s.productView(p),
		StaffMembers: []wireStaffWithLocations{}, Locations: []wireLocationWithStaff{},
		Schedule: s.scheduleView(s.schedules[p.scheduleID]), Images: emptyList{},
		Collections: emptyList{}}
	for _, m := range s.staff {
		v.StaffMembers = append(v.StaffMembers, wireStaffWithLocations{
			wireStaff: s.staffView(m), Locations: s.locationViews()})
	}
	for _, l := range s.locations {
		v.Locations = append(v.Locations, wireLocationWithStaff{
			wireLocation: s.locationView(l), StaffMembers: s.staffViews()})
	}
	return v
}

func (s *Sandbox) handleStaff(r *http.Request) reply {
	lq, errs := parseList(r.URL.Query(), catalogSpec)
	if len(errs) > 0 {
		return invalid(errs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []*staffMember
	for _, m := range s.staff {
		if strings.Contains(strings.ToLower(m.firstName+" "+m.lastName+" "+m.email), lq.q) {
			items = append(items, m)
		}
	}
	sortStable(items, lq.desc, func(*staffMember) string { return "" },
		func(m *staffMember) time.Time { return m.createdAt },
		func(m *staffMember) string { return m.id })
	items, meta := page(items, lq)
	out := wirePage[wireStaffListItem]{Data: []wireStaffListItem{}, Meta: meta}
	for _, m := range items {
		out.Data = append(out.Data, wireStaffListItem{wireStaff: s.staffView(m),
			Schedule: s.scheduleView(s.schedules[m.scheduleID]), Products: s.productViews(),
			Locations: s.locationViews()})
	}
	return ok(out)
}

func (s *Sandbox) handleLocations(r *http.Request) reply {
	lq, errs := parseList(r.URL.Query(), locationSpec)
	if len(errs) > 0 {
		return invalid(errs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []*location
	for _, l := range s.locations {
		if strings.Contains(strings.ToLower(l.title), lq.q) {
			items = append(items, l)
		}
	}
	sortStable(items, lq.desc, locationKey(lq.orderBy),
		func(l *location) time.Time { return l.createdAt }, func(l *location) string { return l.id })
	items, meta := page(items, lq)
	out := wirePage[wireLocationListItem]{Data: []wireLocationListItem{}, Meta: meta}
	for _, l := range items {
		out.Data = append(out.Data, wireLocationListItem{wireLocation: s.locationView(l),
			Products: s.productViews(), StaffMembers: s.staffViews(),
			Availabilities: s.availabilities(l)})
	}
	return ok(out)
}

func locationKey(orderBy string) func(*location) string {
	switch orderBy {
	case "id":
		return func(l *location) string { return l.id }
	case "title":
		return func(l *location) string { return l.title }
	case "type":
		return func(l *location) string { return l.kind }
	default:
		return func(*location) string { return "" }
	}
}

// availabilities opens every location Monday to Friday, 09:00 to 18:00.
// Their ids derive from the location's, so reads do not consume the
// seeded id source.
func (s *Sandbox) availabilities(l *location) []wireAvailability {
	out := make([]wireAvailability, 0, 5)
	for day := 1; day <= 5; day++ {
		out = append(out, wireAvailability{
			ID: l.id[:len(l.id)-1] + string(rune('0'+day)), LocationID: l.id,
			FromTime: "09:00:00", ToTime: "18:00:00", Day: &day, Status: "available",
			CreatedAt: ts(l.createdAt),
		})
	}
	return out
}

func (s *Sandbox) productViews() []wireProduct {
	out := make([]wireProduct, 0, len(s.products))
	for _, p := range s.products {
		out = append(out, s.productView(p))
	}
	return out
}

func (s *Sandbox) staffViews() []wireStaff {
	out := make([]wireStaff, 0, len(s.staff))
	for _, m := range s.staff {
		out = append(out, s.staffView(m))
	}
	return out
}

func (s *Sandbox) locationViews() []wireLocation {
	out := make([]wireLocation, 0, len(s.locations))
	for _, l := range s.locations {
		out = append(out, s.locationView(l))
	}
	return out
}
