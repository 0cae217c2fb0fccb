package intake_test

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/intake"
)

// Secrets that must never leave intake in an event.
const (
	secretDesc    = "SECRET-DESCRIPTION"
	secretContact = "secret.person@example.com"
	secretReply   = "SECRET-REPLY"
	secretNote    = "SECRET-NOTE"
	secretMessage = "SECRET-MESSAGE"
	secretReason  = "SECRET-REASON"
	secretSummary = "SECRET-SUMMARY"
	secretComment = "SECRET-COMMENT"
)

// lifecycle drives one ticket through every kind of change and returns the subjects it must have published,
// in order.
func (s *stack) lifecycle(t *testing.T) (string, []string) {
	t.Helper()
	ctx := staff(t)
	req := s.submitReq(secretDesc + " 我要投诉")
	req.Contact = &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_EMAIL, Value: secretContact, Consent: true, ConsentPurpose: "follow_up"}
	req.CustomerId = uuid.NewString()
	resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
	require.NoError(t, err)
	id := resp.GetTicket().GetTicketId()
	must := func(_ any, err error) {
		t.Helper()
		require.NoError(t, err)
	}
	must(s.client.UpdateTicket(ctx, &intakev1.UpdateTicketRequest{
		Ticket:     &intakev1.Ticket{TicketId: id, Etag: resp.GetTicket().GetEtag(), Urgency: intakev1.Urgency_URGENCY_URGENT},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"urgency"}}}))
	must(s.client.AssignTicket(ctx, &intakev1.AssignTicketRequest{TicketId: id, GroupId: testGroupID, AssigneeId: testAgentID}))
	must(s.client.StartWork(ctx, &intakev1.StartWorkRequest{TicketId: id}))
	must(s.client.SetPendingCustomer(ctx, &intakev1.SetPendingCustomerRequest{TicketId: id}))
	must(s.client.AppendCustomerMessage(as(t.Context(), adapterP), &intakev1.AppendCustomerMessageRequest{TicketId: id, RequestId: key("m"), Text: secretMessage}))
	must(s.client.AddNote(ctx, &intakev1.AddNoteRequest{TicketId: id, RequestId: key("n"), Text: secretNote}))
	must(s.client.EscalateTicket(ctx, &intakev1.EscalateTicketRequest{TicketId: id, Reason: secretReason}))
	must(s.client.AddReply(ctx, &intakev1.AddReplyRequest{TicketId: id, RequestId: key("r"), Text: secretReply, AsksCustomer: true}))
	must(s.client.ResolveTicket(ctx, &intakev1.ResolveTicketRequest{TicketId: id, ResolutionSummary: secretSummary}))
	must(s.client.RecordSatisfaction(ctx, &intakev1.RecordSatisfactionRequest{TicketId: id, Rating: intakev1.Satisfaction_SATISFACTION_SATISFIED, Comment: secretComment}))
	must(s.client.CloseTicket(ctx, &intakev1.CloseTicketRequest{TicketId: id}))
	must(s.client.ReopenTicket(ctx, &intakev1.ReopenTicketRequest{TicketId: id, Reason: secretReason}))
	must(s.client.ResolveTicket(ctx, &intakev1.ResolveTicketRequest{TicketId: id, ResolutionSummary: secretSummary}))
	must(s.client.RecordSatisfaction(ctx, &intakev1.RecordSatisfactionRequest{TicketId: id, CustomerUnreachable: true}))
	must(s.client.CloseTicket(ctx, &intakev1.CloseTicketRequest{TicketId: id}))
	must(s.client.ArchiveTicket(ctx, &intakev1.ArchiveTicketRequest{TicketId: id}))
	return id, []string{"created", "updated", "assigned", "status_changed", "status_changed", "customer_message_added",
		"note_added", "escalated", "replied", "resolved", "rated", "closed", "reopened", "resolved", "rated", "closed", "archived"}
}

