package customer

import (
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/mask"
)

// Kind says whether a record is a person or an organisation.
type Kind string

// Kinds, as stored.
const (
	KindIndividual Kind = "individual"
	KindEnterprise Kind = "enterprise"
)

// State is where a record is in its life.
type State string

// States, as stored. Only active records change; merged and erased ones are kept for references.
const (
	StateActive State = "active"
	StateMerged State = "merged"
	StateErased State = "erased"
)

// Source is where a group of fields came from (PIPL asks a processor to know it).
type Source string

// Sources, as stored.
const (
	SourceCustomer    Source = "customer_provided"
	SourceInteraction Source = "business_interaction"
	SourcePartner     Source = "authorized_partner"
)

// Provenance records where one group of fields came from. It never holds personal data.
type Provenance struct {
	Source     Source    `json:"source"`
	Detail     string    `json:"detail,omitempty"`
	RecordedAt time.Time `json:"recorded_at"`
}

// ContactKind is what a contact value is.
type ContactKind string

// Contact kinds, as stored; each is its own blind-index domain.
const (
	ContactPhone  ContactKind = "phone"
	ContactEmail  ContactKind = "email"
	ContactWeChat ContactKind = "wechat"
)

// Normalize returns the one spelling of v used for matching (and blind indexes) for this kind.
func (k ContactKind) Normalize(v string) (string, bool) {
	switch k {
	case ContactPhone:
		return NormalizePhone(v)
	case ContactEmail:
		return NormalizeEmail(v)
	case ContactWeChat:
		return NormalizeWeChat(v)
	}
	return "", false
}

// Mask masks v as this kind's values are shown.
func (k ContactKind) Mask(v string) string {
	switch k {
	case ContactPhone:
		return mask.Phone(v)
	case ContactEmail:
		return mask.Email(v)
	default:
		return mask.WeChat(v)
	}
}

// Consent is one consent for one contact.
type Consent struct {
	Purpose     string
	Channel     string
	GrantedAt   time.Time
	WithdrawnAt time.Time // zero while in force
}

// Active reports whether the consent is in force.
func (c Consent) Active() bool { return c.WithdrawnAt.IsZero() }

// Contact is one way to reach the customer.
type Contact struct {
	ID         uuid.UUID
	PersonID   uuid.UUID // zero for the customer's own contacts
	Kind       ContactKind
	Value      string // as given (trimmed); Normalized is what matches
	Provenance Provenance
	Consents   []Consent
	CreatedAt  time.Time
}

// Normalized is the contact's matching spelling.
func (c Contact) Normalized() string {
	n, _ := c.Kind.Normalize(c.Value)
	return n
}

// Usable reports whether some consent is in force, the condition for using the contact at all.
func (c Contact) Usable() bool {
	return slices.ContainsFunc(c.Consents, Consent.Active)
}

// Individual is a person's profile; every field is personal data.
type Individual struct {
	Name       string
	NationalID string // normalized (upper-case X)
	Gender     string // "", female, male, other
	Age        *int
	Occupation string
}

// Person is a contact person at an enterprise.
type Person struct {
	ID               uuid.UUID
	LinkedCustomerID uuid.UUID
	Name             string
	Title            string
}

// Enterprise is an organisation's profile.
type Enterprise struct {
	CompanyName       string
	CreditCode        string // normalized (upper case)
	SoleProprietor    bool   // derived from CreditCode
	Size              string
	Industry          string
	RegisteredAddress string
	Persons           []Person
}

// KeyKind is what a business key is.
type KeyKind string

// Business key kinds, as stored.
const (
	KeyOrder  KeyKind = "order_number"
	KeyMember KeyKind = "member_number"
)

// BusinessKey links an order or member number to the customer.
type BusinessKey struct {
	Kind       KeyKind
	Value      string // normalized (NormalizeKey)
	Provenance Provenance
	CreatedAt  time.Time
}

// Customer is one customer record, with its personal data in plaintext: only the app holds it this way,
// between decrypting and masking.
type Customer struct {
	ID               uuid.UUID
	Kind             Kind
	State            State
	Tier             string
	PreferredChannel string
	Individual       *Individual // set exactly for individuals (nil once erased)
	Enterprise       *Enterprise // set exactly for enterprises (nil once erased)
	Provenance       Provenance  // of the profile
	Contacts         []Contact
	Keys             []BusinessKey
	MergedInto       uuid.UUID
	Version          int64
	CreatedAt        time.Time
	UpdatedAt        time.Time
	ErasedAt         time.Time
}

