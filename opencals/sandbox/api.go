package sandbox

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// reply is what an API handler answers before faults are applied.
type reply struct {
	status     int
	body       any
	retryAfter int // seconds; 429 only
}

func encode(body any) ([]byte, error) {
	if raw, isRaw := body.(rawBody); isRaw {
		return raw, nil
	}
	return json.Marshal(body)
}

func ok(body any) reply { return reply{status: http.StatusOK, body: body} }

func fail(status int, message string) reply {
	return reply{status: status, body: wireError{Message: message}}
}

func invalid(errs []wireFieldError) reply {
	return reply{status: http.StatusBadRequest,
		body: wireError{Message: "Validation failed", Errors: errs}}
}

type apiFunc func(r *http.Request) reply

// customerFunc is an API handler for a signed-in customer.
type customerFunc func(r *http.Request, c *customer) reply

func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /storefront/auth/sign-in", s.api(s.handleSignIn))
	mux.Handle("GET /storefront/auth/refresh", s.api(s.handleRefresh))
	mux.Handle("GET /storefront/appointments", s.api(s.customer(s.handleListAppointments)))
	mux.Handle("GET /storefront/appointments/{id}", s.api(s.customer(s.handleGetAppointment)))
	mux.Handle("GET /storefront/orders", s.api(s.customer(s.handleListOrders)))
	mux.Handle("GET /storefront/orders/{id}", s.api(s.customer(s.handleGetOrder)))
	mux.Handle("GET /storefront/products", s.api(s.handleProducts))
	mux.Handle("GET /storefront/staff-members", s.api(s.handleStaff))
	mux.Handle("GET /storefront/locations", s.api(s.handleLocations))
	mux.Handle("/storefront/", s.api(func(r *http.Request) reply {
		return fail(http.StatusNotFound, "Cannot "+r.Method+" "+r.URL.Path)
	}))
	s.adminRoutes(mux)
	return mux
}

// api wraps a handler with what every /storefront request goes through:
// latency, the API key, the rate limit, faults, counting and encoding.
func (s *Sandbox) api(h apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.wait(r) {
			return
		}
		rep, body, fault := s.serve(r, h)
		s.count(r.Pattern, rep.status, fault)
		s.logger.Debug("api request", "method", r.Method, "route", r.Pattern,
			"status", rep.status, "fault", fault)
		if rep.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(rep.retryAfter))
		}
		contentType := "application/json; charset=utf-8"
		if fault == faultPlainError {
			contentType = "text/plain; charset=utf-8"
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rep.status)
		_, _ = w.Write(body)
	})
}

// serve runs the checks and the handler and encodes the answer, which a
// fault may then replace.
func (s *Sandbox) serve(r *http.Request, h apiFunc) (reply, []byte, string) {
	rep, pre := s.admit(r)
	if pre == "" && rep.status == 0 {
		rep = h(r)
	}
	body, err := encode(rep.body)
	if err != nil {
		rep = fail(http.StatusInternalServerError, "Internal server error")
		body, _ = encode(rep.body)
	}
	if pre != "" {
		return rep, body, pre
	}
	if rep.status == http.StatusOK {
		if mangled, fault := s.mangle(body); fault != "" {
			return rep, mangled, fault
		}
	}
	return rep, body, ""
}

// admit checks the API key and the rate limit, then rolls for a server
// error. A non-zero reply answers the request without the handler.
func (s *Sandbox) admit(r *http.Request) (reply, string) {
	if r.Header.Get("X-Api-Key") != s.cfg.APIKey {
		return fail(http.StatusUnauthorized, "Invalid API key"), ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	win := &s.general
	if strings.HasPrefix(r.URL.Path, "/storefront/auth/") {
		win = &s.auth
	}
	if allowed, wait := win.allow(s.clock.Now()); !allowed {
		rep := fail(http.StatusTooManyRequests, "ThrottlerException: Too Many Requests")
		rep.retryAfter = retryAfterSeconds(wait)
		return rep, ""
	}
	return s.rollServerError()
}

// customer resolves the Bearer access token before h runs.
func (s *Sandbox) customer(h customerFunc) apiFunc {
	return func(r *http.Request) reply {
		token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !found {
			return fail(http.StatusUnauthorized, "Unauthorized")
		}
		s.mu.Lock()
		c, err := s.authenticate(strings.TrimSpace(token), s.clock.Now())
		s.mu.Unlock()
		if err != nil {
			return fail(http.StatusUnauthorized, "Unauthorized")
		}
		return h(r, c)
	}
}

type signInRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	StoreID     string `json:"storeId"`
	StoreDomain string `json:"storeDomain"`
	TokenName   string `json:"tokenName"`
}

func (req signInRequest) validate() []wireFieldError {
	var errs []wireFieldError
	if _, err := mail.ParseAddress(req.Email); err != nil || !strings.Contains(req.Email, "@") {
		errs = append(errs, wireFieldError{Property: "email",
			Messages: []string{"email must be an email"}})
	}
	if len(req.Password) < 8 {
		errs = append(errs, wireFieldError{Property: "password",
			Messages: []string{"password must be longer than or equal to 8 characters"}})
	}
	return errs
}

