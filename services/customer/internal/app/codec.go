package app

import (
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"kefu.dev/services/customer/internal/domain/customer"
	"kefu.dev/services/customer/internal/seal"
	"kefu.dev/services/customer/internal/store"
)

// profile is the sealed part of a customer row: every personal field of the profile, as JSON.
type profile struct {
	Name              string            `json:"name,omitempty"`
	NationalID        string            `json:"national_id,omitempty"`
	Gender            string            `json:"gender,omitempty"`
	Age               *int              `json:"age,omitempty"`
	Occupation        string            `json:"occupation,omitempty"`
	CreditCode        string            `json:"credit_code,omitempty"`
	RegisteredAddress string            `json:"registered_address,omitempty"`
	PersonNames       map[string]string `json:"person_names,omitempty"`
}

// Blind-index domains: each kind of value is indexed apart, so equal strings of different kinds differ.
const (
	indexNationalID = "national_id"
	indexCreditCode = "credit_code"
	indexVerify     = "verify_subject"
)

// aad binds a ciphertext to its customer and field, so one cannot be moved to another row or field.
func aad(id uuid.UUID, field string) []byte { return append(id[:], field...) }

// codec turns customers into rows (sealing and indexing) and back (opening).
type codec struct {
	keys  *seal.Keyring
	index *seal.Indexer
}

