package sandbox

// Views turn the model into wire shapes. They run with s.mu held.

func strPtr(s string) *string { return &s }

func (s *Sandbox) productView(p *product) wireProduct {
	return wireProduct{
		ID: p.id, ProductID: p.parentID, StoreID: s.storeID, Slug: p.slug,
		ScheduleID: p.scheduleID, Title: p.title, VariantTitle: "Default",
		Description: p.description, Color: p.color, Price: p.price, Taxable: true,
		Duration: p.duration, AllowCustomDuration: p.customDuration,
		MaxDuration: p.duration, MaxAttendees: 1, AllowCustomerReschedule: true,
		AllowCustomerCancel: true, RescheduleGap: 86400, CancelGap: 86400,
		AfterGap: 900, SendConfirmationEmail: true, SendReminderEmail: true,
		SendFeedbackEmail: true, Status: "active",
		CreatedAt: ts(p.createdAt), UpdatedAt: ts(p.updatedAt),
	}
}

func (s *Sandbox) staffView(m *staffMember) wireStaff {
	return wireStaff{
		ID: m.id, StoreID: s.storeID, UserID: m.userID, ScheduleID: m.scheduleID,
		FirstName: m.firstName, LastName: m.lastName, Email: m.email, Slug: m.slug,
		RefreshToken: m.refreshToken, CreatedAt: ts(m.createdAt), UpdatedAt: ts(m.createdAt),
	}
}

func (s *Sandbox) locationView(l *location) wireLocation {
	lat, lng := l.lat, l.lng
	return wireLocation{
		ID: l.id, StoreID: s.storeID, Title: strPtr(l.title), Slug: l.slug, Type: l.kind,
		City: strPtr(l.city), PostalCode: strPtr(l.postal), Country: strPtr(l.country),
		DisplayAddress: strPtr(l.display), Latitude: &lat, Longitude: &lng,
		CreatedAt: ts(l.createdAt), Address: strPtr(l.address),
		AddressLine1: strPtr(l.address), AddressLine2: strPtr(""),
	}
}

func (s *Sandbox) scheduleView(sc *schedule) *wireSchedule {
	if sc == nil {
		return nil
	}
	return &wireSchedule{
		ID: sc.id, StoreID: s.storeID, Name: strPtr(sc.name), Timezone: "Europe/Lisbon",
		ScheduleGap: "every-15-minutes", AdvanceScheduleDays: -1,
		AvailabilityType: "recurring", Status: "active", CreatedAt: ts(sc.createdAt),
	}
}

func (s *Sandbox) customerView(c *customer) *wireCustomer {
	return &wireCustomer{
		ID: c.id, FirstName: strPtr(c.firstName), LastName: strPtr(c.lastName),
		Email: strPtr(c.email), Password: strPtr(c.passwordHash), StoreID: s.storeID,
		Language: "en", CreatedAt: ts(c.createdAt), EmailVerifiedAt: tsOrNull(c.verifiedAt),
		IsEmailVerified: true, IsPasswordSet: true,
	}
}

func (s *Sandbox) addOnView(a *addOnProduct) wireAddOn {
	return wireAddOn{
		ID: a.id, StoreID: s.storeID, Slug: a.slug, Title: a.title,
		Description: a.description, Color: "amber", Price: a.price, Status: "active",
		CreatedAt: ts(a.createdAt), UpdatedAt: ts(a.createdAt),
	}
}

// appointmentCore is the copy of an appointment an order line embeds.
func (s *Sandbox) appointmentCore(a *appointment) wireAppointment {
	staff, loc := s.staffView(a.staff), s.locationView(a.location)
	return wireAppointment{
		ID: a.id, Name: a.name, ProductID: a.product.id, StaffMemberID: strPtr(a.staff.id),
		LocationID: strPtr(a.location.id), StoreID: s.storeID,
		CustomerID: strPtr(a.customer.id), From: ts(a.from), To: ts(a.to),
		DisplayAddress: strPtr(a.location.display), Status: a.status,
		CreatedBy: a.createdBy, NumberOfAttendees: 1, CustomAttributes: map[string]string{},
		CreatedAt: ts(a.createdAt), UpdatedAt: tsOrNull(a.updatedAt),
		DeletedAt: tsOrNull(a.deletedAt), Product: s.productView(a.product),
		StaffMember: &staff, Location: &loc,
	}
}

// appointmentListItem is an item of GET /storefront/appointments.
func (s *Sandbox) appointmentListItem(a *appointment) wireAppointment {
	w := s.appointmentCore(a)
	w.Customer = s.customerView(a.customer)
	var line *wireLineItem
	if a.line != nil {
		l := s.lineItemBare(a.line)
		line = &l
	}
	w.OrderLineItem = presentOf(line)
	return w
}

