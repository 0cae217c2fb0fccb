package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/store"
)

// Idempotency scopes: what a key or request id is unique within, per principal.
const (
	scopeSubmit      = "submit_ticket"
	scopeSubcategory = "create_subcategory"
	scopeRule        = "create_rule"
)

// ticketScope is the scope of per-ticket request ids, so one id may be reused on another ticket.
func ticketScope(id uuid.UUID) string { return "ticket:" + id.String() }

// SubmitInput is a submission as the gRPC layer decoded it.
type SubmitInput struct {
	// IdempotencyKey makes the submit safe to retry; Fingerprint identifies the request without the key.
	IdempotencyKey string
	Fingerprint    []byte
	// Ticket is the submission; the app sets ID, Number and Submitter, and, from the customer service, the
	// customer, their tier and the identity check's outcome.
	Ticket ticket.NewTicket
	// Verification is the fact the adapter collected to verify the customer's identity; nil when none.
	Verification *VerifyFact
}

// SubmitTicket creates a ticket, or returns the one an earlier submit with the same key created. The
// ticket, its first timeline entry, the created event and the idempotency key are written in one
// transaction.
//
// With a customer service, the submission is first checked in full, then a retry is answered from the
// stored key (the customer service is not asked twice), then the customer service is asked who the
// customer is and whether the identity facts hold (identify): all before the transaction, so no row lock
// or connection is held across a call to another service. Its failure never fails the submit.
func (a *App) SubmitTicket(ctx context.Context, in SubmitInput) (*ticket.Ticket, error) {
	p, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := channelAllowed(ctx, in.Ticket.Channel); err != nil {
		return nil, err
	}
	pol, err := a.policy.get(ctx)
	if err != nil {
		return nil, err
	}
	policy := ticket.Policy{Taxonomy: pol.taxonomy, Rules: pol.active, MaxReceivedSkew: a.cfg.MaxSkew}
	claim := idempotency.Claim{Principal: p.String(), Scope: scopeSubmit, Key: in.IdempotencyKey, Fingerprint: in.Fingerprint}
	resolveLater := false
	if a.customers != nil && (in.Ticket.CustomerID == uuid.Nil || in.Verification != nil) {
		if err := ticket.ValidateNew(in.Ticket, policy, a.now()); err != nil {
			return nil, err // refused before the customer service could record anything of it
		}
		if t, err := a.store.SubmittedTicket(ctx, claim); err != nil || t != nil {
			return t, err
		}
		resolveLater = a.identify(ctx, p, &in)
	}
	now := a.now()
	id, err := newID()
	if err != nil {
		return nil, err
	}
	day := ticket.BusinessDay(now, a.cfg.BusinessZone)
	claim.ResourceID = id.String()
	t, replayed, err := a.store.CreateTicket(ctx, claim, day, now, func(serial int64) (*ticket.Ticket, store.Write, error) {
		nt := in.Ticket
		nt.ID, nt.Number, nt.Submitter = id, ticket.FormatNumber(day, serial), actor
		if len(pol.incidents) > 0 {
			nt.MatchIncident = func(f ticket.IncidentFacts) *ticket.IncidentLink { return matchIncident(pol.incidents, f) }
		}
		t, ch, err := ticket.New(nt, policy, now)
		if err != nil {
			return nil, store.Write{}, err
		}
		w, err := a.buildWrite(t, ch, changeContext{})
		w.ResolveCustomerLater = resolveLater
		return t, w, err
	})
	if err != nil {
		return nil, err
	}
	if !replayed {
		a.notify.Notify()
	}
	return t, nil
}

// GetTicket returns a ticket in the caller's scope.
func (a *App) GetTicket(ctx context.Context, id uuid.UUID) (*ticket.Ticket, error) {
	sc, err := scopeOf(ctx)
	if err != nil {
		return nil, err
	}
	return a.store.GetTicket(ctx, id, sc)
}

// ListTickets returns a page of the tickets in the caller's scope.
func (a *App) ListTickets(ctx context.Context, f store.TicketFilter, pageSize int, pageToken string) (store.TicketPage, error) {
	sc, err := scopeOf(ctx)
	if err != nil {
		return store.TicketPage{}, err
	}
	f.Scope = sc
	return a.store.ListTickets(ctx, f, pageSize, pageToken)
}