// decode opens a row into a customer. An erased stub has no data key and no personal fields.
func (k codec) decode(r *store.Row) (*customer.Customer, error) {
	c := &customer.Customer{
		ID: r.ID, Kind: customer.Kind(r.Kind), State: customer.State(r.State), Tier: r.Tier,
		PreferredChannel: r.PreferredChannel, MergedInto: r.MergedInto, Version: r.Version,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.ErasedAt != nil {
		c.ErasedAt = r.ErasedAt.UTC()
	}
	if r.DataKey == nil {
		if c.Kind == customer.KindEnterprise && r.CompanyName != nil {
			c.Enterprise = &customer.Enterprise{CompanyName: *r.CompanyName, Size: r.Size, Industry: r.Industry}
		}
		return c, nil
	}
	dk, err := k.keys.Unwrap(r.DataKey, aad(r.ID, "data_key"))
	if err != nil {
		return nil, fmt.Errorf("customer %s: unwrap data key: %w", r.ID, err)
	}
	var p profile
	if r.Profile != nil {
		plain, err := dk.Open(aad(r.ID, "profile"), r.Profile)
		if err != nil {
			return nil, fmt.Errorf("customer %s: open profile: %w", r.ID, err)
		}
		if err := json.Unmarshal(plain, &p); err != nil {
			return nil, fmt.Errorf("customer %s: decode profile: %w", r.ID, err)
		}
	}
	if len(r.Provenance) > 0 {
		if err := json.Unmarshal(r.Provenance, &c.Provenance); err != nil {
			return nil, fmt.Errorf("customer %s: decode provenance: %w", r.ID, err)
		}
	}
	switch c.Kind {
	case customer.KindIndividual:
		c.Individual = &customer.Individual{Name: p.Name, NationalID: p.NationalID, Gender: p.Gender, Age: p.Age, Occupation: p.Occupation}
	case customer.KindEnterprise:
		en := &customer.Enterprise{CreditCode: p.CreditCode, SoleProprietor: r.SoleProprietor, Size: r.Size,
			Industry: r.Industry, RegisteredAddress: p.RegisteredAddress}
		if r.CompanyName != nil {
			en.CompanyName = *r.CompanyName
		}
		for _, pr := range r.Persons {
			en.Persons = append(en.Persons, customer.Person{ID: pr.ID, LinkedCustomerID: pr.LinkedCustomerID,
				Name: p.PersonNames[pr.ID.String()], Title: pr.Title})
		}
		c.Enterprise = en
	}
	for _, cr := range r.Contacts {
		v, err := dk.Open(aad(r.ID, "contact:"+cr.ID.String()), cr.Value)
		if err != nil {
			return nil, fmt.Errorf("customer %s: open contact %s: %w", r.ID, cr.ID, err)
		}
		ct := customer.Contact{ID: cr.ID, PersonID: cr.PersonID, Kind: customer.ContactKind(cr.Kind), Value: string(v),
			CreatedAt: cr.CreatedAt.UTC()}
		if err := json.Unmarshal(cr.Provenance, &ct.Provenance); err != nil {
			return nil, fmt.Errorf("customer %s: decode contact provenance: %w", r.ID, err)
		}
		for _, cs := range cr.Consents {
			consent := customer.Consent{Purpose: cs.Purpose, Channel: cs.Channel, GrantedAt: cs.GrantedAt.UTC()}
			if cs.WithdrawnAt != nil {
				consent.WithdrawnAt = cs.WithdrawnAt.UTC()
			}
			ct.Consents = append(ct.Consents, consent)
		}
		c.Contacts = append(c.Contacts, ct)
	}
	for _, kr := range r.Keys {
		bk := customer.BusinessKey{Kind: customer.KeyKind(kr.Kind), Value: kr.Value, CreatedAt: kr.CreatedAt.UTC()}
		if err := json.Unmarshal(kr.Provenance, &bk.Provenance); err != nil {
			return nil, fmt.Errorf("customer %s: decode key provenance: %w", r.ID, err)
		}
		c.Keys = append(c.Keys, bk)
	}
	return c, nil
}

// encode seals c into a row. wrapped is c's data key as stored (nil for a new customer: a data key is
// made); every field is sealed afresh, so a contact moved by a merge lands under its new owner's key.
func (k codec) encode(c *customer.Customer, wrapped []byte, newKey func() (seal.DataKey, error)) (*store.Row, error) {
	r := &store.Row{
		ID: c.ID, Kind: string(c.Kind), State: string(c.State), Tier: c.Tier, PreferredChannel: c.PreferredChannel,
		MergedInto: c.MergedInto, Version: c.Version, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if !c.ErasedAt.IsZero() {
		at := c.ErasedAt
		r.ErasedAt = &at
	}
	if c.State == customer.StateErased {
		// Crypto-shredding: the data key and every sealed field go; the stub keeps only what is not personal.
		return r, nil
	}
	var dk seal.DataKey
	var err error
	if wrapped == nil {
		if dk, err = newKey(); err != nil {
			return nil, err
		}
		if wrapped, err = k.keys.Wrap(dk, aad(c.ID, "data_key")); err != nil {
			return nil, err
		}
	} else if dk, err = k.keys.Unwrap(wrapped, aad(c.ID, "data_key")); err != nil {
		return nil, fmt.Errorf("customer %s: unwrap data key: %w", c.ID, err)
	}
	r.DataKey = wrapped
	if r.DataKeyID, err = seal.KeyIDOf(wrapped); err != nil {
		return nil, err
	}
	var p profile
	if in := c.Individual; in != nil {
		p = profile{Name: in.Name, NationalID: in.NationalID, Gender: in.Gender, Age: in.Age, Occupation: in.Occupation}
		if in.NationalID != "" {
			r.NationalIDIndex = k.index.Index(indexNationalID, in.NationalID)
		}
	}
	if en := c.Enterprise; en != nil {
		name := en.CompanyName
		r.CompanyName, r.Size, r.Industry, r.SoleProprietor = &name, en.Size, en.Industry, en.SoleProprietor
		p.CreditCode, p.RegisteredAddress = en.CreditCode, en.RegisteredAddress
		if en.CreditCode != "" {
			r.CreditCodeIndex = k.index.Index(indexCreditCode, en.CreditCode)
		}
		for _, pr := range en.Persons {
			if pr.Name != "" {
				if p.PersonNames == nil {
					p.PersonNames = map[string]string{}
				}
				p.PersonNames[pr.ID.String()] = pr.Name
			}
			r.Persons = append(r.Persons, store.PersonRow{ID: pr.ID, LinkedCustomerID: pr.LinkedCustomerID, Title: pr.Title})
		}
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if r.Profile, err = dk.Seal(aad(c.ID, "profile"), plain); err != nil {
		return nil, err
	}
	if r.Provenance, err = json.Marshal(c.Provenance); err != nil {
		return nil, err
	}
	for _, ct := range c.Contacts {
		cr := store.ContactRow{ID: ct.ID, PersonID: ct.PersonID, Kind: string(ct.Kind), CreatedAt: ct.CreatedAt,
			Index: k.index.Index(string(ct.Kind), ct.Normalized())}
		if cr.Value, err = dk.Seal(aad(c.ID, "contact:"+ct.ID.String()), []byte(ct.Value)); err != nil {
			return nil, err
		}
		if cr.Provenance, err = json.Marshal(ct.Provenance); err != nil {
			return nil, err
		}
		for _, cs := range ct.Consents {
			row := store.ConsentRow{Purpose: cs.Purpose, Channel: cs.Channel, GrantedAt: cs.GrantedAt}
			if !cs.WithdrawnAt.IsZero() {
				at := cs.WithdrawnAt
				row.WithdrawnAt = &at
			}
			cr.Consents = append(cr.Consents, row)
		}
		r.Contacts = append(r.Contacts, cr)
	}
	for _, bk := range c.Keys {
		kr := store.KeyRow{Kind: string(bk.Kind), Value: bk.Value, CreatedAt: bk.CreatedAt}
		if kr.Provenance, err = json.Marshal(bk.Provenance); err != nil {
			return nil, err
		}
		r.Keys = append(r.Keys, kr)
	}
	return r, nil
}

// contactIndex is the blind index of a contact value of kind, or nil when it does not normalise.
func (k codec) contactIndex(kind customer.ContactKind, value string) []byte {
	n, ok := kind.Normalize(value)
	if !ok {
		return nil
	}
	return k.index.Index(string(kind), n)
}
