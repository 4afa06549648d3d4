package sandbox

import (
	"encoding/json"
	"time"
)

// The wire shapes follow the runtime schemas of @opencals/storefront-sdk
// 0.3.15 (dist/client/zod.gen.js) and the fixtures that passed them. Pointer
// fields are the schema's nullable ones and encode as null; the catalog's
// nested objects use "" for an empty deletedAt, as the real API does.
// Fields that only some views carry use omitzero, so one struct serves the
// list item, the detail and the copy embedded in another resource.

// timeLayout is the API's timestamp format: UTC with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

// tsOrNull encodes the zero time as null.
func tsOrNull(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := ts(t)
	return &s
}

// present is a field some views carry and others omit, and that is null
// when carried without a value (orderLineItem, order, parentTransaction,
// refund). It needs omitzero on its tag.
type present[T any] struct {
	set bool
	val *T
}

func presentOf[T any](v *T) present[T] { return present[T]{set: true, val: v} }

// IsZero tells omitzero to drop the field when the view does not carry it.
func (p present[T]) IsZero() bool { return !p.set }

// MarshalJSON encodes the value, or null.
func (p present[T]) MarshalJSON() ([]byte, error) { return json.Marshal(p.val) }

// emptyList is an always-empty array the sandbox has nothing to put in
// (guests, question answers, images, collections).
type emptyList = []json.RawMessage

type wireMeta struct {
	Page            int  `json:"page"`
	Take            int  `json:"take"`
	ItemCount       int  `json:"itemCount"`
	PageCount       int  `json:"pageCount"`
	HasPreviousPage bool `json:"hasPreviousPage"`
	HasNextPage     bool `json:"hasNextPage"`
}

type wirePage[T any] struct {
	Data []T      `json:"data"`
	Meta wireMeta `json:"meta"`
}

type wireTokens struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
}

type wireFieldError struct {
	Property string   `json:"property"`
	Messages []string `json:"messages"`
}

type wireError struct {
	Message string           `json:"message"`
	Errors  []wireFieldError `json:"errors,omitempty"`
}

// wireImage is never filled in: the sandbox's catalog has no images.
type wireImage struct {
	ID        string  `json:"id"`
	URL       string  `json:"url"`
	CreatedAt string  `json:"createdAt"`
	StoreID   *string `json:"storeId"`
}

type wireProduct struct {
	ID                       string     `json:"id"`
	ProductID                string     `json:"productId"`
	ExternalID               string     `json:"externalId"`
	ExternalVariantID        string     `json:"externalVariantId"`
	StoreID                  string     `json:"storeId"`
	Slug                     string     `json:"slug"`
	ScheduleID               string     `json:"scheduleId"`
	ProductPoolID            *string    `json:"productPoolId"`
	Title                    string     `json:"title"`
	VariantTitle             string     `json:"variantTitle"`
	Description              string     `json:"description"`
	ImageID                  string     `json:"imageId"`
	Color                    string     `json:"color"`
	Price                    int64      `json:"price"`
	Taxable                  bool       `json:"taxable"`
	Duration                 int        `json:"duration"`
	AllowCustomDuration      bool       `json:"allowCustomDuration"`
	MaxDuration              int        `json:"maxDuration"`
	MaxAttendees             int        `json:"maxAttendees"`
	MaxGuests                *int       `json:"maxGuests"`
	AllowGuests              bool       `json:"allowGuests"`
	AllowCustomerReschedule  bool       `json:"allowCustomerReschedule"`
	AllowCustomerCancel      bool       `json:"allowCustomerCancel"`
	RescheduleGap            int        `json:"rescheduleGap"`
	CancelGap                int        `json:"cancelGap"`
	BeforeGap                int        `json:"beforeGap"`
	AfterGap                 int        `json:"afterGap"`
	FixedTimes               bool       `json:"fixedTimes"`
	FixedStartTime           string     `json:"fixedStartTime"`
	FixedEndTime             string     `json:"fixedEndTime"`
	AdvanceScheduleThreshold int        `json:"advanceScheduleThreshold"`
	SendConfirmationEmail    bool       `json:"sendConfirmationEmail"`
	SendReminderEmail        bool       `json:"sendReminderEmail"`
	SendFeedbackEmail        bool       `json:"sendFeedbackEmail"`
	SkipCheckout             bool       `json:"skipCheckout"`
	Status                   string     `json:"status"`
	CreatedAt                string     `json:"createdAt"`
	UpdatedAt                string     `json:"updatedAt"`
	DeletedAt                string     `json:"deletedAt"`
	Image                    *wireImage `json:"image"`
}

