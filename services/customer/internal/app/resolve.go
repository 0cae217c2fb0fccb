package app

import (
	"context"
	"time"

	"github.com/google/uuid"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/services/customer/internal/domain/customer"
	"kefu.dev/services/customer/internal/store"
)

// insert stores a new record with kefu.customer.created. With dedupe (a contact's blind index) an active
// customer already holding that contact is returned instead, found=true.
func (a *App) insert(ctx context.Context, claim *idempotency.Claim, c *customer.Customer, actor *intakev1.Actor, fromTicket bool, dedupe []byte) (View, bool, error) {
	now := c.CreatedAt
	m, err := a.message(change{c: c, event: "created", body: &eventsv1.CustomerCreated{
		Kind: kindProto(c.Kind), Tier: c.Tier, FromTicket: fromTicket}}, actor, now)
	if err != nil {
		return View{}, false, err
	}
	row, err := a.codec.encode(c, nil, a.newDataKey)
	if err != nil {
		return View{}, false, err
	}
	existing, err := a.store.Create(ctx, claim, now, row, []outbox.Message{m}, dedupe)
	if err != nil {
		return View{}, false, err
	}
	if existing != uuid.Nil {
		prev, err := a.get(ctx, existing)
		if err != nil {
			return View{}, false, err
		}
		return masked(prev), true, nil
	}
	a.notify.Notify()
	return masked(c), false, nil
}

// ResolveInput is what a ticket knows of its customer.
type ResolveInput struct {
	Key         string
	Fingerprint []byte
	Contact     *customer.Contact // nil when none; used only when consented
	Channel     string
	Order       string
	Member      string
}

// ResolveResult names the ticket's customer.
type ResolveResult struct {
	ID      uuid.UUID
	Tier    string
	Created bool
}

// Resolve finds the customer a ticket is from (by consented contact, then order number, then member
// number) or creates an individual from the consented contact. An unconsented contact is neither stored
// nor used to match: the law allows processing it only with consent.
func (a *App) Resolve(ctx context.Context, in ResolveInput) (ResolveResult, error) {
	p, actor, err := caller(ctx)
	if err != nil {
		return ResolveResult{}, err
	}
	consented := in.Contact != nil && in.Contact.Usable()
	var dedupe []byte
	if consented {
		dedupe = a.codec.contactIndex(in.Contact.Kind, in.Contact.Value)
		if dedupe == nil {
			return ResolveResult{}, apierr.InvalidField("contact.value", "is not a valid "+string(in.Contact.Kind))
		}
	}
	var order, member string
	if n, ok := customer.NormalizeKey(in.Order); ok {
		order = n
	}
	if n, ok := customer.NormalizeKey(in.Member); ok {
		member = n
	}
	m, found, err := a.store.MatchTicket(ctx, dedupe, order, member)
	if err != nil {
		return ResolveResult{}, err
	}
	if found {
		return ResolveResult{ID: m.ID, Tier: m.Tier}, nil
	}
	if !consented {
		return ResolveResult{}, nil
	}
	now := a.now()
	src := customer.Provenance{Source: customer.SourceCustomer, Detail: "ticket submitted on " + in.Channel}
	c := customer.Customer{Kind: customer.KindIndividual, Individual: &customer.Individual{}, Provenance: src}
	ct := *in.Contact
	ct.Provenance = src
	c.Contacts = []customer.Contact{ct}
	for _, k := range []struct {
		kind  customer.KeyKind
		value string
	}{{customer.KeyOrder, order}, {customer.KeyMember, member}} {
		if k.value != "" {
			c.Keys = append(c.Keys, customer.BusinessKey{Kind: k.kind, Value: k.value,
				Provenance: customer.Provenance{Source: customer.SourceInteraction, Detail: "ticket submitted on " + in.Channel}})
		}
	}
	if err := c.Validate("resolve."); err != nil {
		return ResolveResult{}, err
	}
	if err := a.prepareNew(&c, now); err != nil {
		return ResolveResult{}, err
	}
	claim := &idempotency.Claim{Principal: p.String(), Scope: "resolve_customer", Key: in.Key, Fingerprint: in.Fingerprint, ResourceID: c.ID.String()}
	v, found, err := a.insert(ctx, claim, &c, actor, true, dedupe)
	if err != nil {
		return ResolveResult{}, err
	}
	return ResolveResult{ID: v.ID, Tier: v.Tier, Created: !found}, nil
}