// NotActiveError is the FailedPrecondition of a change to a merged or erased record.
func NotActiveError(s State) *apierr.Error {
	return apierr.FailedPrecondition("CUSTOMER_NOT_ACTIVE",
		fmt.Sprintf("the customer record is %s and cannot change", s)).WithMeta("current_state", string(s))
}

// CheckActive refuses a change to a record that is not active.
func (c *Customer) CheckActive() error {
	if c.State != StateActive {
		return NotActiveError(c.State)
	}
	return nil
}

// Contact returns the contact with id, or NotFound.
func (c *Customer) Contact(id uuid.UUID) (*Contact, error) {
	for i := range c.Contacts {
		if c.Contacts[i].ID == id {
			return &c.Contacts[i], nil
		}
	}
	return nil, apierr.NotFound("contact", id.String())
}

// Person returns the contact person with id, or nil.
func (c *Customer) Person(id uuid.UUID) *Person {
	if c.Enterprise == nil {
		return nil
	}
	for i := range c.Enterprise.Persons {
		if c.Enterprise.Persons[i].ID == id {
			return &c.Enterprise.Persons[i]
		}
	}
	return nil
}

// Validate checks a record's meaning (shape rules are the proto's): the profile matching the kind, the
// checksummed numbers (normalising them in place), the provenance of every group, a consent on every
// contact, and no number linked twice. Field paths are the proto's, so errors name the request's fields.
func (c *Customer) Validate(prefix string) error {
	var vs []apierr.FieldViolation
	bad := func(field, desc string) {
		vs = append(vs, apierr.FieldViolation{Field: prefix + field, Description: desc})
	}
	fromErr := func(err error) {
		if e, ok := apierr.As(err); ok && len(e.Fields) > 0 {
			vs = append(vs, e.Fields...)
		} else if err != nil {
			bad("", err.Error())
		}
	}
	switch c.Kind {
	case KindIndividual:
		if c.Individual == nil {
			bad("individual", "is required for an individual")
		} else if c.Individual.NationalID != "" {
			n, err := ValidateNationalID(prefix+"individual.national_id", c.Individual.NationalID)
			fromErr(err)
			c.Individual.NationalID = n
		}
		if c.Enterprise != nil {
			bad("enterprise", "must be empty for an individual")
		}
	case KindEnterprise:
		if c.Enterprise == nil {
			bad("enterprise", "is required for an enterprise")
			break
		}
		if c.Enterprise.CompanyName == "" {
			bad("enterprise.company_name", "is required")
		}
		if c.Enterprise.CreditCode != "" {
			n, err := ValidateCreditCode(prefix+"enterprise.credit_code", c.Enterprise.CreditCode)
			fromErr(err)
			c.Enterprise.CreditCode = n
		}
		c.Enterprise.SoleProprietor = IsSoleProprietor(c.Enterprise.CreditCode)
		if c.Individual != nil {
			bad("individual", "must be empty for an enterprise")
		}
	default:
		bad("kind", "must be individual or enterprise")
	}
	if c.Provenance.Source == "" {
		profile := "individual"
		if c.Kind == KindEnterprise {
			profile = "enterprise"
		}
		bad(profile+".provenance", "is required")
	}
	for i := range c.Contacts {
		if err := c.Contacts[i].validate(fmt.Sprintf("%scontacts[%d]", prefix, i)); err != nil {
			fromErr(err)
		}
		if id := c.Contacts[i].PersonID; id != uuid.Nil && c.Person(id) == nil {
			bad(fmt.Sprintf("contacts[%d].person_id", i), "names no contact person of this customer")
		}
	}
	seen := map[BusinessKey]bool{}
	for i, k := range c.Keys {
		n, ok := NormalizeKey(k.Value)
		if !ok {
			bad(fmt.Sprintf("business_keys[%d].value", i), "is empty")
			continue
		}
		c.Keys[i].Value = n
		id := BusinessKey{Kind: k.Kind, Value: n}
		if seen[id] {
			bad(fmt.Sprintf("business_keys[%d]", i), "is listed twice")
		}
		seen[id] = true
		if k.Provenance.Source == "" {
			bad(fmt.Sprintf("business_keys[%d].provenance", i), "is required")
		}
	}
	if len(vs) > 0 {
		return apierr.InvalidFields(vs...)
	}
	return nil
}