// wireProductListItem is an item of GET /storefront/products.
type wireProductListItem struct {
	wireProduct
	Variants []wireProductVariant `json:"variants"`
}

type wireProductVariant struct {
	wireProduct
	StaffMembers []wireStaffWithLocations `json:"staffMembers"`
	Locations    []wireLocationWithStaff  `json:"locations"`
	Schedule     *wireSchedule            `json:"schedule"`
	Images       emptyList                `json:"images"`
	Collections  emptyList                `json:"collections"`
	ProductPool  *struct{}                `json:"productPool"` // always null
}

type wireStaff struct {
	ID           string     `json:"id"`
	StoreID      string     `json:"storeId"`
	UserID       string     `json:"userId"`
	ScheduleID   string     `json:"scheduleId"`
	ImageID      string     `json:"imageId"`
	FirstName    string     `json:"firstName"`
	LastName     string     `json:"lastName"`
	Email        string     `json:"email"`
	Slug         string     `json:"slug"`
	RefreshToken string     `json:"refreshToken"`
	CreatedAt    string     `json:"createdAt"`
	UpdatedAt    string     `json:"updatedAt"`
	DeletedAt    string     `json:"deletedAt"`
	Image        *wireImage `json:"image"`
}

type wireStaffWithLocations struct {
	wireStaff
	Locations []wireLocation `json:"locations"`
}

// wireStaffListItem is an item of GET /storefront/staff-members.
type wireStaffListItem struct {
	wireStaff
	Schedule  *wireSchedule  `json:"schedule"`
	Products  []wireProduct  `json:"products"`
	Locations []wireLocation `json:"locations"`
}

type wireLocation struct {
	ID             string   `json:"id"`
	StoreID        string   `json:"storeId"`
	ScheduleID     *string  `json:"scheduleId"`
	Title          *string  `json:"title"`
	Description    *string  `json:"description"`
	Slug           string   `json:"slug"`
	Type           string   `json:"type"`
	Link           *string  `json:"link"`
	City           *string  `json:"city"`
	State          *string  `json:"state"`
	PostalCode     *string  `json:"postalCode"`
	Country        *string  `json:"country"`
	DisplayAddress *string  `json:"displayAddress"`
	AddressPlaceID *string  `json:"addressPlaceId"`
	Latitude       *float64 `json:"latitude"`
	Longitude      *float64 `json:"longitude"`
	CreatedAt      string   `json:"createdAt"`
	UpdatedAt      *string  `json:"updatedAt"`
	DeletedAt      *string  `json:"deletedAt"`
	Address        *string  `json:"address"`
	AddressLine1   *string  `json:"addressLine1"`
	AddressLine2   *string  `json:"addressLine2"`
}

type wireLocationWithStaff struct {
	wireLocation
	StaffMembers []wireStaff `json:"staffMembers"`
}

// wireLocationListItem is an item of GET /storefront/locations.
type wireLocationListItem struct {
	wireLocation
	Products       []wireProduct      `json:"products"`
	StaffMembers   []wireStaff        `json:"staffMembers"`
	Schedule       *wireSchedule      `json:"schedule"`
	Availabilities []wireAvailability `json:"availabilities"`
}

type wireSchedule struct {
	ID                  string  `json:"id"`
	StoreID             string  `json:"storeId"`
	Name                *string `json:"name"`
	Timezone            string  `json:"timezone"`
	ScheduleGap         string  `json:"scheduleGap"`
	AppointmentsGap     int     `json:"appointmentsGap"`
	AdvanceScheduleDays int     `json:"advanceScheduleDays"`
	AvailabilityType    string  `json:"availabilityType"`
	Status              string  `json:"status"`
	CreatedAt           string  `json:"createdAt"`
	UpdatedAt           *string `json:"updatedAt"`
	DeletedAt           *string `json:"deletedAt"`
}