// appointmentDetail is the answer of GET /storefront/appointments/{id}.
func (s *Sandbox) appointmentDetail(a *appointment) wireAppointment {
	w := s.appointmentCore(a)
	w.Customer = s.customerView(a.customer)
	w.AddOns = []wireAppointmentAddOn{}
	for _, l := range a.addOns {
		w.AddOns = append(w.AddOns, wireAppointmentAddOn{
			ID: l.apptAddOnID, AppointmentID: a.id, AddOnID: l.addOn.id, Quantity: 1,
			CreatedAt: ts(l.createdAt), AddOn: s.addOnView(l.addOn),
		})
	}
	w.Guests = emptyList{}
	w.FeedbackQuestionAnswers, w.CheckoutQuestionAnswers = emptyList{}, emptyList{}
	var line *wireLineItem
	var ord *wireOrder
	if a.line != nil {
		l := s.lineItemBare(a.line)
		o := s.orderEmbedded(a.line.order)
		l.Order = &o
		line, ord = &l, &o
	}
	w.OrderLineItem, w.Order = presentOf(line), presentOf(ord)
	return w
}

func (s *Sandbox) lineItemBare(l *lineItem) wireLineItem {
	return wireLineItem{
		OrderID: strPtr(l.order.id), AppointmentID: strPtr(l.appt.id),
		CreatedAt: ts(l.createdAt), UpdatedAt: tsOrNull(l.updatedAt),
		OriginalUnitPrice: l.unitPrice, DiscountedUnitPrice: l.unitPrice,
		UnitTaxAmount: l.unitTax, Quantity: l.quantity, AddOnSubtotal: l.addOnSubtotal(),
		OriginalSubtotal: l.subtotal(), DiscountedSubtotal: l.subtotal(),
		DiscountedTotal: l.total(), TotalTax: l.tax(), RefundedQuantity: l.refundedQ,
		RefundableQuantity: l.quantity - l.refundedQ,
	}
}

// lineItemInOrder is a line as an order embeds it. detail adds the add-on
// catalog entries and the refund lines, as GET /storefront/orders/{id} does.
func (s *Sandbox) lineItemInOrder(l *lineItem, withAddOn, detail bool) wireLineItem {
	w := s.lineItemBare(l)
	appt := s.appointmentCore(l.appt)
	w.Appointment = &appt
	w.AddOnLineItems = []wireAddOnLineItem{}
	for _, a := range l.addOns {
		w.AddOnLineItems = append(w.AddOnLineItems, s.addOnLineView(a, withAddOn, detail))
	}
	if detail {
		w.RefundLineItems = []wireRefundLineItem{}
		for _, r := range l.refundLines {
			w.RefundLineItems = append(w.RefundLineItems, refundLineView(r))
		}
	}
	return w
}

func (s *Sandbox) addOnLineView(a *addOnLine, withAddOn, detail bool) wireAddOnLineItem {
	w := wireAddOnLineItem{
		ID: a.id, OrderID: a.line.order.id, LineItemID: a.line.id, AddOnID: a.addOn.id,
		OriginalUnitPrice: a.price, DiscountedUnitPrice: a.price, Quantity: 1,
		CreatedAt: ts(a.createdAt), UpdatedAt: tsOrNull(a.updatedAt),
		OriginalSubtotal: a.price, DiscountedSubtotal: a.price, DiscountedTotal: a.price,
		RefundableQuantity: 1,
	}
	if withAddOn {
		v := s.addOnView(a.addOn)
		w.AddOn = &v
	}
	if detail {
		w.RefundLineItems = []wireRefundLineItem{}
	}
	return w
}

func refundLineView(r *refundLine) wireRefundLineItem {
	return wireRefundLineItem{
		ID: r.id, RefundID: r.refund.id, LineItemID: r.line.id, Quantity: r.quantity,
		CreatedAt: ts(r.createdAt),
	}
}

