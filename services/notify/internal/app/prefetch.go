package app

import (
	"context"
	"sync"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/proto"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/services/notify/internal/domain/message"
)

// prefetchCalls bounds the peer reads one batch makes at once. A consumer runs several batches' shards
// at once, so intake and customer see up to that many times this.
const prefetchCalls = 8

// HandleTicketEvents makes the messages of a batch of ticket events in tx, in order, as HandleTicketEvent
// does each. It first reads at once what the events' messages will ask of intake and customer (each
// ticket, then its customer's contacts), so the events, applied one after another, find those answers in
// hand instead of waiting on two calls each. A read that failed is simply asked again by its event, which
// then fails or succeeds as it would have.
func (a *App) HandleTicketEvents(ctx context.Context, tx pgx.Tx, ds []events.Delivery) error {
	view := *a
	view.peers = a.prefetch(ctx, ds)
	return events.Each(view.HandleTicketEvent)(ctx, tx, ds)
}

// prefetched answers the reads it holds and asks the peers for anything else.
type prefetched struct {
	Peers
	mu       sync.Mutex
	tickets  map[string]Ticket
	contacts map[contactsKey]Contacts
}

// contactsKey is one Contacts question: the customer and the contact checked (none: zero).
type contactsKey struct {
	customer string
	check    message.Contact
	checked  bool
}

func keyOf(customer string, check *message.Contact) contactsKey {
	k := contactsKey{customer: customer}
	if check != nil {
		k.check, k.checked = *check, true
	}
	return k
}

func (p *prefetched) Ticket(ctx context.Context, id string) (Ticket, error) {
	p.mu.Lock()
	t, ok := p.tickets[id]
	p.mu.Unlock()
	if ok {
		return t, nil
	}
	return p.Peers.Ticket(ctx, id)
}

func (p *prefetched) Contacts(ctx context.Context, customerID string, check *message.Contact) (Contacts, error) {
	p.mu.Lock()
	c, ok := p.contacts[keyOf(customerID, check)]
	p.mu.Unlock()
	if ok {
		return c, nil
	}
	return p.Peers.Contacts(ctx, customerID, check)
}

// prefetch reads the tickets the batch's events are about, and their customers' contacts, prefetchCalls
// at a time.
func (a *App) prefetch(ctx context.Context, ds []events.Delivery) *prefetched {
	p := &prefetched{Peers: a.peers, tickets: map[string]Ticket{}, contacts: map[contactsKey]Contacts{}}
	seen := map[string]bool{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(prefetchCalls)
	for _, d := range ds {
		id := ticketOf(d)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		g.Go(func() error {
			t, err := a.peers.Ticket(gctx, id)
			if err != nil {
				return nil // its event asks again
			}
			p.mu.Lock()
			p.tickets[id] = t
			p.mu.Unlock()
			if t.CustomerID == "" {
				return nil
			}
			c, err := a.peers.Contacts(gctx, t.CustomerID, t.Contact)
			if err != nil {
				return nil
			}
			p.mu.Lock()
			p.contacts[keyOf(t.CustomerID, t.Contact)] = c
			p.mu.Unlock()
			return nil
		})
	}
	_ = g.Wait() // every goroutine returns nil
	return p
}

// ticketOf is the ticket whose message d will make, "" when it makes none or cannot be read (its handler
// then says why).
func ticketOf(d events.Delivery) string {
	switch d.Subject {
	case SubjectTicketCreated:
		var ev eventsv1.TicketCreated
		if proto.Unmarshal(d.Data, &ev) == nil {
			return ev.GetMeta().GetAggregateId()
		}
	case SubjectTicketReplied:
		var ev eventsv1.TicketReplied
		if proto.Unmarshal(d.Data, &ev) == nil {
			return ev.GetMeta().GetAggregateId()
		}
	case SubjectProgressDue:
		var ev eventsv1.SlaProgressDue
		if proto.Unmarshal(d.Data, &ev) == nil && ev.GetNotifyCustomer() {
			return ev.GetTicketId()
		}
	}
	return ""
}