type wireAvailability struct {
	ID         string  `json:"id"`
	LocationID string  `json:"locationId"`
	FromDate   *string `json:"fromDate"`
	FromTime   string  `json:"fromTime"`
	ToDate     *string `json:"toDate"`
	ToTime     string  `json:"toTime"`
	Day        *int    `json:"day"`
	Status     string  `json:"status"`
	CreatedAt  string  `json:"createdAt"`
	UpdatedAt  *string `json:"updatedAt"`
}

type wireCustomer struct {
	ID              string  `json:"id"`
	ExternalID      string  `json:"externalId"`
	FirstName       *string `json:"firstName"`
	LastName        *string `json:"lastName"`
	Email           *string `json:"email"`
	Phone           *string `json:"phone"`
	Password        *string `json:"password"`
	StoreID         string  `json:"storeId"`
	Language        string  `json:"language"`
	CreatedAt       string  `json:"createdAt"`
	UpdatedAt       *string `json:"updatedAt"`
	EmailVerifiedAt *string `json:"emailVerifiedAt"`
	DeletedAt       *string `json:"deletedAt"`
	IsEmailVerified bool    `json:"isEmailVerified"`
	IsPasswordSet   bool    `json:"isPasswordSet"`
}

// wireAppointment is an appointment in every view: the list item (with
// customer and orderLineItem), the detail (with customer, addOns, guests,
// answers, orderLineItem carrying its order, and order) and the copy an
// order line embeds (catalog objects only).
type wireAppointment struct {
	ID                      string                 `json:"id"`
	Name                    string                 `json:"name"`
	ProductID               string                 `json:"productId"`
	StaffMemberID           *string                `json:"staffMemberId"`
	LocationID              *string                `json:"locationId"`
	StoreID                 string                 `json:"storeId"`
	CustomerID              *string                `json:"customerId"`
	ExternalOrderID         *string                `json:"externalOrderId"`
	ExternalOrderName       *string                `json:"externalOrderName"`
	From                    string                 `json:"from"`
	To                      string                 `json:"to"`
	DisplayAddress          *string                `json:"displayAddress"`
	Status                  string                 `json:"status"`
	InternalNote            *string                `json:"internalNote"`
	CreatedBy               string                 `json:"createdBy"`
	ReminderSentAt          *string                `json:"reminderSentAt"`
	NumberOfAttendees       int                    `json:"numberOfAttendees"`
	CustomAttributes        map[string]string      `json:"customAttributes"`
	CreatedAt               string                 `json:"createdAt"`
	UpdatedAt               *string                `json:"updatedAt"`
	DeletedAt               *string                `json:"deletedAt"`
	Product                 wireProduct            `json:"product"`
	StaffMember             *wireStaff             `json:"staffMember"`
	Location                *wireLocation          `json:"location"`
	Customer                *wireCustomer          `json:"customer,omitzero"`
	AddOns                  []wireAppointmentAddOn `json:"addOns,omitzero"`
	Guests                  emptyList              `json:"guests,omitzero"`
	FeedbackQuestionAnswers emptyList              `json:"feedbackQuestionAnswers,omitzero"`
	CheckoutQuestionAnswers emptyList              `json:"checkoutQuestionAnswers,omitzero"`
	OrderLineItem           present[wireLineItem]  `json:"orderLineItem,omitzero"`
	Order                   present[wireOrder]     `json:"order,omitzero"`
}

type wireAppointmentAddOn struct {
	ID            string    `json:"id"`
	AppointmentID string    `json:"appointmentId"`
	AddOnID       string    `json:"addOnId"`
	Quantity      int       `json:"quantity"`
	CreatedAt     string    `json:"createdAt"`
	AddOn         wireAddOn `json:"addOn"`
}

