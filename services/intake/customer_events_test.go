package intake_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/intake"
)

// erasedMarker is what erased words read as (ticket.ErasedText, as the API documents it).
const erasedMarker = "[erased]"

// personal is everything personal one customer leaves on their tickets, each value unique to the
// customer so a search for it finds this customer's data and no one else's.
type personal struct {
	phone, email, wechat, member              string
	words, subject, fact, file, fileURL       string
	message, messageFile, messageURL, comment string
}

func personalData(tag, phone string) personal {
	return personal{
		phone:       phone,
		email:       strings.ToLower(tag) + ".li@example.com",
		wechat:      tag + "_wx_li",
		member:      tag + "-MEMBER-77",
		words:       tag + "WORDS 我的水壶漏水了",
		subject:     tag + "SUBJECT kettle",
		fact:        tag + "FACTVALUE",
		file:        tag + "FILE.jpg",
		fileURL:     "https://files.example.com/" + tag + "FILEURL.jpg",
		message:     tag + "MESSAGE 还没修好",
		messageFile: tag + "MSGFILE.png",
		messageURL:  "https://files.example.com/" + tag + "MSGURL.png",
		comment:     tag + "COMMENT 很好",
	}
}

// needles are the plaintexts an erasure of p (with the customer's words) must leave nowhere.
func (p personal) needles() []string {
	return []string{p.phone, p.email, p.wechat, p.member, p.words, p.subject, p.fact, p.file, p.fileURL,
		p.message, p.messageFile, p.messageURL, p.comment}
}

// customerTickets gives the customer three tickets that hold p in every place intake keeps a customer's
// data: a phone, an email and a WeChat contact (consented), the member number, the description (which
// also quotes the phone), an adapter subject, a key fact, an attachment, a customer message with an
// attachment, and a satisfaction comment; staff replies and resolves in between. It returns the tickets as
// they are then.
func (s *stack) customerTickets(t *testing.T, customer string, p personal) []*intakev1.Ticket {
	t.Helper()
	contacts := []*intakev1.Contact{
		{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: p.phone, Consent: true, ConsentPurpose: "service_follow_up"},
		{Kind: intakev1.ContactKind_CONTACT_KIND_EMAIL, Value: p.email, Consent: true, ConsentPurpose: "service_follow_up"},
		{Kind: intakev1.ContactKind_CONTACT_KIND_WECHAT, Value: p.wechat, Consent: true, ConsentPurpose: "service_follow_up"},
	}
	var out []*intakev1.Ticket
	for i, c := range contacts {
		req := s.submitReq(p.words + ", call " + p.phone)
		req.CustomerId, req.Contact, req.MemberNumber, req.OrderNumber = customer, c, p.member, fmt.Sprintf("SO-%d", i)
		if i == 1 {
			req.Subject = p.subject
		}
		req.KeyFacts = []*intakev1.KeyFact{{Name: "product", Value: p.fact}}
		req.Attachments = []*intakev1.Attachment{{Name: p.file, ContentType: "image/jpeg", SizeBytes: 1024, Url: p.fileURL}}
		resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
		require.NoError(t, err)
		id := resp.GetTicket().GetTicketId()
		_, err = s.client.AssignTicket(staff(t), &intakev1.AssignTicketRequest{TicketId: id, GroupId: testGroupID, AssigneeId: testAgentID})
		require.NoError(t, err)
		_, err = s.client.AddReply(staff(t), &intakev1.AddReplyRequest{TicketId: id, RequestId: key("r"), Text: "we are on it"})
		require.NoError(t, err)
		_, err = s.client.AppendCustomerMessage(as(t.Context(), adapterP), &intakev1.AppendCustomerMessageRequest{
			TicketId: id, RequestId: key("m"), Text: p.message + " " + p.email,
			Attachments: []*intakev1.Attachment{{Name: p.messageFile, ContentType: "image/png", SizeBytes: 2048, Url: p.messageURL}},
		})
		require.NoError(t, err)
		_, err = s.client.AddNote(staff(t), &intakev1.AddNoteRequest{TicketId: id, RequestId: key("n"), Text: "courier informed"})
		require.NoError(t, err)
		_, err = s.client.ResolveTicket(staff(t), &intakev1.ResolveTicketRequest{TicketId: id, ResolutionSummary: "kettle replaced"})
		require.NoError(t, err)
		got, err := s.client.RecordSatisfaction(staff(t), &intakev1.RecordSatisfactionRequest{TicketId: id,
			Rating: intakev1.Satisfaction_SATISFACTION_SATISFIED, Comment: p.comment})
		require.NoError(t, err)
		out = append(out, got.GetTicket())
	}
	return out
}