// validate checks one contact: a value that normalises, a provenance, and at least one consent in force
// (a contact without consent is not stored).
func (ct *Contact) validate(field string) error {
	var vs []apierr.FieldViolation
	if _, ok := ct.Kind.Normalize(ct.Value); !ok {
		vs = append(vs, apierr.FieldViolation{Field: field + ".value", Description: "is required and must be a " + string(ct.Kind)})
	}
	if ct.Provenance.Source == "" {
		vs = append(vs, apierr.FieldViolation{Field: field + ".provenance", Description: "is required"})
	}
	if !ct.Usable() {
		vs = append(vs, apierr.FieldViolation{Field: field + ".consents", Description: "a contact is stored only with the customer's consent: give at least one"})
	}
	if len(vs) > 0 {
		return apierr.InvalidFields(vs...)
	}
	return nil
}

// AddContact adds ct, or, when the customer already has the same contact (same kind and normalised
// value, same person), adds ct's new purposes to it. It returns the contact's id.
func (c *Customer) AddContact(ct Contact, field string) (uuid.UUID, error) {
	if err := c.CheckActive(); err != nil {
		return uuid.Nil, err
	}
	if err := ct.validate(field); err != nil {
		return uuid.Nil, err
	}
	if ct.PersonID != uuid.Nil && c.Person(ct.PersonID) == nil {
		return uuid.Nil, apierr.InvalidField(field+".person_id", "names no contact person of this customer")
	}
	norm := ct.Normalized()
	for i := range c.Contacts {
		ex := &c.Contacts[i]
		if ex.Kind == ct.Kind && ex.PersonID == ct.PersonID && ex.Normalized() == norm {
			for _, cs := range ct.Consents {
				ex.grant(cs)
			}
			return ex.ID, nil
		}
	}
	c.Contacts = append(c.Contacts, ct)
	return ct.ID, nil
}

// grant adds cs unless the same purpose is already in force.
func (ct *Contact) grant(cs Consent) bool {
	for _, ex := range ct.Consents {
		if ex.Purpose == cs.Purpose && ex.Active() {
			return false
		}
	}
	ct.Consents = append(ct.Consents, cs)
	return true
}

// RemoveContact removes a contact and its consents.
func (c *Customer) RemoveContact(id uuid.UUID) error {
	if err := c.CheckActive(); err != nil {
		return err
	}
	if _, err := c.Contact(id); err != nil {
		return err
	}
	c.Contacts = slices.DeleteFunc(c.Contacts, func(ct Contact) bool { return ct.ID == id })
	return nil
}

// RecordConsent records a consent for a contact; a purpose already in force is left as it is. It reports
// whether anything changed.
func (c *Customer) RecordConsent(id uuid.UUID, cs Consent) (bool, error) {
	if err := c.CheckActive(); err != nil {
		return false, err
	}
	ct, err := c.Contact(id)
	if err != nil {
		return false, err
	}
	return ct.grant(cs), nil
}

// WithdrawConsent withdraws purpose (every purpose when empty) for a contact at now. It reports whether
// anything changed: withdrawing again is a no-op.
func (c *Customer) WithdrawConsent(id uuid.UUID, purpose string, now time.Time) (bool, error) {
	if err := c.CheckActive(); err != nil {
		return false, err
	}
	ct, err := c.Contact(id)
	if err != nil {
		return false, err
	}
	changed := false
	for i := range ct.Consents {
		cs := &ct.Consents[i]
		if cs.Active() && (purpose == "" || cs.Purpose == purpose) {
			cs.WithdrawnAt = now
			changed = true
		}
	}
	return changed, nil
}

// AddKey links a business key; linking it again is a no-op (false).
func (c *Customer) AddKey(k BusinessKey) (bool, error) {
	if err := c.CheckActive(); err != nil {
		return false, err
	}
	n, ok := NormalizeKey(k.Value)
	if !ok {
		return false, apierr.InvalidField("key.value", "is empty")
	}
	k.Value = n
	if c.HasKey(k.Kind, n) {
		return false, nil
	}
	c.Keys = append(c.Keys, k)
	return true, nil
}

// RemoveKey unlinks a business key; unlinking one that is not linked is a no-op (false).
func (c *Customer) RemoveKey(kind KeyKind, value string) (bool, error) {
	if err := c.CheckActive(); err != nil {
		return false, err
	}
	n, _ := NormalizeKey(value)
	before := len(c.Keys)
	c.Keys = slices.DeleteFunc(c.Keys, func(k BusinessKey) bool { return k.Kind == kind && k.Value == n })
	return len(c.Keys) != before, nil
}