type wireAddOn struct {
	ID                 string     `json:"id"`
	ExternalID         string     `json:"externalId"`
	ExternalVariantID  string     `json:"externalVariantId"`
	StoreID            string     `json:"storeId"`
	Slug               string     `json:"slug"`
	Title              string     `json:"title"`
	Description        string     `json:"description"`
	ImageID            string     `json:"imageId"`
	Color              string     `json:"color"`
	Price              int64      `json:"price"`
	Taxable            bool       `json:"taxable"`
	DurationMultiplied bool       `json:"durationMultiplied"`
	MaxQuantity        *int       `json:"maxQuantity"`
	Status             string     `json:"status"`
	CreatedAt          string     `json:"createdAt"`
	UpdatedAt          string     `json:"updatedAt"`
	DeletedAt          string     `json:"deletedAt"`
	Image              *wireImage `json:"image"`
}

// wireLineItem is an order line in every view: bare inside an appointment
// list item, with its order inside an appointment detail, with appointment
// and add-on lines inside an order, plus refund lines in an order detail.
type wireLineItem struct {
	OrderID             *string              `json:"orderId"`
	AppointmentID       *string              `json:"appointmentId"`
	ExternalID          *string              `json:"externalId"`
	CreatedAt           string               `json:"createdAt"`
	UpdatedAt           *string              `json:"updatedAt"`
	DeletedAt           *string              `json:"deletedAt"`
	OriginalUnitPrice   int64                `json:"originalUnitPrice"`
	DiscountedUnitPrice int64                `json:"discountedUnitPrice"`
	UnitTaxAmount       int64                `json:"unitTaxAmount"`
	Quantity            int                  `json:"quantity"`
	AddOnSubtotal       int64                `json:"addOnSubtotal"`
	AddOnTotalTax       int64                `json:"addOnTotalTax"`
	OriginalSubtotal    int64                `json:"originalSubtotal"`
	TotalDiscount       int64                `json:"totalDiscount"`
	DiscountedSubtotal  int64                `json:"discountedSubtotal"`
	DiscountedTotal     int64                `json:"discountedTotal"`
	TotalTax            int64                `json:"totalTax"`
	RefundedQuantity    int                  `json:"refundedQuantity"`
	RefundableQuantity  int                  `json:"refundableQuantity"`
	Order               *wireOrder           `json:"order,omitzero"`
	Appointment         *wireAppointment     `json:"appointment,omitzero"`
	AddOnLineItems      []wireAddOnLineItem  `json:"addOnLineItems,omitzero"`
	RefundLineItems     []wireRefundLineItem `json:"refundLineItems,omitzero"`
}

type wireAddOnLineItem struct {
	ID                  string               `json:"id"`
	OrderID             string               `json:"orderId"`
	LineItemID          string               `json:"lineItemId"`
	AddOnID             string               `json:"addOnId"`
	ExternalID          *string              `json:"externalId"`
	OriginalUnitPrice   int64                `json:"originalUnitPrice"`
	DiscountedUnitPrice int64                `json:"discountedUnitPrice"`
	UnitTaxAmount       int64                `json:"unitTaxAmount"`
	Quantity            int                  `json:"quantity"`
	CreatedAt           string               `json:"createdAt"`
	UpdatedAt           *string              `json:"updatedAt"`
	DeletedAt           *string              `json:"deletedAt"`
	OriginalSubtotal    int64                `json:"originalSubtotal"`
	TotalDiscount       int64                `json:"totalDiscount"`
	DiscountedSubtotal  int64                `json:"discountedSubtotal"`
	DiscountedTotal     int64                `json:"discountedTotal"`
	TotalTax            int64                `json:"totalTax"`
	RefundedQuantity    int                  `json:"refundedQuantity"`
	RefundableQuantity  int                  `json:"refundableQuantity"`
	AddOn               *wireAddOn           `json:"addOn,omitzero"`
	RefundLineItems     []wireRefundLineItem `json:"refundLineItems,omitzero"`
}

type wireRefundLineItem struct {
	ID         string  `json:"id"`
	RefundID   string  `json:"refundId"`
	ExternalID *string `json:"externalId"`
	LineItemID string  `json:"lineItemId"`
	Quantity   int     `json:"quantity"`
	CreatedAt  string  `json:"createdAt"`
	UpdatedAt  *string `json:"updatedAt"`
}

