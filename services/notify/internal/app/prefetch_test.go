package app

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/services/notify/internal/domain/message"
)

// countingPeers answers tickets and contacts from maps, counting calls and the most in flight at once.
type countingPeers struct {
	Peers
	mu                     sync.Mutex
	tickets                map[string]Ticket
	ticketCalls            map[string]int
	contactCalls           int
	inFlight, mostInFlight int
}

var errUnavailable = errors.New("unavailable")

func (c *countingPeers) enter() func() {
	c.mu.Lock()
	c.inFlight++
	c.mostInFlight = max(c.mostInFlight, c.inFlight)
	c.mu.Unlock()
	time.Sleep(time.Millisecond) // long enough for the reads to overlap
	return func() {
		c.mu.Lock()
		c.inFlight--
		c.mu.Unlock()
	}
}

func (c *countingPeers) Ticket(_ context.Context, id string) (Ticket, error) {
	defer c.enter()()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ticketCalls[id]++
	t, ok := c.tickets[id]
	if !ok {
		return Ticket{}, errUnavailable
	}
	return t, nil
}

func (c *countingPeers) Contacts(_ context.Context, customerID string, check *message.Contact) (Contacts, error) {
	defer c.enter()()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.contactCalls++
	return Contacts{Preferred: message.Channel("sms:" + customerID), Withdrawn: check != nil && check.Value == "withdrawn"}, nil
}

func eventOf(t *testing.T, subject string, m proto.Message) events.Delivery {
	t.Helper()
	data, err := proto.Marshal(m)
	require.NoError(t, err)
	return events.Delivery{Subject: subject, Data: data}
}

// TestPrefetchReadsEachTicketAndItsContactsOnceAtATime: a batch's tickets (acknowledgements, replies,
// progress updates that tell the customer) are read once each, with their customers' contacts, at most
// prefetchCalls at a time; the events then get those answers without asking again, anything else (a read
// that failed, a ticket not in the batch) is asked of the peers, and events that make no message read
// nothing.
func TestPrefetchReadsEachTicketAndItsContactsOnceAtATime(t *testing.T) {
	peers := &countingPeers{tickets: map[string]Ticket{}, ticketCalls: map[string]int{}}
	var ds []events.Delivery
	created := func(id string) *eventsv1.TicketCreated {
		return &eventsv1.TicketCreated{Meta: &eventsv1.EventMeta{AggregateId: id}}
	}
	for i := range 40 {
		id := string(rune('a'+i%26)) + string(rune('a'+i/26))
		peers.tickets[id] = Ticket{ID: id, CustomerID: "c-" + id, Contact: &message.Contact{Kind: "phone", Value: "withdrawn"}}
		ds = append(ds, eventOf(t, SubjectTicketCreated, created(id)))
	}
	ds = append(ds, eventOf(t, SubjectTicketCreated, created("aa"))) // the same ticket again: read once
	peers.tickets["reply"] = Ticket{ID: "reply"}                     // no customer: no contacts
	ds = append(ds,
		eventOf(t, SubjectTicketReplied, &eventsv1.TicketReplied{Meta: &eventsv1.EventMeta{AggregateId: "reply"}}),
		eventOf(t, SubjectProgressDue, &eventsv1.SlaProgressDue{TicketId: "progress", NotifyCustomer: false}),
		eventOf(t, SubjectTicketCreated, created("gone")), // intake does not answer
		events.Delivery{Subject: SubjectTicketCreated, Data: []byte{0xff}},
	)

	a := &App{peers: peers}
	p := a.prefetch(t.Context(), ds)
	require.Len(t, p.tickets, 41)
	require.Len(t, p.contacts, 40)
	require.Equal(t, 1, peers.ticketCalls["aa"])
	require.Equal(t, 1, peers.ticketCalls["gone"])
	require.Zero(t, peers.ticketCalls["progress"], "a progress reminder for the agent only makes no message")
	require.Equal(t, 40, peers.contactCalls)
	require.LessOrEqual(t, peers.mostInFlight, prefetchCalls)
	require.Greater(t, peers.mostInFlight, 1, "the reads overlap")

	ctx := t.Context()
	got, err := p.Ticket(ctx, "ba")
	require.NoError(t, err)
	require.Equal(t, peers.tickets["ba"], got)
	c, err := p.Contacts(ctx, "c-ba", &message.Contact{Kind: "phone", Value: "withdrawn"})
	require.NoError(t, err)
	require.True(t, c.Withdrawn)
	require.Equal(t, 1, peers.ticketCalls["ba"])
	require.Equal(t, 40, peers.contactCalls, "answered from the prefetch")

	_, err = p.Ticket(ctx, "gone")
	require.ErrorIs(t, err, errUnavailable, "a failed read is asked again, and fails as it would have")
	require.Equal(t, 2, peers.ticketCalls["gone"])
	_, err = p.Contacts(ctx, "c-ba", nil) // another question than the prefetched one
	require.NoError(t, err)
	require.Equal(t, 41, peers.contactCalls)
}