// VerifyInput names whom to verify and with which fact.
type VerifyInput struct {
	CustomerID   uuid.UUID            // or
	ContactKind  customer.ContactKind // with
	ContactValue string
	Order        string // or
	PhoneLast4   string
}

// ErrTooManyAttempts is wrapped by the ResourceExhausted error of VerifyIdentity's limit.
var errTooManyAttempts = apierr.New(apierr.KindResourceExhausted, "VERIFY_ATTEMPTS_EXHAUSTED",
	"too many identity verification attempts for this customer: try again later")

// Verify checks one fact against a customer and records the attempt. It answers only verified or not: an
// unknown customer or contact, a wrong order number and a wrong phone ending all read the same. Attempts
// per subject (customer, or the contact's index when it matches no one) are limited per window.
func (a *App) Verify(ctx context.Context, in VerifyInput) (bool, uuid.UUID, error) {
	p, _, err := caller(ctx)
	if err != nil {
		return false, uuid.Nil, err
	}
	var c *customer.Customer
	var subject []byte
	switch {
	case in.CustomerID != uuid.Nil:
		subject = a.codec.index.Index(indexVerify, in.CustomerID.String())
		if got, err := a.get(ctx, in.CustomerID); err == nil && got.State == customer.StateActive {
			c = got
		} else if err != nil && apierr.KindOf(err) != apierr.KindNotFound {
			return false, uuid.Nil, err
		}
	default:
		idx := a.codec.contactIndex(in.ContactKind, in.ContactValue)
		if idx == nil {
			subject = a.codec.index.Index(indexVerify, "invalid:"+string(in.ContactKind))
			break
		}
		ids, err := a.store.FindByContact(ctx, idx)
		if err != nil {
			return false, uuid.Nil, err
		}
		if len(ids) == 1 {
			if c, err = a.get(ctx, ids[0]); err != nil {
				return false, uuid.Nil, err
			}
			subject = a.codec.index.Index(indexVerify, c.ID.String())
		} else {
			// Unknown (or shared by several customers: then no one is verified by it) contacts are
			// limited by the contact itself, so guessing at them is bounded too.
			subject = a.codec.index.Index(indexVerify, "contact:"+string(idx))
		}
	}
	now := a.now()
	id, err := newID()
	if err != nil {
		return false, uuid.Nil, err
	}
	att := store.Attempt{ID: id, SubjectIndex: subject, At: now, Principal: p.String()}
	if c != nil {
		att.CustomerID = c.ID
	}
	check := func() bool {
		if c == nil {
			return false
		}
		if in.Order != "" {
			n, ok := customer.NormalizeKey(in.Order)
			return ok && c.HasKey(customer.KeyOrder, n)
		}
		return len(in.PhoneLast4) == 4 && c.PhoneEndsWith(in.PhoneLast4)
	}
	verified, ok, oldest, err := a.store.RecordAttempt(ctx, att, now.Add(-a.cfg.VerifyWindow), a.cfg.VerifyMaxAttempts, check)
	if err != nil {
		return false, uuid.Nil, err
	}
	if !ok {
		e := *errTooManyAttempts
		e.RetryAfter = max(oldest.Add(a.cfg.VerifyWindow).Sub(now), time.Second)
		return false, uuid.Nil, &e
	}
	if !verified {
		return false, uuid.Nil, nil
	}
	return true, c.ID, nil
}

// Rekey moves every data key not wrapped by the primary master key under it, batch by batch, and returns
// how many it moved. The fields sealed under each data key stay as they are.
func (a *App) Rekey(ctx context.Context, batch int) (int, error) {
	total := 0
	primary := a.codec.keys.Primary()
	for {
		n, err := a.store.Rekey(ctx, primary, batch, func(id uuid.UUID, wrapped []byte) ([]byte, error) {
			dk, err := a.codec.keys.Unwrap(wrapped, aad(id, "data_key"))
			if err != nil {
				return nil, err
			}
			return a.codec.keys.Wrap(dk, aad(id, "data_key"))
		})
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

func kindProto(k customer.Kind) customerv1.CustomerKind {
	if k == customer.KindEnterprise {
		return customerv1.CustomerKind_CUSTOMER_KIND_ENTERPRISE
	}
	return customerv1.CustomerKind_CUSTOMER_KIND_INDIVIDUAL
}
