package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/paging"
	"kefu.dev/services/customer/internal/domain/customer"
	"kefu.dev/services/customer/internal/store"
)

// Create validates c, gives it and its parts ids and times, and stores it with kefu.customer.created.
// key and fingerprint make it idempotent (same key and request → the same record).
func (a *App) Create(ctx context.Context, key string, fingerprint []byte, c customer.Customer) (View, error) {
	p, actor, err := caller(ctx)
	if err != nil {
		return View{}, err
	}
	if err := c.Validate("customer."); err != nil {
		return View{}, err
	}
	now := a.now()
	if err := a.prepareNew(&c, now); err != nil {
		return View{}, err
	}
	claim := &idempotency.Claim{Principal: p.String(), Scope: "create_customer", Key: key, Fingerprint: fingerprint, ResourceID: c.ID.String()}
	v, _, err := a.insert(ctx, claim, &c, actor, false, nil)
	return v, err
}

// prepareNew fills a new record's ids, times, defaults and provenance times.
func (a *App) prepareNew(c *customer.Customer, now time.Time) error {
	var err error
	if c.ID, err = newID(); err != nil {
		return err
	}
	c.State, c.Version, c.CreatedAt, c.UpdatedAt = customer.StateActive, 0, now, now
	if c.Tier == "" {
		c.Tier = "standard"
	}
	c.Provenance.RecordedAt = now
	if c.Enterprise != nil {
		for i := range c.Enterprise.Persons {
			if c.Enterprise.Persons[i].ID, err = newID(); err != nil {
				return err
			}
		}
	}
	for i := range c.Contacts {
		if err := a.prepareContact(&c.Contacts[i], now); err != nil {
			return err
		}
	}
	for i := range c.Keys {
		c.Keys[i].CreatedAt, c.Keys[i].Provenance.RecordedAt = now, now
	}
	return nil
}

func (a *App) prepareContact(ct *customer.Contact, now time.Time) error {
	id, err := newID()
	if err != nil {
		return err
	}
	ct.ID, ct.CreatedAt, ct.Provenance.RecordedAt = id, now, now
	for j := range ct.Consents {
		if ct.Consents[j].GrantedAt.IsZero() {
			ct.Consents[j].GrantedAt = now
		}
		if ct.Consents[j].GrantedAt.After(now) {
			return apierr.InvalidField("consents.grant_time", "must not be in the future")
		}
		ct.Consents[j].GrantedAt = ct.Consents[j].GrantedAt.UTC().Truncate(time.Microsecond)
	}
	return nil
}

// Get returns one record, masked.
func (a *App) Get(ctx context.Context, id uuid.UUID) (View, error) {
	c, err := a.get(ctx, id)
	if err != nil {
		return View{}, err
	}
	return masked(c), nil
}

// Patch is an UpdateCustomer: the paths to change and a record holding their new values.
type Patch struct {
	Paths []string
	Value customer.Customer
}

// UpdatablePaths are UpdateCustomer's mask paths.
var UpdatablePaths = []string{
	"tier", "preferred_channel",
	"individual.name", "individual.national_id", "individual.gender", "individual.age", "individual.occupation",
	"individual.provenance",
	"enterprise.company_name", "enterprise.credit_code", "enterprise.contact_persons", "enterprise.size",
	"enterprise.industry", "enterprise.registered_address", "enterprise.provenance",
}

// Update applies p to the record if etag is current, and publishes kefu.customer.updated naming the
// changed paths. Identity (registration) changes need the profile's provenance in the same patch.
func (a *App) Update(ctx context.Context, id uuid.UUID, etag string, p Patch) (View, error) {
	out, err := a.update(ctx, []uuid.UUID{id}, func(cs []*customer.Customer, now time.Time) ([]change, error) {
		c := cs[0]
		if err := checkEtag(etag, c, true); err != nil {
			return nil, err
		}
		if err := c.CheckActive(); err != nil {
			return nil, err
		}
		changed, err := applyPatch(c, p, now)
		if err != nil {
			return nil, err
		}
		if len(changed) == 0 {
			return nil, nil
		}
		return []change{{c: c, event: "updated", body: &eventsv1.CustomerUpdated{Changed: changed, Tier: c.Tier}}}, nil
	})
	if err != nil {
		return View{}, err
	}
	return masked(out[0]), nil
}