// ListTimeline returns a page of the timeline of a ticket in the caller's scope.
func (a *App) ListTimeline(ctx context.Context, id uuid.UUID, pageSize int, pageToken string) (store.TimelinePage, error) {
	sc, err := scopeOf(ctx)
	if err != nil {
		return store.TimelinePage{}, err
	}
	return a.store.ListTimeline(ctx, id, sc, pageSize, pageToken)
}

// channelAllowed refuses an adapter speaking for a channel its API key does not list (other callers are
// not restricted; an unspecified channel is the ticket's own, which the adapter submitted).
func channelAllowed(ctx context.Context, ch ticket.Channel) error {
	p, _, err := caller(ctx)
	if err != nil {
		return err
	}
	if ch.Valid() && !p.MaySubmitOn(ch.String()) {
		return apierr.New(apierr.KindPermissionDenied, "API_KEY_CHANNEL_NOT_ALLOWED",
			"this API key may not speak for channel %s", ch)
	}
	return nil
}

// scopeOf is the caller's ticket scope (see auth.ScopeOf): the one source of every read's and write's
// object check.
func scopeOf(ctx context.Context) (auth.TicketScope, error) {
	p, _, err := caller(ctx)
	if err != nil {
		return auth.TicketScope{}, err
	}
	return auth.ScopeOf(p), nil
}

// change is one state change of one ticket, as the domain method makes it.
type change func(t *ticket.Ticket, actor ticket.Actor, now time.Time) (ticket.Change, changeContext, error)

// update runs fn on the locked ticket and saves the result with its entry and event. A request id makes the
// call safe to retry: the claim's resource is the change's timeline entry when entryResource (message-adding
// calls return it), else the ticket.
func (a *App) update(ctx context.Context, id uuid.UUID, req Request, entryResource bool, fn change) (store.Result, error) {
	p, actor, err := caller(ctx)
	if err != nil {
		return store.Result{}, err
	}
	now := a.now()
	var entryID uuid.UUID
	if entryResource {
		if entryID, err = newID(); err != nil {
			return store.Result{}, err
		}
	}
	var claim *idempotency.Claim
	if req.ID != "" {
		resource := id.String()
		if entryResource {
			resource = entryID.String()
		}
		claim = &idempotency.Claim{Principal: p.String(), Scope: ticketScope(id), Key: req.ID,
			Fingerprint: req.Fingerprint, ResourceID: resource}
	}
	res, err := a.store.UpdateTicket(ctx, id, auth.ScopeOf(p), claim, now, func(t *ticket.Ticket) (store.Write, error) {
		before := classificationOf(t)
		ch, cc, err := fn(t, actor, now)
		if err != nil {
			return store.Write{}, err
		}
		if ch.Empty() {
			return store.Write{}, nil
		}
		cc.before, cc.entryID = before, entryID
		return a.buildWrite(t, ch, cc)
	})
	if err != nil {
		return store.Result{}, err
	}
	if !res.Replayed && len(res.Entries) > 0 {
		a.notify.Notify()
	}
	return res, nil
}

// Etag renders a ticket's etag: its version, which every change increments.
func Etag(t *ticket.Ticket) string { return strconv.FormatInt(t.Version, 10) }

// etagMatches accepts the etag with or without HTTP quoting (and a weak W/ prefix), since REST clients
// copy it either way.
func etagMatches(given string, t *ticket.Ticket) bool {
	given = strings.TrimPrefix(strings.TrimSpace(given), "W/")
	given = strings.Trim(given, `"`)
	return given == Etag(t)
}

// ReasonEtagMismatch is the Aborted reason of a stale etag.
const ReasonEtagMismatch = "ETAG_MISMATCH"

