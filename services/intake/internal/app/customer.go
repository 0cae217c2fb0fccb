package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/logging"
	"kefu.dev/services/intake/internal/domain/ticket"
)

// CustomerDirectory is the customer service as a submit needs it (issue 5): who the customer is, and
// whether the facts an adapter collected prove it. The real one is internal/customerclient, over gRPC;
// nil means intake runs without a customer service and submits keep the adapter's customer_id as given.
type CustomerDirectory interface {
	// Resolve finds the customer a submission is from, or creates one (from a consented contact). An
	// empty CustomerID in the result means nothing matched and nothing could be created.
	Resolve(ctx context.Context, in ResolveInput) (ResolveResult, error)
	// Verify checks one fact against the customer and reports whether it matched.
	Verify(ctx context.Context, customerID string, fact VerifyFact) (bool, error)
}

// ResolveInput is what a submission knows of its customer.
type ResolveInput struct {
	// IdempotencyKey makes the call safe to retry; derived from the submitter and the submit's key.
	IdempotencyKey string
	// Contact is the contact as the adapter sent it, nil when none; ContactConsent says whether the
	// customer consented to it being kept (the customer service neither stores nor matches it without).
	Contact        *ticket.Contact
	ContactConsent bool
	Channel        ticket.Channel
	OrderNumber    string
	MemberNumber   string
}

// ResolveResult names the customer.
type ResolveResult struct {
	CustomerID string // UUID; "" when no customer was found or created
	Tier       string // the customer's tier code; "" when CustomerID is
	Created    bool   // the call created the record
}

// VerifyFact is one fact to check: an order number, or the last four digits of a registered phone.
type VerifyFact struct {
	Method ticket.VerificationMethod
	Value  string
}

// resolveKey derives the idempotency key of a submit's ResolveCustomer call from the submitter and the
// submit's own key, so a retried submit that does reach the customer service gets the same answer, and two
// adapters using the same key never share one. Hashed, because principal ids may hold characters the
// customer service's key pattern refuses.
func resolveKey(p auth.Principal, submitKey string) string {
	sum := sha256.Sum256([]byte(p.String() + "\x00" + submitKey))
	return "intake-submit:" + hex.EncodeToString(sum[:])
}

// identify fills in what the customer service knows about a submission's customer: when the adapter sent
// no customer id, the customer it resolves (and their tier); when the adapter sent identity facts and a
// customer is known, the outcome of checking them. It never fails the submit: a ticket must not be lost
// because the customer service is down, so an error leaves the fields unset and is logged (without
// personal data: the client's errors carry the RPC and the status code only). It reports whether the
// customer is to be resolved later: the service failed and the ticket has something to resolve by.
func (a *App) identify(ctx context.Context, p auth.Principal, in *SubmitInput) (resolveLater bool) {
	nt := &in.Ticket
	if nt.CustomerID == uuid.Nil {
		res, err := a.customers.Resolve(ctx, ResolveInput{
			IdempotencyKey: resolveKey(p, in.IdempotencyKey), Contact: nt.Contact, ContactConsent: nt.ContactConsent,
			Channel: nt.Channel, OrderNumber: nt.OrderNumber, MemberNumber: nt.MemberNumber,
		})
		switch {
		case err != nil:
			resolveLater = (nt.Contact != nil && nt.ContactConsent) || nt.OrderNumber != "" || nt.MemberNumber != ""
			a.log.WarnContext(ctx, "customer service did not resolve the customer; the ticket is accepted without one",
				logging.KeyError, err.Error(), "retry_later", resolveLater)
		case res.CustomerID != "":
			id, err := uuid.Parse(res.CustomerID)
			if err != nil {
				a.log.WarnContext(ctx, "customer service answered a customer id that is not a UUID; the ticket is accepted without one")
				break
			}
			nt.CustomerID, nt.CustomerTier = id, res.Tier
		}
	}
	if in.Verification == nil || nt.CustomerID == uuid.Nil {
		return resolveLater
	}
	ok, err := a.customers.Verify(ctx, nt.CustomerID.String(), *in.Verification)
	if err != nil {
		a.log.WarnContext(ctx, "customer service did not check the identity facts; the ticket is accepted unverified",
			logging.KeyError, err.Error())
		return resolveLater
	}
	nt.Verification = &ticket.IdentityVerification{Verified: ok, Method: in.Verification.Method, At: a.now()}
	return resolveLater
}