// wireOrder is an order in every view: the list item and detail (with
// customer), the detail (with refunds and logs, and transactions carrying
// their parent, children and refund) and the copy in an appointment detail.
type wireOrder struct {
	ID                  string            `json:"id"`
	PaymentCurrencyCode string            `json:"paymentCurrencyCode"`
	TaxesIncluded       bool              `json:"taxesIncluded"`
	ExternalID          *string           `json:"externalId"`
	ExternalName        *string           `json:"externalName"`
	Name                string            `json:"name"`
	CustomerID          *string           `json:"customerId"`
	CustomerFirstName   *string           `json:"customerFirstName"`
	CustomerLastName    *string           `json:"customerLastName"`
	CustomerEmail       *string           `json:"customerEmail"`
	CustomerPhone       *string           `json:"customerPhone"`
	StoreID             *string           `json:"storeId"`
	CartID              *string           `json:"cartId"`
	CreatedAt           string            `json:"createdAt"`
	UpdatedAt           *string           `json:"updatedAt"`
	DeletedAt           *string           `json:"deletedAt"`
	Subtotal            int64             `json:"subtotal"`
	Total               int64             `json:"total"`
	TotalTax            int64             `json:"totalTax"`
	DueToPay            int64             `json:"dueToPay"`
	PaidTotal           int64             `json:"paidTotal"`
	RefundedTotal       int64             `json:"refundedTotal"`
	Balance             int64             `json:"balance"`
	DueToRefund         int64             `json:"dueToRefund"`
	IsFullyPaid         bool              `json:"isFullyPaid"`
	IsFullyRefunded     bool              `json:"isFullyRefunded"`
	PaymentStatus       string            `json:"paymentStatus"`
	RefundStatus        string            `json:"refundStatus"`
	FulfillmentStatus   string            `json:"fulfillmentStatus"`
	Customer            *wireCustomer     `json:"customer,omitzero"`
	LineItems           []wireLineItem    `json:"lineItems"`
	Transactions        []wireTransaction `json:"transactions"`
	Refunds             []wireRefund      `json:"refunds,omitzero"`
	Logs                []wireOrderLog    `json:"logs,omitzero"`
}

type wireTransaction struct {
	OrderID           *string                  `json:"orderId"`
	ExternalID        *string                  `json:"externalId"`
	ParentID          *string                  `json:"parentId"`
	RefundID          *string                  `json:"refundId"`
	Type              string                   `json:"type"`
	Amount            int64                    `json:"amount"`
	CurrencyCode      string                   `json:"currencyCode"`
	Gateway           string                   `json:"gateway"`
	Provider          string                   `json:"provider"`
	Status            string                   `json:"status"`
	CreatedAt         string                   `json:"createdAt"`
	UpdatedAt         *string                  `json:"updatedAt"`
	DeletedAt         *string                  `json:"deletedAt"`
	RefundableAmount  int64                    `json:"refundableAmount"`
	RefundedAmount    int64                    `json:"refundedAmount"`
	IsRefundable      bool                     `json:"isRefundable"`
	ParentTransaction present[wireTransaction] `json:"parentTransaction,omitzero"`
	ChildTransactions []wireTransaction        `json:"childTransactions,omitzero"`
	Refund            present[wireRefund]      `json:"refund,omitzero"`
}

type wireRefund struct {
	ID           string               `json:"id"`
	OrderID      string               `json:"orderId"`
	ExternalID   *string              `json:"externalId"`
	CreatedAt    string               `json:"createdAt"`
	UpdatedAt    *string              `json:"updatedAt"`
	Total        int64                `json:"total"`
	LineItems    []wireRefundLineItem `json:"lineItems,omitzero"`
	Transactions []wireTransaction    `json:"transactions"`
}

type wireOrderLog struct {
	ID          string  `json:"id"`
	OrderID     string  `json:"orderId"`
	Title       string  `json:"title"`
	Description *string `json:"description"`
	Level       string  `json:"level"`
	CreatedAt   string  `json:"createdAt"`
	UpdatedAt   *string `json:"updatedAt"`
}
