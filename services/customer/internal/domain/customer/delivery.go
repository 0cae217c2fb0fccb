package customer

import (
	"slices"

	"github.com/google/uuid"
)

// ContactStatus is what a record knows of a contact value it was asked about.
type ContactStatus string

// Contact statuses.
const (
	// ContactUnknown: the record does not hold the value.
	ContactUnknown ContactStatus = "unknown"
	// ContactUsable: the record holds it with a consent in force.
	ContactUsable ContactStatus = "usable"
	// ContactWithdrawn: the record holds it and every consent for it was withdrawn, so it must not be used.
	ContactWithdrawn ContactStatus = "withdrawn"
)

// UsableContacts returns copies of the contacts that may be used to reach the customer (a consent in
// force), contact persons' included, oldest first. An erased record has none.
func (c *Customer) UsableContacts() []Contact {
	var out []Contact
	for _, ct := range c.Contacts {
		if ct.Usable() {
			ct.Consents = slices.Clone(ct.Consents)
			out = append(out, ct)
		}
	}
	slices.SortStableFunc(out, func(a, b Contact) int {
		if n := a.CreatedAt.Compare(b.CreatedAt); n != 0 {
			return n
		}
		return slices.Compare(a.ID[:], b.ID[:])
	})
	return out
}

// ValueStatus says what the record knows of a contact value held by the contacts with ids holders (the
// caller matches the value, by its blind index, to the contacts holding it; none: the record does not hold
// it). A value may be held twice (a merge keeps a duplicate's withdrawn copy beside the survivor's own);
// it is usable when any copy has a consent in force.
func (c *Customer) ValueStatus(holders []uuid.UUID) ContactStatus {
	held := false
	for _, id := range holders {
		ct, err := c.Contact(id)
		if err != nil {
			continue
		}
		if ct.Usable() {
			return ContactUsable
		}
		held = true
	}
	if held {
		return ContactWithdrawn
	}
	return ContactUnknown
}
