package app

import (
	"bytes"
	"context"

	"github.com/google/uuid"

	"kefu.dev/services/customer/internal/domain/customer"
)

// ContactCheck is a contact value to check against a record, as a ticket gave it.
type ContactCheck struct {
	Kind  customer.ContactKind
	Value string
}

// Delivery is how a customer may be reached, for the notifier.
type Delivery struct {
	// CustomerID is the record that answered: the survivor when the one asked for was merged.
	CustomerID       uuid.UUID
	PreferredChannel string
	// Contacts are the usable contacts, unmasked, oldest first.
	Contacts []customer.Contact
	// Check is what the record knows of the checked value ("" without a check).
	Check customer.ContactStatus
}

// DeliveryContacts returns a record's preferred channel and usable contacts unmasked (the guard audits the
// call as a personal-data read), and, with check, what the record knows of that value. A merged record
// answers for its survivor; an erased one has no contacts. The check matches by the value's blind index,
// as FindCustomers and ResolveCustomer do, so any spelling that normalises alike matches; withdrawn values
// are never returned, only reported as such.
func (a *App) DeliveryContacts(ctx context.Context, id uuid.UUID, check *ContactCheck) (Delivery, error) {
	r, err := a.store.GetSurvivor(ctx, id)
	if err != nil {
		return Delivery{}, err
	}
	c, err := a.codec.decode(r)
	if err != nil {
		return Delivery{}, err
	}
	d := Delivery{CustomerID: c.ID, PreferredChannel: c.PreferredChannel, Contacts: c.UsableContacts()}
	if check != nil {
		var holders []uuid.UUID
		if idx := a.codec.contactIndex(check.Kind, check.Value); idx != nil {
			for _, cr := range r.Contacts {
				if bytes.Equal(cr.Index, idx) {
					holders = append(holders, cr.ID)
				}
			}
		}
		d.Check = c.ValueStatus(holders)
	}
	return d, nil
}