// HasKey reports whether the customer has the (normalised) key.
func (c *Customer) HasKey(kind KeyKind, normalized string) bool {
	return slices.ContainsFunc(c.Keys, func(k BusinessKey) bool { return k.Kind == kind && k.Value == normalized })
}

// PhoneEndsWith reports whether one of the customer's own phones (contact persons' excluded) ends with
// last4. Withdrawn-consent phones still count: they are registered, and verification uses them to check,
// not to reach the customer.
func (c *Customer) PhoneEndsWith(last4 string) bool {
	for _, ct := range c.Contacts {
		if ct.Kind != ContactPhone || ct.PersonID != uuid.Nil {
			continue
		}
		if n := ct.Normalized(); len(n) >= 4 && n[len(n)-4:] == last4 {
			return true
		}
	}
	return false
}

// Merge moves dup's contacts (with their consents), business keys and contact persons to c and marks dup
// merged into c. Both must be active and of the same kind. Contacts c already has keep c's copy and gain
// dup's purposes. Profile fields c lacks are taken from dup.
func (c *Customer) Merge(dup *Customer, now time.Time) error {
	if c.ID == dup.ID {
		return apierr.InvalidField("duplicate_id", "must differ from survivor_id")
	}
	if err := c.CheckActive(); err != nil {
		return err
	}
	if err := dup.CheckActive(); err != nil {
		return err
	}
	if c.Kind != dup.Kind {
		return apierr.InvalidField("duplicate_id", fmt.Sprintf("is an %s record and the survivor an %s one: only records of one kind merge", dup.Kind, c.Kind))
	}
	if c.Enterprise != nil && dup.Enterprise != nil {
		c.Enterprise.Persons = append(c.Enterprise.Persons, dup.Enterprise.Persons...)
		fillEnterprise(c.Enterprise, dup.Enterprise)
	}
	if c.Individual != nil && dup.Individual != nil {
		fillIndividual(c.Individual, dup.Individual)
	}
	for _, ct := range dup.Contacts {
		if _, err := c.AddContact(ct, "contacts"); err != nil {
			// A contact of the duplicate without consent left still moves: it is on record, not in use.
			c.Contacts = append(c.Contacts, ct)
		}
	}
	for _, k := range dup.Keys {
		if !c.HasKey(k.Kind, k.Value) {
			c.Keys = append(c.Keys, k)
		}
	}
	if c.PreferredChannel == "" {
		c.PreferredChannel = dup.PreferredChannel
	}
	dup.Contacts, dup.Keys = nil, nil
	if dup.Enterprise != nil {
		dup.Enterprise.Persons = nil
	}
	dup.State, dup.MergedInto = StateMerged, c.ID
	return nil
}

func fillIndividual(to, from *Individual) {
	if to.Name == "" {
		to.Name = from.Name
	}
	if to.NationalID == "" {
		to.NationalID = from.NationalID
	}
	if to.Gender == "" {
		to.Gender = from.Gender
	}
	if to.Age == nil {
		to.Age = from.Age
	}
	if to.Occupation == "" {
		to.Occupation = from.Occupation
	}
}

func fillEnterprise(to, from *Enterprise) {
	if to.CreditCode == "" {
		to.CreditCode, to.SoleProprietor = from.CreditCode, from.SoleProprietor
	}
	if to.Size == "" {
		to.Size = from.Size
	}
	if to.Industry == "" {
		to.Industry = from.Industry
	}
	if to.RegisteredAddress == "" {
		to.RegisteredAddress = from.RegisteredAddress
	}
}

// Erase removes every personal field and marks the record erased, leaving an anonymous stub. It reports
// false, changing nothing, when the record is already erased: a second erasure is a no-op. A merged
// record can be erased too (its data moved to the survivor, which the requester erases separately).
func (c *Customer) Erase(now time.Time) bool {
	if c.State == StateErased {
		return false
	}
	c.State, c.ErasedAt = StateErased, now
	c.Individual, c.Enterprise = nil, nil
	c.Contacts, c.Keys = nil, nil
	c.MergedInto = uuid.Nil
	c.PreferredChannel = ""
	c.Provenance = Provenance{}
	return true
}
