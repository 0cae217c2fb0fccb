package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/protobuf/proto"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/paging"
	"kefu.dev/services/notify/internal/domain/delivery"
	"kefu.dev/services/notify/internal/domain/message"
	"kefu.dev/services/notify/internal/store"
)

// Subjects of the ticket events that become messages.
var (
	SubjectTicketCreated = events.Subject("ticket", "created")
	SubjectTicketReplied = events.Subject("ticket", "replied")
	// SubjectProgressDue is slatimer's progress reminder on a long case; with notify_customer it becomes
	// a status message to the customer.
	SubjectProgressDue = events.Subject("sla", "progress_due")
)

// HandleTicketEvent turns a ticket event into its message, in the consumer's transaction: the
// acknowledgement of kefu.ticket.created, the agent's words of kefu.ticket.replied. A message is made once
// per ticket (acknowledgement) or timeline entry (reply), however often the event comes.
func (a *App) HandleTicketEvent(ctx context.Context, tx pgx.Tx, d events.Delivery) error {
	var err error
	switch d.Subject {
	case SubjectTicketCreated:
		var ev eventsv1.TicketCreated
		if err := proto.Unmarshal(d.Data, &ev); err != nil {
			return fmt.Errorf("decode %s: %w: %w", d.Subject, err, events.ErrPermanent)
		}
		err = a.acknowledge(ctx, store.Wrap(tx), &ev)
	case SubjectTicketReplied:
		var ev eventsv1.TicketReplied
		if err := proto.Unmarshal(d.Data, &ev); err != nil {
			return fmt.Errorf("decode %s: %w: %w", d.Subject, err, events.ErrPermanent)
		}
		err = a.relayReply(ctx, store.Wrap(tx), &ev)
	case SubjectProgressDue:
		var ev eventsv1.SlaProgressDue
		if err := proto.Unmarshal(d.Data, &ev); err != nil {
			return fmt.Errorf("decode %s: %w: %w", d.Subject, err, events.ErrPermanent)
		}
		if !ev.GetNotifyCustomer() {
			return nil // the agent's reminder only: the event itself is it
		}
		err = a.progressUpdate(ctx, store.Wrap(tx), &ev)
	default:
		return nil
	}
	if errors.Is(err, ErrPeerNotFound) {
		// The ticket or entry is gone at intake (it cannot be, short of a restore): retrying cannot help.
		return fmt.Errorf("%w: %w", err, events.ErrPermanent)
	}
	return err
}

// acknowledge makes the acknowledgement of a new ticket: its number and, outside working hours, when a
// person will reply.
func (a *App) acknowledge(ctx context.Context, tx *store.Tx, ev *eventsv1.TicketCreated) error {
	ticketID := ev.GetMeta().GetAggregateId()
	t, err := a.peers.Ticket(ctx, ticketID)
	if err != nil {
		return err
	}
	at := ev.GetMeta().GetOccurredAt().AsTime()
	bs, err := a.peers.BusinessStatus(ctx, a.cfg.Calendar, at)
	if err != nil {
		return err
	}
	agent, err := a.peers.AgentName(ctx, t.AssigneeID)
	if err != nil {
		return err
	}
	m, err := a.compose(ctx, t, message.KindAcknowledgement, "", func(lang string) map[string]string {
		vars := map[string]string{"ticket_number": t.Number, "subject": t.Subject, "agent_name": agent}
		if !bs.Open {
			vars["after_hours"] = "1"
			vars["expected_reply"] = message.ReplyPhrase(at, bs.NextOpen, bs.Zone, lang)
		}
		return vars
	})
	if err != nil {
		return err
	}
	m.DedupeKey = "ack:" + ticketID
	return a.queue(ctx, tx, m)
}

// relayReply makes the message that carries an agent's reply.
func (a *App) relayReply(ctx context.Context, tx *store.Tx, ev *eventsv1.TicketReplied) error {
	ticketID := ev.GetMeta().GetAggregateId()
	t, err := a.peers.Ticket(ctx, ticketID)
	if err != nil {
		return err
	}
	r, err := a.peers.Reply(ctx, ticketID, ev.GetEntryId())
	if err != nil {
		return err
	}
	// An agent who chose a channel other than the ticket's chose it for this reply: it goes first.
	override := message.Channel("")
	if r.Channel != "" && r.Channel != t.Channel {
		override = r.Channel
	}
	agent, err := a.peers.AgentName(ctx, r.ActorID)
	if err != nil {
		return err
	}
	m, err := a.compose(ctx, t, message.KindAgentReply, override, func(string) map[string]string {
		return map[string]string{"ticket_number": t.Number, "body": r.Text, "agent_name": agent}
	})
	if err != nil {
		return err
	}
	m.DedupeKey, m.EntryID = "reply:"+ev.GetEntryId(), ev.GetEntryId()
	return a.queue(ctx, tx, m)
}