// UpdateClassification changes type, subcategory, urgency or level (the fields set in u) of a ticket whose
// version is still etag. A stale etag is Aborted ETAG_MISMATCH.
func (a *App) UpdateClassification(ctx context.Context, id uuid.UUID, etag string, u ticket.ClassificationUpdate) (*ticket.Ticket, error) {
	pol, err := a.policy.get(ctx)
	if err != nil {
		return nil, err
	}
	res, err := a.update(ctx, id, Request{}, false, func(t *ticket.Ticket, actor ticket.Actor, now time.Time) (ticket.Change, changeContext, error) {
		if !etagMatches(etag, t) {
			return ticket.Change{}, changeContext{}, apierr.New(apierr.KindAborted, ReasonEtagMismatch,
				"the ticket changed since etag %q was read (current %q): read it again", etag, Etag(t)).
				WithMeta("current_etag", Etag(t)).WithCause(ErrEtagMismatch)
		}
		ch, err := t.Reclassify(u, pol.taxonomy, actor, now)
		return ch, changeContext{}, err
	})
	if err != nil {
		return nil, err
	}
	return res.Ticket, nil
}

// Assign hands a ticket to a group and/or an agent.
// A non-nil expected refuses the change unless the ticket's agent is *expected now (uuid.Nil: nobody), so
// an automatic decision never overrides one staff made meanwhile.
func (a *App) Assign(ctx context.Context, id, group, agent uuid.UUID, unassign bool, expected *uuid.UUID, req Request) (*ticket.Ticket, error) {
	res, err := a.update(ctx, id, req, false, func(t *ticket.Ticket, actor ticket.Actor, now time.Time) (ticket.Change, changeContext, error) {
		if expected != nil && t.AssigneeID != *expected {
			return ticket.Change{}, changeContext{}, apierr.FailedPrecondition("ASSIGNEE_CHANGED",
				"the ticket's agent changed since the caller decided; read it again")
		}
		if unassign {
			ch, err := t.Unassign(group, actor, now)
			return ch, changeContext{}, err
		}
		ch, err := t.Assign(group, agent, actor, now)
		return ch, changeContext{}, err
	})
	return res.Ticket, err
}

// StartWork moves an assigned ticket to in_progress.
func (a *App) StartWork(ctx context.Context, id uuid.UUID, req Request) (*ticket.Ticket, error) {
	res, err := a.update(ctx, id, req, false, func(t *ticket.Ticket, actor ticket.Actor, now time.Time) (ticket.Change, changeContext, error) {
		ch, err := t.StartWork(actor, now)
		return ch, changeContext{}, err
	})
	return res.Ticket, err
}

// SetPendingCustomer moves an in_progress ticket to pending_customer.
func (a *App) SetPendingCustomer(ctx context.Context, id uuid.UUID, req Request) (*ticket.Ticket, error) {
	res, err := a.update(ctx, id, req, false, func(t *ticket.Ticket, actor ticket.Actor, now time.Time) (ticket.Change, changeContext, error) {
		ch, err := t.SetPendingCustomer(actor, now)
		return ch, changeContext{}, err
	})
	return res.Ticket, err
}

// Reply records an agent's reply; it returns the ticket and the entry written (or, on a retry, the entry
// the first call wrote).
func (a *App) Reply(ctx context.Context, id uuid.UUID, text string, channel ticket.Channel, asksCustomer bool, req Request) (store.Result, error) {
	return a.update(ctx, id, req, true, func(t *ticket.Ticket, actor ticket.Actor, now time.Time) (ticket.Change, changeContext, error) {
		ch, err := t.Reply(text, channel, asksCustomer, actor, now)
		return ch, changeContext{}, err
	})
}

// AddNote records an internal note.
func (a *App) AddNote(ctx context.Context, id uuid.UUID, text string, req Request) (store.Result, error) {
	return a.update(ctx, id, req, true, func(t *ticket.Ticket, actor ticket.Actor, now time.Time) (ticket.Change, changeContext, error) {
		ch, err := t.AddNote(text, actor, now)
		return ch, changeContext{}, err
	})
}

// AppendCustomerMessage records a further message from the customer, with its attachments.
func (a *App) AppendCustomerMessage(ctx context.Context, id uuid.UUID, text string, channel ticket.Channel,
	attachments []ticket.Attachment, req Request) (store.Result, error) {
	if err := channelAllowed(ctx, channel); err != nil {
		return store.Result{}, err
	}
	return a.update(ctx, id, req, true, func(t *ticket.Ticket, actor ticket.Actor, now time.Time) (ticket.Change, changeContext, error) {
		ch, err := t.AppendCustomerMessage(text, channel, attachments, actor, now)
		return ch, changeContext{}, err
	})
}