// applyPatch copies p's paths onto c, validates the result and returns the paths whose value changed.
func applyPatch(c *customer.Customer, p Patch, now time.Time) ([]string, error) {
	before, _ := c.View(customer.RevealAll)
	v := p.Value
	profileTouched, provenanceGiven := false, false
	for _, path := range p.Paths {
		switch path {
		case "tier":
			c.Tier = v.Tier
			if c.Tier == "" {
				c.Tier = "standard"
			}
		case "preferred_channel":
			c.PreferredChannel = v.PreferredChannel
		case "individual.provenance", "enterprise.provenance":
			if (path == "individual.provenance") != (c.Kind == customer.KindIndividual) {
				return nil, apierr.InvalidField("update_mask", path+" does not apply to a "+string(c.Kind)+" record")
			}
			c.Provenance = v.Provenance
			c.Provenance.RecordedAt = now
			provenanceGiven = true
		default:
			if err := applyProfilePath(c, path, &v); err != nil {
				return nil, err
			}
			profileTouched = true
		}
	}
	if profileTouched && !provenanceGiven {
		field := "individual.provenance"
		if c.Kind == customer.KindEnterprise {
			field = "enterprise.provenance"
		}
		return nil, apierr.InvalidField("update_mask", "changing profile fields needs "+field+" in the mask too (where the new data came from)")
	}
	if err := c.Validate("customer."); err != nil {
		return nil, err
	}
	after, _ := c.View(customer.RevealAll)
	return changedPaths(p.Paths, &before, &after), nil
}

func applyProfilePath(c *customer.Customer, path string, v *customer.Customer) error {
	wrongKind := apierr.InvalidField("update_mask", path+" does not apply to a "+string(c.Kind)+" record")
	if len(path) > 11 && path[:11] == "individual." {
		if c.Individual == nil {
			return wrongKind
		}
		src := v.Individual
		if src == nil {
			src = &customer.Individual{}
		}
		switch path {
		case "individual.name":
			c.Individual.Name = src.Name
		case "individual.national_id":
			c.Individual.NationalID = src.NationalID
		case "individual.gender":
			c.Individual.Gender = src.Gender
		case "individual.age":
			c.Individual.Age = src.Age
		case "individual.occupation":
			c.Individual.Occupation = src.Occupation
		}
		return nil
	}
	if c.Enterprise == nil {
		return wrongKind
	}
	src := v.Enterprise
	if src == nil {
		src = &customer.Enterprise{}
	}
	switch path {
	case "enterprise.company_name":
		c.Enterprise.CompanyName = src.CompanyName
	case "enterprise.credit_code":
		c.Enterprise.CreditCode = src.CreditCode
	case "enterprise.size":
		c.Enterprise.Size = src.Size
	case "enterprise.industry":
		c.Enterprise.Industry = src.Industry
	case "enterprise.registered_address":
		c.Enterprise.RegisteredAddress = src.RegisteredAddress
	case "enterprise.contact_persons":
		// Persons named by person_id keep their id (and their contacts); new ones get one. Contacts of a
		// person who is gone become the company's own.
		kept := map[uuid.UUID]bool{}
		persons := make([]customer.Person, 0, len(src.Persons))
		for _, np := range src.Persons {
			if np.ID != uuid.Nil && c.Person(np.ID) == nil {
				return apierr.InvalidField("customer.enterprise.contact_persons.person_id", "names no contact person of this customer")
			}
			if np.ID == uuid.Nil {
				id, err := newID()
				if err != nil {
					return err
				}
				np.ID = id
			}
			kept[np.ID] = true
			persons = append(persons, np)
		}
		for i := range c.Contacts {
			if !kept[c.Contacts[i].PersonID] {
				c.Contacts[i].PersonID = uuid.Nil
			}
		}
		c.Enterprise.Persons = persons
	}
	return nil
}