// progressUpdate makes the automatic status message of a long case's progress reminder, once per
// reminder of each cycle.
func (a *App) progressUpdate(ctx context.Context, tx *store.Tx, ev *eventsv1.SlaProgressDue) error {
	t, err := a.peers.Ticket(ctx, ev.GetTicketId())
	if err != nil {
		return err
	}
	agent, err := a.peers.AgentName(ctx, t.AssigneeID)
	if err != nil {
		return err
	}
	m, err := a.compose(ctx, t, message.KindProgressUpdate, "", func(string) map[string]string {
		return map[string]string{"ticket_number": t.Number, "subject": t.Subject, "agent_name": agent}
	})
	if err != nil {
		return err
	}
	m.DedupeKey = fmt.Sprintf("progress:%s:%d:%d", ev.GetTicketId(), ev.GetCycle(), ev.GetReminder())
	return a.queue(ctx, tx, m)
}

// compose chooses a message's channel and address, its language, and renders its template. A message
// that cannot go anywhere is made anyway, failed with the reason, so agents see why the customer was not
// told.
func (a *App) compose(ctx context.Context, t Ticket, kind message.Kind, override message.Channel, vars func(lang string) map[string]string) (store.Message, error) {
	templates, err := a.templates(ctx)
	if err != nil {
		return store.Message{}, err
	}
	return a.composeWith(ctx, templates, t, kind, override, vars)
}

// composeWith is compose with the templates already read (an announcement composes many messages).
func (a *App) composeWith(ctx context.Context, templates []message.Template, t Ticket, kind message.Kind, override message.Channel,
	vars func(lang string) map[string]string) (store.Message, error) {
	reach := message.Reach{TicketChannel: t.Channel, TicketContact: t.Contact}
	if t.CustomerID != "" {
		c, err := a.peers.Contacts(ctx, t.CustomerID, t.Contact)
		if err != nil && !errors.Is(err, ErrPeerNotFound) {
			return store.Message{}, err
		}
		reach.Preferred, reach.Usable, reach.TicketContactWithdrawn = c.Preferred, c.Usable, c.Withdrawn
	}
	if override != "" {
		reach.Preferred = override
	}
	id, err := uuid.NewV7()
	if err != nil {
		return store.Message{}, err
	}
	ticketID, err := uuid.Parse(t.ID)
	if err != nil {
		return store.Message{}, fmt.Errorf("ticket id %q: %w", t.ID, events.ErrPermanent)
	}
	customerID, _ := uuid.Parse(t.CustomerID) // empty: uuid.Nil, unknown
	lang := message.Language(t.Subject+" "+t.Description, a.cfg.DefaultLanguage)
	m := store.Message{ID: id, Kind: kind, TicketID: ticketID, TicketNumber: t.Number, CustomerID: customerID,
		Channel: t.Channel, Language: lang, CreatedAt: a.clock.Now()}
	choice, err := message.Choose(reach)
	if err != nil {
		reason := message.FailureReason(err)
		if reason == "" {
			return store.Message{}, err
		}
		m.State, m.FailureReason, m.FinishedAt = delivery.Failed, reason, m.CreatedAt
	} else {
		m.State, m.Channel, m.ContactKind, m.Address = delivery.Queued, choice.Channel, choice.Contact.Kind, choice.Contact.Value
	}
	tpl, ok := message.TemplateFor(templates, kind, m.Channel, lang)
	if !ok {
		return store.Message{}, fmt.Errorf("no template for %s on %s in %s", kind, m.Channel, lang)
	}
	m.Body = message.Render(tpl.Body, vars(tpl.Language))
	m.Language = tpl.Language
	return m, nil
}

// queue stores m (once per dedupe key) with one outbound webhook delivery per subscriber of its subject;
// the publisher puts queued ones on the OUTBOUND stream after the commit.
func (a *App) queue(ctx context.Context, tx *store.Tx, m store.Message) error {
	_, err := a.queueAll(ctx, tx, []store.Message{m})
	return err
}

