package customer

import "slices"

// Reveal names the groups of personal fields a read shows unmasked. The zero value masks everything, which
// is every read but RevealCustomer and ExportCustomer.
type Reveal struct {
	Name         bool // individual's and contact persons' names
	NationalID   bool
	Contacts     bool
	Occupation   bool
	Registration bool // credit code and registered address (masked only for sole proprietors)
}

// RevealAll unmasks everything (exports).
var RevealAll = Reveal{Name: true, NationalID: true, Contacts: true, Occupation: true, Registration: true}

// View returns a copy of c with every field outside r masked, and whether anything present was masked.
// The copy shares nothing mutable with c.
func (c *Customer) View(r Reveal) (Customer, bool) {
	v := *c
	masked := false
	hide := func(show bool, val string, mask func(string) string) string {
		if show || val == "" {
			return val
		}
		masked = true
		return mask(val)
	}
	if c.Individual != nil {
		in := *c.Individual
		in.Name = hide(r.Name, in.Name, MaskName)
		in.NationalID = hide(r.NationalID, in.NationalID, MaskNationalID)
		in.Occupation = hide(r.Occupation, in.Occupation, MaskText)
		v.Individual = &in
	}
	if c.Enterprise != nil {
		en := *c.Enterprise
		if en.SoleProprietor {
			en.CreditCode = hide(r.Registration, en.CreditCode, MaskCreditCode)
			en.RegisteredAddress = hide(r.Registration, en.RegisteredAddress, MaskText)
		}
		en.Persons = slices.Clone(en.Persons)
		for i := range en.Persons {
			en.Persons[i].Name = hide(r.Name, en.Persons[i].Name, MaskName)
		}
		v.Enterprise = &en
	}
	v.Contacts = make([]Contact, len(c.Contacts))
	for i, ct := range c.Contacts {
		ct.Consents = slices.Clone(ct.Consents)
		ct.Value = hide(r.Contacts, ct.Value, ct.Kind.Mask)
		v.Contacts[i] = ct
	}
	v.Keys = slices.Clone(c.Keys)
	return v, masked
}
