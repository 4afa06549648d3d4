package sandbox

import (
	"fmt"
	"strings"
	"time"
)

var (
	firstNames = []string{"Jo", "Maria", "Tiago", "Ines", "Rui", "Sofia", "Pedro", "Lea",
		"Nuno", "Clara", "Hugo", "Marta"}
	lastNames = []string{"Doe", "Silva", "Santos", "Ferreira", "Costa", "Oliveira",
		"Martins", "Sousa", "Rocha", "Almeida"}
)

// seed builds the catalog, the customers and each customer's history. It
// runs inside New, before anyone else can see s.
func (s *Sandbox) seed(now time.Time) {
	s.seedCatalog(now.Add(-300 * 24 * time.Hour))
	for i := 1; i <= s.cfg.Customers; i++ {
		c := s.seedCustomer(i, now)
		s.seedHistory(c, now)
	}
}

func (s *Sandbox) seedCatalog(at time.Time) {
	newSchedule := func(name string) string {
		sc := &schedule{id: s.newID(), name: name, createdAt: at}
		s.schedules[sc.id] = sc
		return sc.id
	}
	for _, p := range []struct {
		slug, title, desc, color string
		price                    int64
		minutes                  int
		custom                   bool
	}{
		{"haircut", "Haircut", "A classic cut.", "sky", 4500, 60, false},
		{"colour", "Colour", "Full colour with wash.", "violet", 8500, 90, false},
		{"beard-trim", "Beard trim", "Shape and trim.", "emerald", 2000, 30, false},
		{"consultation", "Consultation", "A quick chat, any length.", "amber", 1500, 15, true},
	} {
		s.products = append(s.products, &product{
			id: s.newID(), parentID: s.newID(), slug: p.slug, scheduleID: newSchedule(p.title),
			title: p.title, description: p.desc, color: p.color, price: p.price,
			duration: p.minutes * 60, customDuration: p.custom, createdAt: at, updatedAt: at,
		})
	}
	for _, m := range [][2]string{{"Ana", "Lopez"}, {"Bruno", "Costa"}} {
		slug := strings.ToLower(m[0])
		s.staff = append(s.staff, &staffMember{
			id: s.newID(), userID: s.newID(), scheduleID: newSchedule(m[0]),
			firstName: m[0], lastName: m[1], email: slug + "@salon.example", slug: slug,
			refreshToken: "eyJhbGciOiJIUzI1NiJ9.staff-" + slug + "." + s.newID(),
			createdAt:    at,
		})
	}
	s.locations = append(s.locations,
		&location{id: s.newID(), title: "Main street", slug: "main-street", kind: "physical",
			address: "Rua Augusta 1", city: "Lisbon", postal: "1100-001", country: "PT",
			display: "Rua Augusta 1, Lisbon", lat: 38.7101, lng: -9.1366, createdAt: at},
		&location{id: s.newID(), title: "Riverside", slug: "riverside", kind: "physical",
			address: "Avenida 24 de Julho 10", city: "Lisbon", postal: "1200-480", country: "PT",
			display: "Avenida 24 de Julho 10, Lisbon", lat: 38.7069, lng: -9.1460, createdAt: at},
	)
	s.addOn = &addOnProduct{id: s.newID(), slug: "extra-care", title: "Extra care",
		description: "A little more of everything.", price: 1000, createdAt: at}
}

func (s *Sandbox) seedCustomer(i int, now time.Time) *customer {
	created := now.Add(-time.Duration(30+s.ids.IntN(60)) * 24 * time.Hour)
	c := &customer{
		id:           s.newID(),
		email:        fmt.Sprintf("customer%d@example.test", i),
		password:     SandboxPassword,
		passwordHash: "$2b$10$" + s.bcryptish(53),
		firstName:    firstNames[(i-1)%len(firstNames)],
		lastName:     lastNames[s.ids.IntN(len(lastNames))],
		createdAt:    created,
		verifiedAt:   created.Add(5 * time.Minute),
		sessions:     map[string]*session{},
	}
	s.customers = append(s.customers, c)
	s.customerByID[c.id] = c
	return c
}

// seedHistory gives a customer the states the issue asks for: completed
// and paid in the past, partially refunded, canceled, and scheduled in
// the future, paid and unpaid. None of it is in the change log.
func (s *Sandbox) seedHistory(c *customer, now time.Time) {
	day := 24 * time.Hour
	slot := func(days int) (time.Time, time.Time) {
		from := now.Truncate(day).Add(time.Duration(days)*day + time.Duration(9+s.ids.IntN(8))*time.Hour)
		p := s.products[s.ids.IntN(len(s.products)-1)]
		return from, from.Add(time.Duration(p.duration) * time.Second)
	}
	book := func(from, to, at time.Time) *appointment {
		a := s.hold(c, from, to, at)
		s.checkout(a, at.Add(3*time.Minute))
		return a
	}

	// Completed and paid, weeks ago.
	from, to := slot(-10 - s.ids.IntN(30))
	a := book(from, to, from.Add(-7*day))
	s.capture(a.line.order, from.Add(-7*day+4*time.Minute))
	s.complete(a, to.Add(time.Minute))

	// Completed, paid, then partly refunded.
	from, to = slot(-3 - s.ids.IntN(6))
	a = book(from, to, from.Add(-5*day))
	s.capture(a.line.order, from.Add(-5*day+4*time.Minute))
	s.complete(a, to.Add(time.Minute))
	s.refund(a.line.order, a.line.order.figures().paid/4, to.Add(day/2))

	// Canceled before paying.
	from, to = slot(1 + s.ids.IntN(10))
	a = book(from, to, now.Add(-5*day))
	s.cancel(a, now.Add(-4*day))

	// Scheduled and paid.
	from, to = slot(2 + s.ids.IntN(12))
	a = book(from, to, now.Add(-2*day))
	s.capture(a.line.order, now.Add(-2*day+5*time.Minute))

	// Scheduled, not paid yet.
	from, to = slot(3 + s.ids.IntN(20))
	book(from, to, now.Add(-day))
}

// bcryptish returns n characters of bcrypt's alphabet, so the leaked
// customer.password looks like the real API's hash.
func (s *Sandbox) bcryptish(n int) string {
	const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.ids.IntN(len(alphabet))]
	}
	return string(b)
}