func changedPaths(paths []string, before, after *customer.Customer) []string {
	var out []string
	for _, p := range paths {
		if fmt.Sprint(field(before, p)) != fmt.Sprint(field(after, p)) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func field(c *customer.Customer, path string) any {
	switch path {
	case "tier":
		return c.Tier
	case "preferred_channel":
		return c.PreferredChannel
	case "individual.provenance", "enterprise.provenance":
		return c.Provenance
	}
	if c.Individual != nil {
		in := *c.Individual
		switch path {
		case "individual.name":
			return in.Name
		case "individual.national_id":
			return in.NationalID
		case "individual.gender":
			return in.Gender
		case "individual.age":
			if in.Age == nil {
				return "<nil>"
			}
			return *in.Age
		case "individual.occupation":
			return in.Occupation
		}
	}
	if c.Enterprise != nil {
		en := *c.Enterprise
		switch path {
		case "enterprise.company_name":
			return en.CompanyName
		case "enterprise.credit_code":
			return en.CreditCode
		case "enterprise.size":
			return en.Size
		case "enterprise.industry":
			return en.Industry
		case "enterprise.registered_address":
			return en.RegisteredAddress
		case "enterprise.contact_persons":
			return en.Persons
		}
	}
	return nil
}

// ListQuery selects a page of records.
type ListQuery struct {
	Filter    store.Filter
	PageSize  int
	PageToken string
}

// listCursor is a list page token's content: the last id returned.
type listCursor struct {
	After uuid.UUID `json:"a"`
}

// List returns a page of records, newest first, masked, and the next page's token.
func (a *App) List(ctx context.Context, q ListQuery) ([]View, string, error) {
	if len(q.Filter.States) == 0 {
		q.Filter.States = []string{string(customer.StateActive)}
	}
	scope := fmt.Sprint(q.Filter.Kind, "|", q.Filter.Tier, "|", q.Filter.States, "|", q.Filter.CreatedAfter.UnixMicro(), "|", q.Filter.CreatedBefore.UnixMicro())
	var cur listCursor
	if q.PageToken != "" {
		if err := paging.Decode(q.PageToken, scope, &cur); err != nil {
			return nil, "", err
		}
	}
	size := paging.Size(q.PageSize)
	rows, err := a.store.List(ctx, q.Filter, cur.After, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		next = paging.Encode(listCursor{After: rows[size-1].ID}, scope)
	}
	cs, err := a.decodeAll(rows)
	if err != nil {
		return nil, "", err
	}
	out := make([]View, len(cs))
	for i, c := range cs {
		out[i] = masked(c)
	}
	return out, next, nil
}

// FindKind is what FindCustomers matches on.
type FindKind string

// Find kinds.
const (
	FindPhone      FindKind = "phone"
	FindEmail      FindKind = "email"
	FindWeChat     FindKind = "wechat"
	FindOrder      FindKind = "order_number"
	FindMember     FindKind = "member_number"
	FindNationalID FindKind = "national_id"
	FindCreditCode FindKind = "credit_code"
)

// Find returns the active records matching one exact value, newest first, masked. A value that cannot
// match anything (it does not normalise, a bad check digit) finds nothing rather than erring: a lookup is
// not a validation.
func (a *App) Find(ctx context.Context, kind FindKind, value string) ([]View, error) {
	var rows []*store.Row
	var err error
	if ck, ok := contactKinds[kind]; ok {
		// The common lookup (a caller's phone) loads the records with the match: one statement.
		if idx := a.codec.contactIndex(ck, value); idx != nil {
			rows, err = a.store.LoadByContact(ctx, idx)
		}
	} else {
		var ids []uuid.UUID
		if ids, err = a.findIDs(ctx, kind, value); err == nil && len(ids) > 0 {
			rows, err = a.store.GetMany(ctx, ids)
		}
	}
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	cs, err := a.decodeAll(rows)
	if err != nil {
		return nil, err
	}
	out := make([]View, len(cs))
	for i, c := range cs {
		out[i] = masked(c)
	}
	return out, nil
}

// contactKinds are the lookups by contact value.
var contactKinds = map[FindKind]customer.ContactKind{FindPhone: customer.ContactPhone, FindEmail: customer.ContactEmail, FindWeChat: customer.ContactWeChat}

func (a *App) findIDs(ctx context.Context, kind FindKind, value string) ([]uuid.UUID, error) {
	switch kind {
	case FindOrder, FindMember:
		n, ok := customer.NormalizeKey(value)
		if !ok {
			return nil, nil
		}
		return a.store.FindByKey(ctx, string(map[FindKind]customer.KeyKind{FindOrder: customer.KeyOrder, FindMember: customer.KeyMember}[kind]), n)
	case FindNationalID:
		n, err := customer.ValidateNationalID("national_id", value)
		if err != nil {
			return nil, nil
		}
		return a.store.FindByNationalID(ctx, a.codec.index.Index(indexNationalID, n))
	case FindCreditCode:
		n, err := customer.ValidateCreditCode("credit_code", value)
		if err != nil {
			return nil, nil
		}
		return a.store.FindByCreditCode(ctx, a.codec.index.Index(indexCreditCode, n))
	}
	return nil, apierr.InvalidField("key", "is required")
}

// Merge merges dup into survivor (both etags must be current) and publishes kefu.customer.merged on the
// duplicate and kefu.customer.updated on the survivor.
func (a *App) Merge(ctx context.Context, survivor, dup uuid.UUID, survivorEtag, dupEtag string) (View, error) {
	if survivor == dup {
		return View{}, apierr.InvalidField("duplicate_id", "must differ from survivor_id")
	}
	out, err := a.update(ctx, []uuid.UUID{survivor, dup}, func(cs []*customer.Customer, now time.Time) ([]change, error) {
		s, d := cs[0], cs[1]
		if err := checkEtag(survivorEtag, s, true); err != nil {
			return nil, err
		}
		if err := checkEtag(dupEtag, d, true); err != nil {
			return nil, err
		}
		if err := s.Merge(d, now); err != nil {
			return nil, err
		}
		return []change{
			{c: d, event: "merged", body: &eventsv1.CustomerMerged{DuplicateId: d.ID.String(), SurvivorId: s.ID.String()}},
			{c: s, event: "updated", body: &eventsv1.CustomerUpdated{Changed: []string{"merged"}, Tier: s.Tier}},
		}, nil
	})
	if err != nil {
		return View{}, err
	}
	return masked(out[0]), nil
}

// Reveal returns a record with the groups in r unmasked. The guard audits the call (who, when, which
// customer, which fields, why).
func (a *App) Reveal(ctx context.Context, id uuid.UUID, r customer.Reveal) (View, error) {
	c, err := a.get(ctx, id)
	if err != nil {
		return View{}, err
	}
	v, m := c.View(r)
	return View{Customer: v, Masked: m}, nil
}

// AddContact adds a contact (or new purposes to the same existing contact) and returns its id.
func (a *App) AddContact(ctx context.Context, id uuid.UUID, etag string, ct customer.Contact) (View, uuid.UUID, error) {
	var contactID uuid.UUID
	out, err := a.update(ctx, []uuid.UUID{id}, func(cs []*customer.Customer, now time.Time) ([]change, error) {
		c := cs[0]
		if err := checkEtag(etag, c, false); err != nil {
			return nil, err
		}
		nc := ct
		nc.Consents = slices.Clone(ct.Consents)
		if err := a.prepareContact(&nc, now); err != nil {
			return nil, err
		}
		contacts, consents := len(c.Contacts), consentCount(c)
		var err error
		if contactID, err = c.AddContact(nc, "contact"); err != nil {
			return nil, err
		}
		if len(c.Contacts) == contacts && consentCount(c) == consents {
			return nil, nil // the same contact with the same purposes: nothing to record
		}
		return []change{{c: c, event: "updated", body: &eventsv1.CustomerUpdated{Changed: []string{"contacts"}, Tier: c.Tier}}}, nil
	})
	if err != nil {
		return View{}, uuid.Nil, err
	}
	return masked(out[0]), contactID, nil
}

// consentCount counts every consent of every contact of c.
func consentCount(c *customer.Customer) int {
	n := 0
	for _, ct := range c.Contacts {
		n += len(ct.Consents)
	}
	return n
}

// RemoveContact removes a contact.
func (a *App) RemoveContact(ctx context.Context, id, contactID uuid.UUID, etag string) (View, error) {
	out, err := a.update(ctx, []uuid.UUID{id}, func(cs []*customer.Customer, now time.Time) ([]change, error) {
		c := cs[0]
		if err := checkEtag(etag, c, false); err != nil {
			return nil, err
		}
		if err := c.RemoveContact(contactID); err != nil {
			return nil, err
		}
		return []change{{c: c, event: "updated", body: &eventsv1.CustomerUpdated{Changed: []string{"contacts"}, Tier: c.Tier}}}, nil
	})
	if err != nil {
		return View{}, err
	}
	return masked(out[0]), nil
}

// RecordConsent records a consent for a contact and publishes kefu.customer.consent_changed.
func (a *App) RecordConsent(ctx context.Context, id, contactID uuid.UUID, cs customer.Consent) (View, error) {
	out, err := a.update(ctx, []uuid.UUID{id}, func(recs []*customer.Customer, now time.Time) ([]change, error) {
		c := recs[0]
		ct := customer.Contact{Consents: []customer.Consent{cs}}
		if err := a.prepareContact(&ct, now); err != nil {
			return nil, err
		}
		changed, err := c.RecordConsent(contactID, ct.Consents[0])
		if err != nil || !changed {
			return nil, err
		}
		return []change{{c: c, event: "consent_changed", body: &eventsv1.CustomerConsentChanged{
			ContactId: contactID.String(), Purpose: cs.Purpose, ContactUsable: true}}}, nil
	})
	if err != nil {
		return View{}, err
	}
	return masked(out[0]), nil
}

// WithdrawConsent withdraws a purpose (every purpose when empty) and publishes
// kefu.customer.consent_changed; withdrawing again changes nothing.
func (a *App) WithdrawConsent(ctx context.Context, id, contactID uuid.UUID, purpose string) (View, error) {
	out, err := a.update(ctx, []uuid.UUID{id}, func(recs []*customer.Customer, now time.Time) ([]change, error) {
		c := recs[0]
		changed, err := c.WithdrawConsent(contactID, purpose, now)
		if err != nil || !changed {
			return nil, err
		}
		ct, _ := c.Contact(contactID)
		return []change{{c: c, event: "consent_changed", body: &eventsv1.CustomerConsentChanged{
			ContactId: contactID.String(), Purpose: purpose, Withdrawn: true, ContactUsable: ct.Usable()}}}, nil
	})
	if err != nil {
		return View{}, err
	}
	return masked(out[0]), nil
}

// AddKey links a business key; linking it again is a no-op.
func (a *App) AddKey(ctx context.Context, id uuid.UUID, k customer.BusinessKey) (View, error) {
	out, err := a.update(ctx, []uuid.UUID{id}, func(cs []*customer.Customer, now time.Time) ([]change, error) {
		c := cs[0]
		k.CreatedAt, k.Provenance.RecordedAt = now, now
		added, err := c.AddKey(k)
		if err != nil || !added {
			return nil, err
		}
		return []change{{c: c, event: "updated", body: &eventsv1.CustomerUpdated{Changed: []string{"business_keys"}, Tier: c.Tier}}}, nil
	})
	if err != nil {
		return View{}, err
	}
	return masked(out[0]), nil
}

// RemoveKey unlinks a business key; unlinking one that is not linked is a no-op.
func (a *App) RemoveKey(ctx context.Context, id uuid.UUID, kind customer.KeyKind, value string) (View, error) {
	out, err := a.update(ctx, []uuid.UUID{id}, func(cs []*customer.Customer, now time.Time) ([]change, error) {
		c := cs[0]
		removed, err := c.RemoveKey(kind, value)
		if err != nil || !removed {
			return nil, err
		}
		return []change{{c: c, event: "updated", body: &eventsv1.CustomerUpdated{Changed: []string{"business_keys"}, Tier: c.Tier}}}, nil
	})
	if err != nil {
		return View{}, err
	}
	return masked(out[0]), nil
}

// Erase crypto-shreds a customer's personal data and publishes kefu.customer.erased once.
func (a *App) Erase(ctx context.Context, id uuid.UUID, words bool) (View, error) {
	out, err := a.update(ctx, []uuid.UUID{id}, func(cs []*customer.Customer, now time.Time) ([]change, error) {
		c := cs[0]
		if !c.Erase(now) {
			return nil, nil
		}
		return []change{{c: c, event: "erased", body: &eventsv1.CustomerErased{EraseCustomerWords: words}}}, nil
	})
	if err != nil {
		return View{}, err
	}
	return masked(out[0]), nil
}

// Export is everything held about one customer.
type Export struct {
	Customer customer.Customer
	Merged   []uuid.UUID
	Attempts []store.Attempt
	At       time.Time
}

// Export returns everything held about a customer, unmasked (the guard audits it).
func (a *App) Export(ctx context.Context, id uuid.UUID) (Export, error) {
	c, err := a.get(ctx, id)
	if err != nil {
		return Export{}, err
	}
	merged, err := a.store.MergedInto(ctx, id)
	if err != nil {
		return Export{}, err
	}
	attempts, err := a.store.Attempts(ctx, id, 1000)
	if err != nil {
		return Export{}, err
	}
	v, _ := c.View(customer.RevealAll)
	return Export{Customer: v, Merged: merged, Attempts: attempts, At: a.now()}, nil
}

// Tiers lists the tiers.
func (a *App) Tiers(ctx context.Context) ([]store.Tier, error) { return a.store.Tiers(ctx) }

// CreateTier adds a tier.
func (a *App) CreateTier(ctx context.Context, code, name string) (store.Tier, error) {
	t := store.Tier{Code: code, DisplayName: name, CreatedAt: a.now()}
	return t, a.store.CreateTier(ctx, t)
}
