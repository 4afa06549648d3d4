package event

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Sample ids: the store, customer, appointment and order of the sample
// events, taken from the shapes of the API's answers.
const (
	SampleStoreID       = "7b0c6a52-5a3e-4c55-9d0e-1f6f1c2b9a10"
	SampleCustomerID    = "c1d2e3f4-0000-4000-8000-000000000001"
	SampleAppointmentID = "0a1b2c3d-6666-4666-8666-000000000001"
	SampleOrderID       = "9e8d7c6b-7777-4777-8777-000000000001"
)

// Sample returns a realistic event of type t for `opencals-sync trigger`
// and the documentation: the object has every field the API returns
// (credentials removed), times are placed around now, and Test is set so
// that a receiver can tell it from a real event. Each call at a different
// now gets a different id, so two triggers are two deliveries.
func Sample(t Type, now time.Time) (Event, error) {
	if !t.Valid() {
		return Event{}, fmt.Errorf("sample of %q: unknown event type", t)
	}
	now = now.UTC().Truncate(time.Millisecond)
	s := sampleFor(t, now)
	obj := json.RawMessage(s.fill(sampleTemplate(t)))
	if !json.Valid(obj) {
		return Event{}, fmt.Errorf("sample of %s: template is not valid JSON", t)
	}
	resource := SampleAppointmentID
	if t.Resource() == "order" {
		resource = SampleOrderID
	}
	return Event{
		ID:         ID(SampleStoreID, t, resource, "test:"+now.Format(time.RFC3339Nano)),
		Type:       t,
		CreatedAt:  now,
		OccurredAt: s.occurred,
		StoreID:    SampleStoreID,
		CustomerID: SampleCustomerID,
		Source:     SourcePoll,
		Test:       true,
		Data:       Data{Object: obj, Previous: s.previous},
		ResourceID: resource,
	}, nil
}

// sampleValues are what varies between the samples.
type sampleValues struct {
	from, to, updated, occurred time.Time
	status                      string
	payment, refund             string
	paid, refunded              int64
	transactions                string
	previous                    map[string]any
}

// sampleFor places the sample's times around now: a booking three days
// ahead, moved a day later for a reschedule, or one that just ended.
func sampleFor(t Type, now time.Time) sampleValues {
	slot := now.Truncate(time.Hour).Add(72 * time.Hour)
	s := sampleValues{
		from: slot, to: slot.Add(time.Hour), updated: now, occurred: now,
		status: "scheduled", payment: "paid", refund: "unrefunded", paid: 5535,
		transactions: sampleSale,
	}
	switch t {
	case AppointmentCanceled:
		s.status = "canceled"
		s.previous = map[string]any{"status": "scheduled"}
	case AppointmentRescheduled:
		s.previous = map[string]any{
			"from": s.from.Format(time.RFC3339Nano), "to": s.to.Format(time.RFC3339Nano),
		}
		s.from, s.to = s.from.Add(24*time.Hour), s.to.Add(24*time.Hour)
	case AppointmentCompleted:
		s.to = now.Truncate(time.Minute)
		s.from = s.to.Add(-time.Hour)
		s.updated = s.from.Add(-48 * time.Hour)
		s.occurred, s.status = s.to, "completed"
		s.previous = map[string]any{"status": "scheduled"}
	case OrderPaid:
		s.previous = map[string]any{"paymentStatus": "unpaid", "paidTotal": 0}
	case OrderRefunded:
		s.refund, s.refunded = "partially-refunded", 2000
		s.transactions = sampleSale + "," + sampleRefund
		s.previous = map[string]any{"refundStatus": "unrefunded", "refundedTotal": 0}
	}
	return s
}