// queueAll is queue for many messages in one transaction; it returns how many were new.
func (a *App) queueAll(ctx context.Context, tx *store.Tx, ms []store.Message) (int, error) {
	var hooks []store.WebhookRow
	var fs []store.Fanout
	n, loaded := 0, false
	for _, m := range ms {
		inserted, err := tx.InsertMessage(ctx, m)
		if err != nil {
			return n, err
		}
		if !inserted {
			continue
		}
		n++
		a.meters.messages.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", string(m.Kind)), attribute.String("state", string(m.State))))
		if m.State != delivery.Queued {
			a.log.InfoContext(ctx, "message not deliverable", "ticket_id", m.TicketID.String(), "message_id", m.ID.String(),
				"kind", string(m.Kind), "reason", m.FailureReason)
			continue
		}
		if !loaded {
			if hooks, err = tx.Subscribers(ctx); err != nil {
				return n, err
			}
			loaded = true
		}
		subject := OutboundSubject(m.Channel)
		f := store.Fanout{Hooks: matching(hooks, subject)}
		if len(f.Hooks) == 0 {
			continue
		}
		body, err := outboundPayload(m)
		if err != nil {
			return n, err
		}
		f.Payload = store.Payload{ID: m.ID, Subject: subject, SourceID: m.ID.String(), Body: body}
		fs = append(fs, f)
	}
	_, err := tx.AddDeliveries(ctx, fs, a.clock.Now())
	return n, err
}

// QueueMessages stores messages already composed (an announcement to many customers, a load test), each
// once per dedupe key, with their outbound webhook deliveries, in one transaction, and wakes the publisher
// and the sender. It returns how many were new.
func (a *App) QueueMessages(ctx context.Context, ms []store.Message) (int, error) {
	var n int
	err := a.st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		var err error
		n, err = a.queueAll(ctx, tx, ms)
		return err
	})
	if err == nil {
		a.AfterCommit()
	}
	return n, err
}

// AfterCommit wakes the publisher and the sender: the consumer calls it once its transaction committed.
func (a *App) AfterCommit() {
	a.wakePublisher()
	a.wakeSender()
}

// ListMessages returns a page of a ticket's messages, newest first. The ticket must lie in the caller's
// object scope (the policy table's ScopeTicket): intake tells notify the ticket's group, agent and
// submitter, and a ticket outside the scope is NotFound, as at intake.
func (a *App) ListMessages(ctx context.Context, ticket uuid.UUID, size int, token string) ([]store.Message, string, error) {
	if err := a.inScope(ctx, ticket); err != nil {
		return nil, "", err
	}
	size = paging.Size(size)
	scope := "messages:" + ticket.String()
	var after *store.Cursor
	if token != "" {
		after = &store.Cursor{}
		if err := paging.Decode(token, scope, after); err != nil {
			return nil, "", err
		}
	}
	ms, err := a.st.ListMessages(ctx, ticket, after, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ms) > size {
		ms = ms[:size]
		last := ms[size-1]
		next = paging.Encode(store.Cursor{T: last.CreatedAt, ID: last.ID}, scope)
	}
	return ms, next, nil
}

// Report records an adapter's report on a message. An adapter may report only on messages of the
// channels its key speaks for; any other is NotFound, as if absent.
func (a *App) Report(ctx context.Context, id uuid.UUID, r delivery.Report) (store.Message, error) {
	if r.At.IsZero() || r.At.After(a.clock.Now()) {
		r.At = a.clock.Now()
	}
	var out store.Message
	err := a.st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		m, err := tx.LockMessage(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return apierr.NotFound("message", id.String())
		}
		if err != nil {
			return err
		}
		if p, ok := auth.FromContext(ctx); ok && !p.MaySubmitOn(string(m.Channel)) {
			return apierr.NotFound("message", id.String())
		}
		st, changed, err := delivery.Apply(m.Status, r)
		if err != nil {
			return err
		}
		m.Status = st
		out = m
		if !changed {
			return nil
		}
		return tx.SetMessageStatus(ctx, id, st)
	})
	return out, err
}

// inScope refuses a ticket outside the caller's object scope as NotFound.
func (a *App) inScope(ctx context.Context, id uuid.UUID) error {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return apierr.NotFound("ticket", id.String())
	}
	sc := auth.ScopeOf(p)
	if sc.All {
		return nil
	}
	t, err := a.peers.Ticket(ctx, id.String())
	if errors.Is(err, ErrPeerNotFound) {
		return apierr.NotFound("ticket", id.String())
	}
	if err != nil {
		return err
	}
	if !sc.Admits(auth.ScopedTicket{GroupID: t.GroupID, AssigneeID: t.AssigneeID, SubmitterKind: t.SubmitterKind,
		SubmitterID: t.SubmitterID}) {
		return apierr.NotFound("ticket", id.String())
	}
	return nil
}