func (s *Sandbox) handleSignIn(r *http.Request) reply {
	var req signInRequest
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := dec.Decode(&req); err != nil {
		return fail(http.StatusBadRequest, "Request body is not valid JSON")
	}
	if errs := req.validate(); len(errs) > 0 {
		return invalid(errs)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.customerByEmail(req.Email)
	if c == nil || c.password != req.Password || (req.StoreID != "" && req.StoreID != s.storeID) {
		return fail(http.StatusUnauthorized, "Invalid credentials")
	}
	name := req.TokenName
	if name == "" {
		name = "default"
	}
	p := s.signIn(c, name, s.clock.Now())
	return ok(wireTokens{AccessToken: p.access, RefreshToken: p.refresh})
}

func (s *Sandbox) customerByEmail(email string) *customer {
	for _, c := range s.customers {
		if strings.EqualFold(c.email, email) {
			return c
		}
	}
	return nil
}

func (s *Sandbox) handleRefresh(r *http.Request) reply {
	token, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found {
		return fail(http.StatusUnauthorized, "Unauthorized")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.refreshSession(strings.TrimSpace(token), s.clock.Now())
	if err != nil {
		return fail(http.StatusUnauthorized, "Unauthorized")
	}
	return ok(wireTokens{AccessToken: p.access, RefreshToken: p.refresh})
}

func (s *Sandbox) handleListAppointments(r *http.Request, c *customer) reply {
	lq, errs := parseList(r.URL.Query(), appointmentsSpec)
	if len(errs) > 0 {
		return invalid(errs)
	}
	s.beforePage("appointments", c, lq.page)
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []*appointment
	for _, a := range c.appointments {
		if a.deletedAt.IsZero() && s.appointmentMatches(a, lq) {
			items = append(items, a)
		}
	}
	sortStable(items, lq.desc, appointmentKey(lq.orderBy),
		func(a *appointment) time.Time { return a.createdAt },
		func(a *appointment) string { return a.id })
	items, meta := page(items, lq)
	out := wirePage[wireAppointment]{Data: make([]wireAppointment, 0, len(items)), Meta: meta}
	for _, a := range items {
		out.Data = append(out.Data, s.appointmentListItem(a))
	}
	return ok(out)
}

func (s *Sandbox) appointmentMatches(a *appointment, lq listQuery) bool {
	if !lq.date.IsZero() && a.from.Format(time.DateOnly) != lq.date.Format(time.DateOnly) {
		return false
	}
	return lq.matches("status", a.status) && lq.matches("staffMembers", a.staff.id) &&
		lq.matches("products", a.product.id) && lq.matches("locations", a.location.id)
}

func appointmentKey(orderBy string) func(*appointment) string {
	switch orderBy {
	case "from":
		return func(a *appointment) string { return ts(a.from) }
	case "to":
		return func(a *appointment) string { return ts(a.to) }
	case "productId":
		return func(a *appointment) string { return a.product.id }
	case "staffMemberId":
		return func(a *appointment) string { return a.staff.id }
	case "customerId":
		return func(a *appointment) string { return a.customer.id }
	default: // createdAt, the default order
		return func(*appointment) string { return "" }
	}
}

func (s *Sandbox) handleGetAppointment(r *http.Request, c *customer) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, found := s.appts[r.PathValue("id")]
	if !found || a.customer != c || !a.deletedAt.IsZero() {
		return fail(http.StatusNotFound, "Appointment not found")
	}
	return ok(s.appointmentDetail(a))
}

func (s *Sandbox) handleListOrders(r *http.Request, c *customer) reply {
	lq, errs := parseList(r.URL.Query(), ordersSpec)
	if len(errs) > 0 {
		return invalid(errs)
	}
	s.beforePage("orders", c, lq.page)
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []*order
	for _, o := range c.orders {
		if orderMatches(o, lq) {
			items = append(items, o)
		}
	}
	key := func(*order) string { return "" }
	if lq.orderBy == "customerId" {
		key = func(o *order) string { return o.customer.id }
	}
	sortStable(items, lq.desc, key, func(o *order) time.Time { return o.createdAt },
		func(o *order) string { return o.id })
	items, meta := page(items, lq)
	out := wirePage[wireOrder]{Data: make([]wireOrder, 0, len(items)), Meta: meta}
	for _, o := range items {
		out.Data = append(out.Data, s.orderListItem(o))
	}
	return ok(out)
}

func orderMatches(o *order, lq listQuery) bool {
	f := o.figures()
	if lq.name != "" && lq.name != o.name {
		return false
	}
	var products, staff, locations []string
	for _, l := range o.lines {
		products = append(products, l.appt.product.id)
		staff = append(staff, l.appt.staff.id)
		locations = append(locations, l.appt.location.id)
	}
	return lq.matches("paymentStatuses", f.payment) &&
		lq.matches("fulfillmentStatuses", f.fulfilment) &&
		lq.matches("customers", o.customer.id) && lq.matches("services", products...) &&
		lq.matches("staffMembers", staff...) && lq.matches("locations", locations...)
}

func (s *Sandbox) handleGetOrder(r *http.Request, c *customer) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, found := s.orders[r.PathValue("id")]
	if !found || o.customer != c {
		return fail(http.StatusNotFound, "Order not found")
	}
	return ok(s.orderDetail(o))
}

// beforePage runs the test hook and the page-shift fault, outside s.mu.
func (s *Sandbox) beforePage(resource string, c *customer, page int) {
	if s.cfg.BeforeListPage != nil {
		s.cfg.BeforeListPage(resource, c.id, page)
	}
	if page > 1 {
		s.maybeShift(resource, c)
	}
}

func errorStatus(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrInvalidState):
		return http.StatusConflict
	default:
		return http.StatusBadRequest
	}
}