// customerEvents connects to the stack's NATS server and waits until intake has created the KEFU stream.
func (s *stack) customerEvents(t *testing.T) jetstream.JetStream {
	t.Helper()
	js := s.jetStream(t)
	testkit.EventuallyNoError(t, func() error {
		_, err := js.Stream(t.Context(), events.StreamName)
		return err
	}, wait)
	return js
}

// customerEvent is a customer service event as its outbox relay publishes it: the body with its meta, and
// the headers.
func customerEvent(t *testing.T, subject, customer string, body proto.Message) *nats.Msg {
	t.Helper()
	eventID := uuid.Must(uuid.NewV7()).String()
	typ := string(body.ProtoReflect().Descriptor().FullName())
	meta := &eventsv1.EventMeta{EventId: eventID, Type: typ, Source: "customer", AggregateId: customer, AggregateSeq: 2,
		OccurredAt: timestamppb.New(testStart), Actor: &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_STAFF, Id: "dpo-1"}}
	switch b := body.(type) {
	case *eventsv1.CustomerErased:
		b.Meta = meta
	case *eventsv1.CustomerMerged:
		b.Meta = meta
	default:
		t.Fatalf("no meta for %s", typ)
	}
	data, err := proto.Marshal(body)
	require.NoError(t, err)
	m := nats.NewMsg(subject)
	m.Data = data
	m.Header.Set(events.HeaderMsgID, eventID)
	m.Header.Set(events.HeaderType, typ)
	m.Header.Set(events.HeaderAggregateID, customer)
	m.Header.Set(events.HeaderSeq, "2")
	return m
}

// copyMsg is the same message again: subject, headers (so the same event id) and body.
func copyMsg(m *nats.Msg) *nats.Msg {
	c := nats.NewMsg(m.Subject)
	c.Data = m.Data
	for k, vs := range m.Header {
		c.Header[k] = append([]string(nil), vs...)
	}
	return c
}

func publish(t *testing.T, js jetstream.JetStream, m *nats.Msg) *jetstream.PubAck {
	t.Helper()
	ack, err := js.PublishMsg(t.Context(), m)
	require.NoError(t, err)
	return ack
}

// plaintextIn lists "table.column" for every text, jsonb, array or bytea column of every table in the
// intake schema (shared tables included: outbox, inbox, dead letters, idempotency keys, audit log) that
// holds needle, looking as the superuser so no grant hides a row. One query checks every column.
func plaintextIn(t *testing.T, adminURL, needle string) []string {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), adminURL)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	rows, err := conn.Query(t.Context(), `SELECT c.table_name, c.column_name, c.data_type
		FROM information_schema.columns c
		JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
		WHERE c.table_schema = 'intake' AND tb.table_type = 'BASE TABLE'
		  AND c.data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'ARRAY', 'bytea')
		ORDER BY 1, 2`)
	require.NoError(t, err)
	type column struct{ table, name, typ string }
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
		var c column
		return c, r.Scan(&c.table, &c.name, &c.typ)
	})
	require.NoError(t, err)
	require.Greater(t, len(cols), 20, "the search must cover the schema")
	var checks []string
	for _, c := range cols {
		table, col := pgx.Identifier{"intake", c.table}.Sanitize(), pgx.Identifier{c.name}.Sanitize()
		cond := `strpos(` + col + `::text, $1) > 0`
		if c.typ == "bytea" {
			cond = `position(convert_to($1, 'UTF8') in ` + col + `) > 0`
		}
		// Names come from the catalog, not from input; the needle is a parameter.
		checks = append(checks, `SELECT '`+c.table+"."+c.name+`' WHERE EXISTS (SELECT 1 FROM `+table+` WHERE `+cond+`)`)
	}
	rows, err = conn.Query(t.Context(), strings.Join(checks, "\nUNION ALL\n"), needle)
	require.NoError(t, err)
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return found
}