// orderBase holds the scalar fields every order view shares.
func (s *Sandbox) orderBase(o *order) wireOrder {
	f := o.figures()
	c := o.customer
	return wireOrder{
		ID: o.id, PaymentCurrencyCode: currency, Name: o.name, CustomerID: strPtr(c.id),
		CustomerFirstName: strPtr(c.firstName), CustomerLastName: strPtr(c.lastName),
		CustomerEmail: strPtr(c.email), StoreID: strPtr(s.storeID), CartID: strPtr(o.cartID),
		CreatedAt: ts(o.createdAt), UpdatedAt: tsOrNull(o.updatedAt),
		Subtotal: f.subtotal, Total: f.total, TotalTax: f.tax, DueToPay: f.dueToPay,
		PaidTotal: f.paid, RefundedTotal: f.refunded, Balance: f.balance,
		DueToRefund: f.dueToRefund, IsFullyPaid: f.fullyPaid, IsFullyRefunded: f.fullyRefunded,
		PaymentStatus: f.payment, RefundStatus: f.refundSt, FulfillmentStatus: f.fulfilment,
	}
}

// orderListItem is an item of GET /storefront/orders.
func (s *Sandbox) orderListItem(o *order) wireOrder {
	w := s.orderBase(o)
	w.Customer = s.customerView(o.customer)
	w.LineItems = s.orderLines(o, false, false)
	w.Transactions = transactionsView(o, false)
	return w
}

// orderEmbedded is the order an appointment detail carries.
func (s *Sandbox) orderEmbedded(o *order) wireOrder {
	w := s.orderBase(o)
	w.LineItems = s.orderLines(o, true, false)
	w.Transactions = transactionsView(o, false)
	return w
}

// orderDetail is the answer of GET /storefront/orders/{id}.
func (s *Sandbox) orderDetail(o *order) wireOrder {
	w := s.orderBase(o)
	w.Customer = s.customerView(o.customer)
	w.LineItems = s.orderLines(o, true, true)
	w.Transactions = transactionsView(o, true)
	w.Refunds = []wireRefund{}
	for _, r := range o.refunds {
		w.Refunds = append(w.Refunds, refundView(r, true))
	}
	w.Logs = []wireOrderLog{}
	for _, l := range o.logs {
		w.Logs = append(w.Logs, wireOrderLog{
			ID: l.id, OrderID: o.id, Title: l.title, Description: strPtr(l.description),
			Level: "info", CreatedAt: ts(l.createdAt),
		})
	}
	return w
}

func (s *Sandbox) orderLines(o *order, withAddOn, detail bool) []wireLineItem {
	out := make([]wireLineItem, 0, len(o.lines))
	for _, l := range o.lines {
		out = append(out, s.lineItemInOrder(l, withAddOn, detail))
	}
	return out
}

func transactionsView(o *order, detail bool) []wireTransaction {
	out := make([]wireTransaction, 0, len(o.transactions))
	for _, t := range o.transactions {
		w := transactionView(o, t)
		if detail {
			w = transactionDetail(o, t)
		}
		out = append(out, w)
	}
	return out
}

func transactionView(o *order, t *transaction) wireTransaction {
	w := wireTransaction{
		OrderID: strPtr(o.id), ExternalID: strPtr(t.externalID), Type: t.kind,
		Amount: t.amount, CurrencyCode: currency, Gateway: "stripe", Provider: "stripe",
		Status: t.status, CreatedAt: ts(t.createdAt),
	}
	if t.parent != nil {
		w.ParentID = strPtr(t.parent.id)
	}
	if t.refund != nil {
		w.RefundID = strPtr(t.refund.id)
	}
	if t.kind == "sale" || t.kind == "capture" {
		w.RefundedAmount = t.refunded
		w.RefundableAmount = t.amount - t.refunded
		w.IsRefundable = w.RefundableAmount > 0
	}
	return w
}

// transactionDetail adds the links GET /storefront/orders/{id} resolves.
func transactionDetail(o *order, t *transaction) wireTransaction {
	w := transactionView(o, t)
	var parent *wireTransaction
	if t.parent != nil {
		p := transactionView(o, t.parent)
		parent = &p
	}
	w.ParentTransaction = presentOf(parent)
	w.ChildTransactions = []wireTransaction{}
	for _, c := range o.transactions {
		if c.parent == t {
			w.ChildTransactions = append(w.ChildTransactions, transactionView(o, c))
		}
	}
	var r *wireRefund
	if t.refund != nil {
		v := refundView(t.refund, false)
		r = &v
	}
	w.Refund = presentOf(r)
	return w
}

func refundView(r *refund, withLines bool) wireRefund {
	w := wireRefund{
		ID: r.id, OrderID: r.order.id, CreatedAt: ts(r.createdAt), Total: r.total,
		Transactions: []wireTransaction{},
	}
	for _, t := range r.txs {
		w.Transactions = append(w.Transactions, transactionView(r.order, t))
	}
	if withLines {
		w.LineItems = []wireRefundLineItem{}
		for _, l := range r.lines {
			w.LineItems = append(w.LineItems, refundLineView(l))
		}
	}
	return w
}