// TestEveryChangePublishesExactlyOneEvent follows one ticket through its whole life: each change is one
// event on the subject named for it, with the ticket's sequence increasing by one, the headers infrastructure
// needs, from/to statuses where the status moved, and no contact detail or text anywhere in it.
func TestEveryChangePublishesExactlyOneEvent(t *testing.T) {
	t.Parallel()
	s := start(t)
	js := s.jetStream(t)
	id, want := s.lifecycle(t)
	got := s.events(t, js, len(want))
	require.Len(t, got, len(want), "exactly one event per change")

	tl, err := s.client.ListTimeline(staff(t), &intakev1.ListTimelineRequest{TicketId: id})
	require.NoError(t, err)
	require.Len(t, tl.GetEntries(), len(want), "one timeline entry per change")

	seenIDs := map[string]bool{}
	for i, ev := range got {
		seq := int64(i + 1)
		require.Equal(t, events.Subject("ticket", want[i]), ev.subject, "event %d", seq)
		m := ev.meta
		require.Equal(t, id, m.GetAggregateId())
		require.Equal(t, seq, m.GetAggregateSeq(), "per-ticket sequence increases by one")
		require.Equal(t, "intake", m.GetSource())
		require.False(t, seenIDs[m.GetEventId()])
		seenIDs[m.GetEventId()] = true
		require.Equal(t, m.GetEventId(), ev.headers.Get(events.HeaderMsgID))
		require.Equal(t, m.GetType(), ev.headers.Get(events.HeaderType))
		require.Equal(t, id, ev.headers.Get(events.HeaderAggregateID))
		require.Equal(t, strconv.FormatInt(seq, 10), ev.headers.Get(events.HeaderSeq))
		require.Equal(t, tl.GetEntries()[i].GetSeq(), seq, "the timeline entry carries the event's sequence")
		require.NotNil(t, m.GetOccurredAt())
		require.NotEqual(t, intakev1.ActorKind_ACTOR_KIND_UNSPECIFIED, m.GetActor().GetKind())

		// The body decodes as the type the meta names.
		mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(m.GetType()))
		require.NoError(t, err)
		body := mt.New().Interface()
		require.NoError(t, proto.Unmarshal(ev.data, body))

		for _, secret := range []string{secretDesc, secretContact, secretReply, secretNote, secretMessage, secretReason, secretSummary, secretComment} {
			require.False(t, bytes.Contains(ev.data, []byte(secret)), "event %s carries %q", ev.subject, secret)
			for k, vs := range ev.headers {
				for _, v := range vs {
					require.NotContains(t, v, secret, "header %s", k)
				}
			}
		}
		requireStatusPair(t, want[i], body)
	}
	created := &eventsv1.TicketCreated{}
	require.NoError(t, proto.Unmarshal(got[0].data, created))
	require.True(t, created.GetHasContact())
	require.Equal(t, stNew, created.GetToStatus())
	tk, err := s.client.GetTicket(staff(t), &intakev1.GetTicketRequest{TicketId: id})
	require.NoError(t, err)
	require.Regexp(t, `^GD\d{8}\d{4,}$`, tk.GetTicket().GetNumber())
	require.Equal(t, tk.GetTicket().GetNumber(), created.GetNumber(), "the created event names the ticket's number")
	closed := &eventsv1.TicketClosed{}
	require.NoError(t, proto.Unmarshal(got[11].data, closed))
	require.False(t, closed.GetAutomatic())
	replied := &eventsv1.TicketReplied{}
	require.NoError(t, proto.Unmarshal(got[8].data, replied))
	require.True(t, replied.GetFirstReply())
	require.Equal(t, stPending, replied.GetToStatus())
}