// Escalate raises the escalation level.
func (a *App) Escalate(ctx context.Context, id uuid.UUID, reason string, req Request) (*ticket.Ticket, error) {
	res, err := a.update(ctx, id, req, false, func(t *ticket.Ticket, actor ticket.Actor, now time.Time) (ticket.Change, changeContext, error) {
		ch, err := t.Escalate(reason, actor, now)
		return ch, changeContext{}, err
	})
	return res.Ticket, err
}

// Resolve resolves a ticket with a summary.
func (a *App) Resolve(ctx context.Context, id uuid.UUID, summary string, req Request) (*ticket.Ticket, error) {
	res, err := a.update(ctx, id, req, false, func(t *ticket.Ticket, actor ticket.Actor, now time.Time) (ticket.Change, changeContext, error) {
		ch, err := t.Resolve(summary, actor, now)
		return ch, changeContext{}, err
	})
	return res.Ticket, err
}

// Close closes a resolved ticket.
func (a *App) Close(ctx context.Context, id uuid.UUID, req Request) (*ticket.Ticket, error) {
	res, err := a.update(ctx, id, req, false, func(t *ticket.Ticket, actor ticket.Actor, now time.Time) (ticket.Change, changeContext, error) {
		ch, err := t.Close(actor, now)
		return ch, changeContext{}, err
	})
	return res.Ticket, err
}

// Reopen reopens a resolved or closed ticket: back to its agent when the agent directory says the agent is
// still active, else to its group. The directory is asked before the transaction, so no row lock is held
// across a call to another service; if the agent changed meanwhile it is asked again.
func (a *App) Reopen(ctx context.Context, id uuid.UUID, reason string, req Request) (*ticket.Ticket, error) {
	pre, err := a.GetTicket(ctx, id)
	if err != nil {
		return nil, err
	}
	askedFor, active, err := a.agentActive(ctx, pre.AssigneeID)
	if err != nil {
		return nil, err
	}
	res, err := a.update(ctx, id, req, false, func(t *ticket.Ticket, actor ticket.Actor, now time.Time) (ticket.Change, changeContext, error) {
		isActive := active
		if t.AssigneeID != askedFor {
			var err error
			if _, isActive, err = a.agentActive(ctx, t.AssigneeID); err != nil {
				return ticket.Change{}, changeContext{}, err
			}
		}
		ch, err := t.Reopen(reason, isActive, actor, now)
		return ch, changeContext{}, err
	})
	return res.Ticket, err
}

func (a *App) agentActive(ctx context.Context, agent uuid.UUID) (uuid.UUID, bool, error) {
	if agent == uuid.Nil {
		return agent, false, nil
	}
	ok, err := a.agents.Active(ctx, agent)
	if err != nil {
		return agent, false, fmt.Errorf("ask whether agent %s is active: %w", agent, err)
	}
	return agent, ok, nil
}

// RecordSatisfaction records the customer's rating of the latest resolution, or (unreachable) the waiver.
func (a *App) RecordSatisfaction(ctx context.Context, id uuid.UUID, rating ticket.Satisfaction, comment string,
	unreachable bool, req Request) (*ticket.Ticket, error) {
	res, err := a.update(ctx, id, req, false, func(t *ticket.Ticket, actor ticket.Actor, now time.Time) (ticket.Change, changeContext, error) {
		if unreachable {
			ch, err := t.WaiveSatisfaction(actor, now)
			return ch, changeContext{}, err
		}
		ch, err := t.RecordSatisfaction(rating, comment, actor, now)
		return ch, changeContext{}, err
	})
	return res.Ticket, err
}

// Archive archives a closed, complete ticket.
func (a *App) Archive(ctx context.Context, id uuid.UUID, req Request) (*ticket.Ticket, error) {
	res, err := a.update(ctx, id, req, false, func(t *ticket.Ticket, actor ticket.Actor, now time.Time) (ticket.Change, changeContext, error) {
		ch, err := t.Archive(actor, now)
		return ch, changeContext{}, err
	})
	return res.Ticket, err
}