// Deferred resolution: how many tickets one sweep asks about, the longest wait between two attempts, and
// when to give up (about two days of hourly attempts after the first doublings).
const (
	resolveBatch       = 20
	resolveMaxDelay    = time.Hour
	resolveMaxAttempts = 60
)

// ResolvePendingCustomers asks the customer service again about tickets it could not answer at submit,
// and fills in their customer and tier. A ticket the service still cannot answer waits longer each time;
// after resolveMaxAttempts it stays without a customer (staff can still identify it) and a warning is
// logged. The key is derived from the ticket, so a resolve that reached the service before is answered
// the same way. It returns how many tickets it settled.
func (a *App) ResolvePendingCustomers(ctx context.Context) (int, error) {
	if a.customers == nil {
		return 0, nil
	}
	due, err := a.store.ClaimResolutions(ctx, a.now(), resolveBatch, resolveMaxDelay)
	if err != nil {
		return 0, err
	}
	settled := 0
	for _, p := range due {
		t := p.Ticket
		if t.CustomerID != uuid.Nil {
			if err := a.store.SettleResolution(ctx, t.ID, uuid.Nil, ""); err != nil {
				return settled, err
			}
			settled++
			continue
		}
		res, err := a.customers.Resolve(ctx, ResolveInput{
			IdempotencyKey: "intake-ticket:" + t.ID.String(), Contact: t.Contact, ContactConsent: t.Contact != nil,
			Channel: t.Channel, OrderNumber: t.OrderNumber, MemberNumber: t.MemberNumber,
		})
		if err != nil {
			if p.Attempts < resolveMaxAttempts {
				continue // claimed with a later next attempt already
			}
			a.log.WarnContext(ctx, "gave up resolving a ticket's customer", logging.KeyTicketID, t.ID.String(),
				"attempts", p.Attempts, logging.KeyError, err.Error())
			res = ResolveResult{}
		}
		var id uuid.UUID
		if res.CustomerID != "" {
			if id, err = uuid.Parse(res.CustomerID); err != nil {
				id = uuid.Nil
			}
		}
		if err := a.store.SettleResolution(ctx, t.ID, id, res.Tier); err != nil {
			return settled, err
		}
		settled++
	}
	return settled, nil
}

// customerBatch bounds how many tickets one erasure or merge statement changes, so a customer with
// thousands of tickets never holds their row locks at once, nor for long.
const customerBatch = 200

// EraseCustomer removes the customer's personal data from all their tickets (kefu.customer.erased): the
// contact and member number always, their own words too when words is set (see ticket.Erasure). It works
// in batches, each its own short transaction, and records the customer as erased so tickets a merge moves
// onto them later are erased as well. Every step is idempotent: running it again changes nothing, and a
// run cut short is finished by the next. It returns how many tickets it changed.
func (a *App) EraseCustomer(ctx context.Context, customerID uuid.UUID, words bool) (int, error) {
	now := a.now()
	if err := a.store.RecordErasedCustomer(ctx, customerID, words, now); err != nil {
		return 0, err
	}
	return a.eraseTickets(ctx, customerID, words, now)
}

// eraseTickets erases the customer's tickets a batch at a time until none is left.
func (a *App) eraseTickets(ctx context.Context, customerID uuid.UUID, words bool, now time.Time) (int, error) {
	total := 0
	for {
		n, err := a.store.EraseCustomerTickets(ctx, customerID, words, now, customerBatch)
		total += n
		if err != nil || n < customerBatch {
			return total, err
		}
	}
}

// MergeCustomer moves every ticket of the duplicate customer to the survivor (kefu.customer.merged), in
// batches, and erases the moved tickets when the survivor's data was erased already (an erasure applied
// before a late merge). Idempotent like EraseCustomer. It returns how many tickets it moved.
func (a *App) MergeCustomer(ctx context.Context, duplicate, survivor uuid.UUID) (int, error) {
	if duplicate == survivor {
		return 0, fmt.Errorf("merge customer %s into itself", duplicate)
	}
	total := 0
	for {
		n, err := a.store.MoveCustomerTickets(ctx, duplicate, survivor, customerBatch)
		total += n
		if err != nil {
			return total, err
		}
		if n < customerBatch {
			break
		}
	}
	erased, words, err := a.store.ErasedCustomer(ctx, survivor)
	if err != nil || !erased {
		return total, err
	}
	_, err = a.eraseTickets(ctx, survivor, words, a.now())
	return total, err
}