// requireStatusPair checks the from/to statuses of events whose status moves.
func requireStatusPair(t *testing.T, kind string, body proto.Message) {
	t.Helper()
	type pair interface {
		GetFromStatus() intakev1.TicketStatus
		GetToStatus() intakev1.TicketStatus
	}
	want := map[string][2]intakev1.TicketStatus{
		"assigned":       {stNew, stAssigned},
		"resolved":       {0, stResolved}, // from differs by run: pending_customer, then in_progress
		"closed":         {stResolved, stClosed},
		"reopened":       {stClosed, stWorking},
		"archived":       {stClosed, stArchived},
		"status_changed": {0, 0},
	}
	w, ok := want[kind]
	if !ok {
		return
	}
	p, ok := body.(pair)
	require.True(t, ok, "%s has from/to", kind)
	require.NotEqual(t, intakev1.TicketStatus_TICKET_STATUS_UNSPECIFIED, p.GetFromStatus(), kind)
	require.NotEqual(t, p.GetFromStatus(), p.GetToStatus(), kind)
	if w[0] != 0 {
		require.Equal(t, w[0], p.GetFromStatus(), kind)
	}
	if w[1] != 0 {
		require.Equal(t, w[1], p.GetToStatus(), kind)
	}
}

// TestTicketsAreAcceptedWhileNATSIsDown stops NATS, keeps submitting and changing tickets (all accepted),
// and restarts NATS on the same port and store: every event then arrives exactly once, each ticket's in
// sequence order.
func TestTicketsAreAcceptedWhileNATSIsDown(t *testing.T) {
	t.Parallel()
	s := start(t)
	js := s.jetStream(t)
	before := s.submit(t, "before the outage")
	s.events(t, js, 1) // the stream exists and the relay is publishing

	s.nats.Shutdown()
	var ids []string
	for range 5 {
		tk := s.submit(t, "during the outage")
		ids = append(ids, tk.GetTicketId())
		_, err := s.client.AssignTicket(staff(t), &intakev1.AssignTicketRequest{TicketId: tk.GetTicketId(), AssigneeId: testAgentID})
		require.NoError(t, err)
		_, err = s.client.AddNote(staff(t), &intakev1.AddNoteRequest{TicketId: tk.GetTicketId(), RequestId: key("n"), Text: "noted"})
		require.NoError(t, err)
	}
	_, err := s.client.AddNote(staff(t), &intakev1.AddNoteRequest{TicketId: before.GetTicketId(), RequestId: key("n"), Text: "noted"})
	require.NoError(t, err)
	var pending int
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox WHERE published_at IS NULL`).Scan(&pending))
	require.Equal(t, 16, pending, "the events wait in the outbox")

	again, err := natsembed.Start(s.nats.Options())
	require.NoError(t, err)
	t.Cleanup(again.Shutdown)

	got := s.events(t, js, 17)
	require.Len(t, got, 17, "every event exactly once")
	seqs := map[string][]int64{}
	seen := map[string]bool{}
	for _, ev := range got {
		require.False(t, seen[ev.meta.GetEventId()], "event %s twice", ev.meta.GetEventId())
		seen[ev.meta.GetEventId()] = true
		seqs[ev.meta.GetAggregateId()] = append(seqs[ev.meta.GetAggregateId()], ev.meta.GetAggregateSeq())
	}
	require.Equal(t, []int64{1, 2}, seqs[before.GetTicketId()])
	for _, id := range ids {
		require.Equal(t, []int64{1, 2, 3}, seqs[id], "ticket %s in order", id)
	}
}

// TestAutoCloseEventIsAutomatic checks the sweep's event: closed, automatic, by the system.
func TestAutoCloseEventIsAutomatic(t *testing.T) {
	t.Parallel()
	s := start(t)
	js := s.jetStream(t)
	tk := s.ticketIn(t, stResolved)
	s.clock.Advance(s.cfg.AutoCloseAfter)
	// created, assigned, replied, resolved, then the sweep's closed.
	var closed *eventsv1.TicketClosed
	for _, ev := range s.events(t, js, 5) {
		if ev.subject == events.Subject("ticket", "closed") {
			require.Equal(t, tk.GetTicketId(), ev.meta.GetAggregateId())
			closed = &eventsv1.TicketClosed{}
			require.NoError(t, proto.Unmarshal(ev.data, closed))
		}
	}
	require.NotNil(t, closed, "the closed event is published")
	require.True(t, closed.GetAutomatic())
	require.Equal(t, intakev1.ActorKind_ACTOR_KIND_SYSTEM, closed.GetMeta().GetActor().GetKind())
	require.Equal(t, "auto-close", closed.GetMeta().GetActor().GetId())
}

// TestTwoReplicasKeepEachTicketsOrder runs two intake replicas on one database and NATS server and changes
// the same tickets through both at once: each replica's relay competes for the outbox partitions, and every
// ticket's events still reach the stream once each, in sequence order.
func TestTwoReplicasKeepEachTicketsOrder(t *testing.T) {
	t.Parallel()
	s := start(t)
	other := s.replica(t)
	js := s.jetStream(t)
	const tickets, notesPerReplica = 4, 5
	var ids []string
	for range tickets {
		ids = append(ids, s.submit(t, "busy ticket").GetTicketId())
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*tickets*notesPerReplica)
	for _, c := range []intakev1.IntakeServiceClient{s.client, other} {
		for _, id := range ids {
			wg.Go(func() {
				for range notesPerReplica {
					_, err := c.AddNote(staff(t), &intakev1.AddNoteRequest{TicketId: id, RequestId: key("n"), Text: "note"})
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	want := tickets * (1 + 2*notesPerReplica)
	got := s.events(t, js, want)
	require.Len(t, got, want)
	seqs := map[string][]int64{}
	for _, ev := range got {
		seqs[ev.meta.GetAggregateId()] = append(seqs[ev.meta.GetAggregateId()], ev.meta.GetAggregateSeq())
	}
	for _, id := range ids {
		require.Len(t, seqs[id], 1+2*notesPerReplica)
		for i, seq := range seqs[id] {
			require.Equal(t, int64(i+1), seq, "ticket %s out of order: %v", id, seqs[id])
		}
	}
}

// TestIntakeStartsWhileNATSIsDown starts intake with no NATS server running: it serves, accepts tickets, and
// once the server comes up creates the stream, publishes what waited in the outbox and consumes customer
// events.
func TestIntakeStartsWhileNATSIsDown(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := lis.Addr().(*net.TCPAddr).Port
	require.NoError(t, lis.Close())
	s := start(t, func(c *intake.Config) { c.NATSURL = fmt.Sprintf("nats://127.0.0.1:%d", port) })
	tk := s.submit(t, "submitted before NATS exists")

	ns, err := natsembed.Start(natsembed.Options{Port: port, StoreDir: t.TempDir()})
	require.NoError(t, err)
	t.Cleanup(ns.Shutdown)
	s.nats = ns
	got := s.events(t, s.jetStream(t), 1)
	require.Len(t, got, 1)
	require.Equal(t, tk.GetTicketId(), got[0].meta.GetAggregateId())

	duplicate, survivor := uuid.NewString(), uuid.NewString()
	req := s.submitReq("of a customer merged later")
	req.CustomerId = duplicate
	resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
	require.NoError(t, err)
	publish(t, s.customerEvents(t), customerEvent(t, "kefu.customer.merged", duplicate,
		&eventsv1.CustomerMerged{DuplicateId: duplicate, SurvivorId: survivor}))
	testkit.Eventually(t, func() bool { return s.ticket(t, resp.GetTicket().GetTicketId()).GetCustomerId() == survivor }, wait,
		"the customer events consumer runs once the stream exists")
}

// TestCreatedEventNamesComplaintTopics: the created event carries the complaint topics found in the
// customer's words (ids from the fixed lexicon), never the words, so analytics can rank them.
func TestCreatedEventNamesComplaintTopics(t *testing.T) {
	t.Parallel()
	s := start(t)
	js := s.jetStream(t)
	words := "快递三天了还没到，打电话给快递员，态度很差。我叫王小明，电话13800138000"
	s.submit(t, words)
	got := s.events(t, js, 1)
	require.Len(t, got, 1)
	created := &eventsv1.TicketCreated{}
	require.NoError(t, proto.Unmarshal(got[0].data, created))
	require.Equal(t, []string{"delivery_delay", "staff_attitude"}, created.GetTopics())
	for _, secret := range []string{"王小明", "13800138000", "快递三天了还没到"} {
		require.False(t, bytes.Contains(got[0].data, []byte(secret)), "the event carries %q", secret)
	}
}