// snapshot renders every ticket and timeline row, to prove a second delivery changed nothing.
func (s *stack) snapshot(t *testing.T) string {
	t.Helper()
	var out string
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT
		(SELECT coalesce(string_agg(to_jsonb(x)::text, E'\n' ORDER BY x.ticket_id), '') FROM tickets x) || E'\n' ||
		(SELECT coalesce(string_agg(to_jsonb(e)::text, E'\n' ORDER BY e.entry_id), '') FROM timeline_entries e)`).Scan(&out))
	return out
}

func (s *stack) ticket(t *testing.T, id string) *intakev1.Ticket {
	t.Helper()
	resp, err := s.client.GetTicket(staff(t), &intakev1.GetTicketRequest{TicketId: id})
	require.NoError(t, err)
	return resp.GetTicket()
}

func (s *stack) timeline(t *testing.T, id string) []*intakev1.TimelineEntry {
	t.Helper()
	resp, err := s.client.ListTimeline(staff(t), &intakev1.ListTimelineRequest{TicketId: id})
	require.NoError(t, err)
	return resp.GetEntries()
}

// TestCustomerErasedRemovesTheirPersonalData publishes a real kefu.customer.erased (with the customer's
// words) for a customer with three tickets: intake's consumer erases every contact, member number,
// description, subject, key fact value, attachment name and url, customer message and satisfaction
// comment of theirs, so a search of every column of every table in the intake schema finds none of it;
// reads mark what was erased; staff text, another customer's tickets and every etag stay as they were; and
// the same event delivered again (after the stream's dedupe window, so through the inbox) changes nothing.
func TestCustomerErasedRemovesTheirPersonalData(t *testing.T) {
	t.Parallel()
	// The smallest dedupe window JetStream allows, so the test can deliver the same event id twice.
	s := start(t, func(c *intake.Config) { c.StreamDuplicates = 100 * time.Millisecond })
	js := s.customerEvents(t)
	erased, kept := uuid.NewString(), uuid.NewString()
	mine, other := personalData("GONE", "13900001111"), personalData("KEEP", "13800002222")
	before := s.customerTickets(t, erased, mine)
	otherBefore := s.customerTickets(t, kept, other)
	for _, needle := range mine.needles() {
		require.NotEmpty(t, plaintextIn(t, s.db.AdminURL, needle), "the search must find %q before the erasure, or it proves nothing", needle)
	}

	msg := customerEvent(t, "kefu.customer.erased", erased, &eventsv1.CustomerErased{EraseCustomerWords: true})
	first := publish(t, js, msg)
	testkit.Eventually(t, func() bool {
		for _, tk := range before {
			if s.ticket(t, tk.GetTicketId()).GetErasure() == nil {
				return false
			}
		}
		return true
	}, wait, "every ticket of the customer is erased")

	for _, needle := range mine.needles() {
		require.Empty(t, plaintextIn(t, s.db.AdminURL, needle), "%q survived the erasure", needle)
	}
	for _, was := range before {
		tk := s.ticket(t, was.GetTicketId())
		require.True(t, tk.GetErasure().GetCustomerWords())
		require.Equal(t, testStart, tk.GetErasure().GetEraseTime().AsTime())
		require.Nil(t, tk.GetContact())
		require.Empty(t, tk.GetMemberNumber())
		require.Equal(t, was.GetOrderNumber(), tk.GetOrderNumber(), "the order number is kept")
		require.Equal(t, erasedMarker, tk.GetDescription())
		require.Equal(t, erasedMarker, tk.GetSubject())
		require.Equal(t, erasedMarker, tk.GetKeyFacts()[0].GetValue())
		require.Equal(t, "product", tk.GetKeyFacts()[0].GetName())
		require.True(t, proto.Equal(&intakev1.Attachment{Name: erasedMarker, ContentType: "image/jpeg", SizeBytes: 1024}, tk.GetAttachments()[0]))
		require.Equal(t, erasedMarker, tk.GetSatisfaction().GetComment())
		require.Equal(t, intakev1.Satisfaction_SATISFACTION_SATISFIED, tk.GetSatisfaction().GetRating())
		require.Equal(t, was.GetEtag(), tk.GetEtag(), "no lifecycle change: the etag stays")
		require.Equal(t, was.GetUpdateTime().AsTime(), tk.GetUpdateTime().AsTime())
		require.Equal(t, erased, tk.GetCustomerId(), "the ticket keeps its reference to the erased stub")
		for _, e := range s.timeline(t, tk.GetTicketId()) {
			switch e.GetKind() {
			case intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_CUSTOMER_MESSAGE:
				require.True(t, e.GetErased())
				require.Equal(t, erasedMarker, e.GetText())
				require.True(t, proto.Equal(&intakev1.Attachment{Name: erasedMarker, ContentType: "image/png", SizeBytes: 2048}, e.GetAttachments()[0]))
			case intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_SATISFACTION:
				require.True(t, e.GetErased())
				require.Equal(t, erasedMarker, e.GetText())
			default:
				require.False(t, e.GetErased(), "%s entries are staff's or empty", e.GetKind())
			}
			if e.GetKind() == intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_AGENT_REPLY {
				require.Equal(t, "we are on it", e.GetText())
			}
		}
	}
	for _, needle := range other.needles() {
		require.NotEmpty(t, plaintextIn(t, s.db.AdminURL, needle), "another customer's %q was erased too", needle)
	}
	for _, was := range otherBefore {
		require.True(t, proto.Equal(was, s.ticket(t, was.GetTicketId())), "another customer's ticket changed")
	}

	// The same event again, once JetStream no longer dedupes its id: the consumer gets it, the inbox
	// knows it, nothing changes.
	snap := s.snapshot(t)
	var again *jetstream.PubAck
	testkit.Eventually(t, func() bool {
		again = publish(t, js, copyMsg(msg))
		return !again.Duplicate
	}, wait, "the stream stores the event id again after its dedupe window")
	require.Greater(t, again.Sequence, first.Sequence)
	testkit.EventuallyNoError(t, func() error {
		c, err := js.Consumer(t.Context(), events.StreamName, "intake-customer")
		if err != nil {
			return err
		}
		info, err := c.Info(t.Context())
		if err != nil {
			return err
		}
		if info.AckFloor.Stream < again.Sequence {
			return fmt.Errorf("consumer acknowledged up to %d, want %d", info.AckFloor.Stream, again.Sequence)
		}
		return nil
	}, wait)
	require.Equal(t, snap, s.snapshot(t), "the second delivery changed nothing")
	var inbox, parked int
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM inbox WHERE consumer = 'intake-customer'`).Scan(&inbox))
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM dead_letters`).Scan(&parked))
	require.Equal(t, 1, inbox, "one event, applied once")
	require.Zero(t, parked)
}

// TestCustomerErasedWithoutTheirWords removes only what reaches the customer: contacts and the member
// number. Their words stay, unmarked.
func TestCustomerErasedWithoutTheirWords(t *testing.T) {
	t.Parallel()
	s := start(t)
	js := s.customerEvents(t)
	customer := uuid.NewString()
	p := personalData("HALF", "13700003333")
	before := s.customerTickets(t, customer, p)

	publish(t, js, customerEvent(t, "kefu.customer.erased", customer, &eventsv1.CustomerErased{}))
	testkit.Eventually(t, func() bool {
		for _, tk := range before {
			if s.ticket(t, tk.GetTicketId()).GetErasure() == nil {
				return false
			}
		}
		return true
	}, wait, "every ticket of the customer is erased")

	// The words quote the phone (description and the subject made from it) and the email (a customer
	// message): kept as asked. Nowhere else.
	words := []string{"tickets.description", "tickets.subject", "timeline_entries.text"}
	for _, needle := range []string{p.phone, p.email, p.wechat, p.member} {
		for _, col := range plaintextIn(t, s.db.AdminURL, needle) {
			require.Contains(t, words, col, "%q survived the erasure in %s", needle, col)
		}
	}
	for _, was := range before {
		tk := s.ticket(t, was.GetTicketId())
		require.False(t, tk.GetErasure().GetCustomerWords())
		require.Nil(t, tk.GetContact())
		require.Empty(t, tk.GetMemberNumber())
		require.Equal(t, was.GetDescription(), tk.GetDescription())
		require.Equal(t, was.GetSubject(), tk.GetSubject())
		require.True(t, proto.Equal(was.GetAttachments()[0], tk.GetAttachments()[0]))
		require.Equal(t, p.comment, tk.GetSatisfaction().GetComment())
		require.Equal(t, was.GetEtag(), tk.GetEtag())
		for _, e := range s.timeline(t, tk.GetTicketId()) {
			require.False(t, e.GetErased())
			if e.GetKind() == intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_CUSTOMER_MESSAGE {
				require.Equal(t, p.message+" "+p.email, e.GetText(), "the customer's words stay, even where they quote a contact")
			}
		}
	}
}

// customerOf lists the ids of the tickets the API lists for a customer.
func (s *stack) customerOf(t *testing.T, customer string) []string {
	t.Helper()
	return s.listAll(t, &intakev1.ListTicketsRequest{CustomerId: customer}, 50)
}

// TestCustomerMergedMovesTheDuplicatesTickets publishes kefu.customer.merged: the duplicate's tickets
// move to the survivor, unchanged otherwise, and other customers' tickets stay. A merge onto a customer
// erased before (the merge event delivered late) erases the moved tickets too.
func TestCustomerMergedMovesTheDuplicatesTickets(t *testing.T) {
	t.Parallel()
	s := start(t)
	js := s.customerEvents(t)
	duplicate, survivor, other := uuid.NewString(), uuid.NewString(), uuid.NewString()
	var moved []*intakev1.Ticket
	for range 2 {
		req := s.submitReq("kettle broken")
		req.CustomerId = duplicate
		resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
		require.NoError(t, err)
		moved = append(moved, resp.GetTicket())
	}
	for _, c := range []string{survivor, other} {
		req := s.submitReq("kettle broken")
		req.CustomerId = c
		_, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
		require.NoError(t, err)
	}

	publish(t, js, customerEvent(t, "kefu.customer.merged", duplicate,
		&eventsv1.CustomerMerged{DuplicateId: duplicate, SurvivorId: survivor}))
	testkit.Eventually(t, func() bool { return len(s.customerOf(t, duplicate)) == 0 }, wait, "the duplicate keeps no ticket")
	require.Len(t, s.customerOf(t, survivor), 3)
	require.Len(t, s.customerOf(t, other), 1)
	for _, was := range moved {
		tk := s.ticket(t, was.GetTicketId())
		require.Equal(t, survivor, tk.GetCustomerId())
		require.Equal(t, was.GetEtag(), tk.GetEtag())
		require.Nil(t, tk.GetErasure())
	}

	t.Run("onto a customer erased before", func(t *testing.T) {
		late, erased := uuid.NewString(), uuid.NewString()
		req := s.submitReq("kettle broken, call 13600004444")
		req.CustomerId = late
		req.Contact = &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "13600004444", Consent: true,
			ConsentPurpose: "service_follow_up"}
		resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
		require.NoError(t, err)
		id := resp.GetTicket().GetTicketId()

		publish(t, js, customerEvent(t, "kefu.customer.erased", erased, &eventsv1.CustomerErased{EraseCustomerWords: true}))
		publish(t, js, customerEvent(t, "kefu.customer.merged", late, &eventsv1.CustomerMerged{DuplicateId: late, SurvivorId: erased}))
		testkit.Eventually(t, func() bool { return s.ticket(t, id).GetErasure() != nil }, wait, "the moved ticket is erased")
		tk := s.ticket(t, id)
		require.Equal(t, erased, tk.GetCustomerId())
		require.True(t, tk.GetErasure().GetCustomerWords())
		require.Nil(t, tk.GetContact())
		require.Empty(t, plaintextIn(t, s.db.AdminURL, "13600004444"))
	})
}

// TestAnUnusableCustomerEventIsParked parks an event that can never be applied (no customer id) in
// dead_letters at once, instead of retrying it, and goes on with the next.
func TestAnUnusableCustomerEventIsParked(t *testing.T) {
	t.Parallel()
	s := start(t)
	js := s.customerEvents(t)
	publish(t, js, customerEvent(t, "kefu.customer.erased", "not-a-customer", &eventsv1.CustomerErased{}))
	customer := uuid.NewString()
	req := s.submitReq("kettle broken")
	req.CustomerId = customer
	resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
	require.NoError(t, err)
	publish(t, js, customerEvent(t, "kefu.customer.erased", customer, &eventsv1.CustomerErased{}))

	testkit.Eventually(t, func() bool { return s.ticket(t, resp.GetTicket().GetTicketId()).GetErasure() != nil }, wait,
		"the next event is applied")
	var parked int
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM dead_letters WHERE consumer = 'intake-customer'
		AND subject = 'kefu.customer.erased' AND num_delivered = 1`).Scan(&parked))
	require.Equal(t, 1, parked)
}