// fill replaces the template's @NAME@ markers.
func (s sampleValues) fill(template string) string {
	ts := func(t time.Time) string { return t.Format("2006-01-02T15:04:05.000Z") }
	created := s.updated.Add(-3 * time.Minute)
	// Nested parts go in first: a replacer does not rescan what it
	// inserted, and they have markers of their own.
	template = strings.NewReplacer("@APPOINTMENT@", sampleAppointmentCore,
		"@TRANSACTIONS@", s.transactions).Replace(template)
	return strings.NewReplacer(
		"@FROM@", ts(s.from), "@TO@", ts(s.to), "@STATUS@", s.status,
		"@CREATED@", ts(created), "@UPDATED@", ts(s.updated),
		"@PAYMENT@", s.payment, "@REFUND@", s.refund,
		"@PAID@", fmt.Sprint(s.paid), "@REFUNDED@", fmt.Sprint(s.refunded),
		"@BALANCE@", fmt.Sprint(s.paid-s.refunded),
		"@FULLYPAID@", fmt.Sprint(s.payment == "paid"),
		"@PAIDAT@", ts(s.updated.Add(-time.Second)), "@REFUNDEDAT@", ts(s.updated),
	).Replace(template)
}

func sampleTemplate(t Type) string {
	if t.Resource() == "order" {
		return sampleOrder
	}
	return sampleAppointment
}

// sampleAppointmentCore is an appointment's scalar fields and nested
// catalog objects, shared by the appointment item and the order's line.
const sampleAppointmentCore = `"id": "0a1b2c3d-6666-4666-8666-000000000001",
  "name": "1001",
  "productId": "a9f1e2d3-1111-4111-8111-000000000001",
  "staffMemberId": "e5f6a7b8-3333-4333-8333-000000000001",
  "locationId": "b1c2d3e4-5555-4555-8555-000000000001",
  "storeId": "7b0c6a52-5a3e-4c55-9d0e-1f6f1c2b9a10",
  "customerId": "c1d2e3f4-0000-4000-8000-000000000001",
  "externalOrderId": null,
  "externalOrderName": null,
  "from": "@FROM@",
  "to": "@TO@",
  "displayAddress": "Rua Augusta 1, Lisbon",
  "status": "@STATUS@",
  "internalNote": null,
  "createdBy": "customer",
  "reminderSentAt": null,
  "numberOfAttendees": 1,
  "customAttributes": {},
  "createdAt": "@CREATED@",
  "updatedAt": "@UPDATED@",
  "deletedAt": null,
  "product": {
    "id": "a9f1e2d3-1111-4111-8111-000000000001",
    "productId": "a9f1e2d3-1111-4111-8111-000000000000",
    "storeId": "7b0c6a52-5a3e-4c55-9d0e-1f6f1c2b9a10",
    "slug": "haircut", "title": "Haircut", "variantTitle": "Default",
    "description": "A classic cut.", "color": "sky",
    "price": 4500, "taxable": true, "duration": 3600, "maxAttendees": 1,
    "allowCustomerReschedule": true, "allowCustomerCancel": true,
    "rescheduleGap": 86400, "cancelGap": 86400, "status": "active",
    "createdAt": "2026-01-10T08:00:00.000Z", "updatedAt": "2026-06-01T08:00:00.000Z",
    "image": null
  },
  "staffMember": {
    "id": "e5f6a7b8-3333-4333-8333-000000000001",
    "storeId": "7b0c6a52-5a3e-4c55-9d0e-1f6f1c2b9a10",
    "userId": "f0e1d2c3-4444-4444-8444-000000000001",
    "firstName": "Ana", "lastName": "Lopez", "email": "ana@salon.example", "slug": "ana",
    "createdAt": "2026-01-10T08:00:00.000Z", "updatedAt": "2026-01-10T08:00:00.000Z",
    "image": null
  },
  "location": {
    "id": "b1c2d3e4-5555-4555-8555-000000000001",
    "storeId": "7b0c6a52-5a3e-4c55-9d0e-1f6f1c2b9a10",
    "title": "Main street", "slug": "main-street", "type": "physical",
    "city": "Lisbon", "postalCode": "1100-001", "country": "PT",
    "displayAddress": "Rua Augusta 1, Lisbon",
    "address": "Rua Augusta 1", "addressLine1": "Rua Augusta 1", "addressLine2": "",
    "latitude": 38.7101, "longitude": -9.1366
  }`

