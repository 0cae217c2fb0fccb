package message

import (
	"errors"
	"fmt"
)

// Contact is one customer contact: its kind and its normalized value (the spelling the customer service
// stores, so equal contacts compare equal).
type Contact struct {
	Kind  ContactKind
	Value string
}

// Choice is where a message goes out.
type Choice struct {
	Channel Channel
	// Contact is the address; it is zero for session channels, which need none.
	Contact Contact
}

// Reach is what is known about how a customer may be reached for one ticket.
type Reach struct {
	// TicketChannel is the channel the ticket came in on.
	TicketChannel Channel
	// TicketContact is the contact the ticket was submitted with (consented at submit), nil if none.
	TicketContact *Contact
	// TicketContactWithdrawn is set when the customer record says consent for TicketContact was withdrawn
	// after submit; it then must not be used, even if it is also listed in Usable.
	TicketContactWithdrawn bool
	// Preferred is the customer's preferred channel, "" if none.
	Preferred Channel
	// Usable are the customer's contacts with consent, oldest first.
	Usable []Contact
}

// FailureError is a reason a message cannot be sent. Its Reason is the stable code stored as the
// message's failure reason and shown to agents.
type FailureError struct {
	reason  string
	message string
}

// Error returns the readable message.
func (e *FailureError) Error() string { return e.message }

// Reason returns the stable UPPER_SNAKE code.
func (e *FailureError) Reason() string { return e.reason }

// Failures returned (wrapped, with the channel for context) by Choose; test with errors.Is.
var (
	// ErrNoUsableContact means the channel needs a contact and the customer has no consented one of that kind.
	ErrNoUsableContact = &FailureError{reason: "NO_USABLE_CONTACT", message: "no usable contact"}
	// ErrNotDeliverable means the ticket's channel cannot carry a message (a store visit) and no preferred
	// channel could be used instead.
	ErrNotDeliverable = &FailureError{reason: "CHANNEL_NOT_DELIVERABLE", message: "channel not deliverable"}
)

// FailureReason returns the stable code of the FailureError in err's chain, or "" if there is none (nil,
// or an error that is not a delivery failure and should be treated as an internal error).
func FailureReason(err error) string {
	var fe *FailureError
	if errors.As(err, &fe) {
		return fe.Reason()
	}
	return ""
}

// Choose decides the channel and contact for a message. It implements the rule "it goes out on the
// customer's preferred channel when consent allows, else on the channel the ticket came in; a contact whose
// consent was withdrawn is never used":
//
//  1. A deliverable preferred channel is used if it needs no contact, or with the oldest usable contact of
//     the kind it needs, or else with the ticket's own contact if that is of the kind and not withdrawn.
//  2. Otherwise the ticket's channel: used as is if it needs no contact; else with the ticket's own contact
//     if it is of the kind and not withdrawn (the customer chose it for this very ticket), else with the
//     oldest usable contact of the kind.
//  3. A ticket from a channel nothing can be sent on (a store visit) goes by SMS to a consented phone, else
//     by e-mail, else by WeChat, the ticket's own contact first: the customer left it to be told. Without
//     one it is ErrNotDeliverable.
//  4. Otherwise ErrNoUsableContact.
//
// Contacts with an empty value are skipped. The error names channels only, never contact values.
func Choose(r Reach) (Choice, error) {
	ticketContact := r.TicketContact
	if ticketContact != nil && (r.TicketContactWithdrawn || ticketContact.Value == "") {
		ticketContact = nil
	}
	usable := func(k ContactKind) (Contact, bool) {
		for _, c := range r.Usable {
			if c.Kind != k || c.Value == "" {
				continue
			}
			// A stale customer record may still list a contact the ticket says was withdrawn.
			if r.TicketContactWithdrawn && r.TicketContact != nil && c == *r.TicketContact {
				continue
			}
			return c, true
		}
		return Contact{}, false
	}
	fromTicket := func(k ContactKind) (Contact, bool) {
		if ticketContact != nil && ticketContact.Kind == k {
			return *ticketContact, true
		}
		return Contact{}, false
	}

	if p := r.Preferred; p != "" && p.Deliverable() {
		kind, needs := p.Needs()
		if !needs {
			return Choice{Channel: p}, nil
		}
		if c, ok := usable(kind); ok {
			return Choice{Channel: p, Contact: c}, nil
		}
		if c, ok := fromTicket(kind); ok {
			return Choice{Channel: p, Contact: c}, nil
		}
	}

	ch := r.TicketChannel
	if !ch.Deliverable() {
		for _, alt := range []Channel{ChannelSMS, ChannelEmail, ChannelWeChat} {
			kind, _ := alt.Needs()
			if c, ok := fromTicket(kind); ok {
				return Choice{Channel: alt, Contact: c}, nil
			}
			if c, ok := usable(kind); ok {
				return Choice{Channel: alt, Contact: c}, nil
			}
		}
		return Choice{}, fmt.Errorf("ticket channel %q: %w", ch, ErrNotDeliverable)
	}
	kind, needs := ch.Needs()
	if !needs {
		return Choice{Channel: ch}, nil
	}
	if c, ok := fromTicket(kind); ok {
		return Choice{Channel: ch, Contact: c}, nil
	}
	if c, ok := usable(kind); ok {
		return Choice{Channel: ch, Contact: c}, nil
	}
	return Choice{}, fmt.Errorf("ticket channel %q needs a %s contact: %w", ch, kind, ErrNoUsableContact)
}