// sampleCustomer is the customer as the API nests it, without the
// password the real API leaks.
const sampleCustomer = `"customer": {
    "id": "c1d2e3f4-0000-4000-8000-000000000001",
    "firstName": "Jo", "lastName": "Doe", "email": "customer1@example.test",
    "phone": null, "language": "en",
    "storeId": "7b0c6a52-5a3e-4c55-9d0e-1f6f1c2b9a10",
    "createdAt": "2026-11-20T10:00:00.000Z", "isEmailVerified": true,
    "isPasswordSet": true
  }`

const sampleAppointment = `{
  @APPOINTMENT@,
  ` + sampleCustomer + `,
  "orderLineItem": {
    "orderId": "9e8d7c6b-7777-4777-8777-000000000001",
    "appointmentId": "0a1b2c3d-6666-4666-8666-000000000001",
    "quantity": 1, "originalUnitPrice": 4500, "discountedUnitPrice": 4500,
    "unitTaxAmount": 1035, "discountedTotal": 5535, "totalTax": 1035,
    "refundedQuantity": 0, "refundableQuantity": 1
  }
}`

const sampleOrder = `{
  "id": "9e8d7c6b-7777-4777-8777-000000000001",
  "name": "1001",
  "storeId": "7b0c6a52-5a3e-4c55-9d0e-1f6f1c2b9a10",
  "customerId": "c1d2e3f4-0000-4000-8000-000000000001",
  "customerFirstName": "Jo", "customerLastName": "Doe",
  "customerEmail": "customer1@example.test", "customerPhone": null,
  "cartId": "cc00aa11-8888-4888-8888-000000000001",
  "externalId": null, "externalName": null,
  "paymentCurrencyCode": "EUR", "taxesIncluded": false,
  "subtotal": 4500, "total": 5535, "totalTax": 1035, "dueToPay": 0,
  "paidTotal": @PAID@, "refundedTotal": @REFUNDED@, "balance": @BALANCE@, "dueToRefund": 0,
  "isFullyPaid": @FULLYPAID@, "isFullyRefunded": false,
  "paymentStatus": "@PAYMENT@", "refundStatus": "@REFUND@",
  "fulfillmentStatus": "unfulfilled",
  "createdAt": "@CREATED@", "updatedAt": "@UPDATED@", "deletedAt": null,
  ` + sampleCustomer + `,
  "lineItems": [{
    "orderId": "9e8d7c6b-7777-4777-8777-000000000001",
    "appointmentId": "0a1b2c3d-6666-4666-8666-000000000001",
    "quantity": 1, "originalUnitPrice": 4500, "discountedUnitPrice": 4500,
    "unitTaxAmount": 1035, "discountedTotal": 5535, "totalTax": 1035,
    "refundedQuantity": 0, "refundableQuantity": 1,
    "appointment": {
  @APPOINTMENT@
    },
    "addOnLineItems": []
  }],
  "transactions": [@TRANSACTIONS@]
}`

const sampleSale = `{
    "orderId": "9e8d7c6b-7777-4777-8777-000000000001",
    "externalId": "pi_3Q000000000000001", "parentId": null, "refundId": null,
    "type": "sale", "amount": 5535, "currencyCode": "EUR",
    "gateway": "stripe", "provider": "stripe", "status": "success",
    "createdAt": "@PAIDAT@", "refundableAmount": 5535, "refundedAmount": @REFUNDED@,
    "isRefundable": true
  }`

const sampleRefund = `{
    "orderId": "9e8d7c6b-7777-4777-8777-000000000001",
    "externalId": "re_3Q000000000000001", "parentId": "pi_3Q000000000000001",
    "refundId": "re_sample_1", "type": "refund", "amount": 2000, "currencyCode": "EUR",
    "gateway": "stripe", "provider": "stripe", "status": "success",
    "createdAt": "@REFUNDEDAT@", "refundableAmount": 0, "refundedAmount": 0,
    "isRefundable": false
  }`
