package intake_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/testkit"
)

const (
	stNew      = intakev1.TicketStatus_TICKET_STATUS_NEW
	stAssigned = intakev1.TicketStatus_TICKET_STATUS_ASSIGNED
	stWorking  = intakev1.TicketStatus_TICKET_STATUS_IN_PROGRESS
	stPending  = intakev1.TicketStatus_TICKET_STATUS_PENDING_CUSTOMER
	stResolved = intakev1.TicketStatus_TICKET_STATUS_RESOLVED
	stClosed   = intakev1.TicketStatus_TICKET_STATUS_CLOSED
	stArchived = intakev1.TicketStatus_TICKET_STATUS_ARCHIVED
)

var (
	testGroupID = uuid.MustParse("01890000-0000-7000-8000-000000000001").String()
	testAgentID = uuid.MustParse("01890000-0000-7000-8000-000000000002").String()
)

// staff is the context of a staff call.
func staff(t *testing.T) context.Context { return as(t.Context(), staffP) }

// ticketIn drives a new ticket through the API to status want. The ticket has a customer id and a handling
// record once past assigned, a resolution summary once resolved, and no satisfaction rating until it is
// archived, so every later step's preconditions but the rating hold.
func (s *stack) ticketIn(t *testing.T, want intakev1.TicketStatus) *intakev1.Ticket {
	t.Helper()
	req := s.submitReq("the kettle stopped working")
	req.CustomerId = uuid.NewString()
	resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
	require.NoError(t, err)
	tk := resp.GetTicket()
	id := tk.GetTicketId()
	step := func(got *intakev1.Ticket, err error) {
		t.Helper()
		require.NoError(t, err)
		tk = got
	}
	path := []struct {
		to intakev1.TicketStatus
		do func()
	}{
		{stAssigned, func() {
			r, err := s.client.AssignTicket(staff(t), &intakev1.AssignTicketRequest{TicketId: id, GroupId: testGroupID, AssigneeId: testAgentID})
			step(r.GetTicket(), err)
		}},
		{stWorking, func() {
			r, err := s.client.AddReply(staff(t), &intakev1.AddReplyRequest{TicketId: id, RequestId: key("reply"), Text: "we are on it"})
			step(r.GetTicket(), err)
		}},
		{stPending, func() {
			r, err := s.client.SetPendingCustomer(staff(t), &intakev1.SetPendingCustomerRequest{TicketId: id})
			step(r.GetTicket(), err)
		}},
		{stResolved, func() {
			r, err := s.client.ResolveTicket(staff(t), &intakev1.ResolveTicketRequest{TicketId: id, ResolutionSummary: "sent a new kettle"})
			step(r.GetTicket(), err)
		}},
		{stClosed, func() {
			r, err := s.client.CloseTicket(staff(t), &intakev1.CloseTicketRequest{TicketId: id})
			step(r.GetTicket(), err)
		}},
		{stArchived, func() {
			_, err := s.client.RecordSatisfaction(staff(t), &intakev1.RecordSatisfactionRequest{TicketId: id,
				Rating: intakev1.Satisfaction_SATISFACTION_SATISFIED})
			require.NoError(t, err)
			r, err := s.client.ArchiveTicket(staff(t), &intakev1.ArchiveTicketRequest{TicketId: id})
			step(r.GetTicket(), err)
		}},
	}
	for _, p := range path {
		if tk.GetStatus() == want {
			break
		}
		if p.to == stPending && want != stPending {
			continue // resolve straight from in_progress
		}
		p.do()
		require.Equal(t, p.to, tk.GetStatus())
	}
	require.Equal(t, want, tk.GetStatus())
	return tk
}

// action is one lifecycle RPC, returning the ticket's status afterwards.
type action struct {
	name string
	call func(t *testing.T, s *stack, id string) (intakev1.TicketStatus, error)
}

var actions = []action{
	{"assign", func(t *testing.T, s *stack, id string) (intakev1.TicketStatus, error) {
		r, err := s.client.AssignTicket(staff(t), &intakev1.AssignTicketRequest{TicketId: id, AssigneeId: uuid.NewString()})
		return r.GetTicket().GetStatus(), err
	}},
	{"start work", func(t *testing.T, s *stack, id string) (intakev1.TicketStatus, error) {
		r, err := s.client.StartWork(staff(t), &intakev1.StartWorkRequest{TicketId: id})
		return r.GetTicket().GetStatus(), err
	}},
	{"set pending customer", func(t *testing.T, s *stack, id string) (intakev1.TicketStatus, error) {
		r, err := s.client.SetPendingCustomer(staff(t), &intakev1.SetPendingCustomerRequest{TicketId: id})
		return r.GetTicket().GetStatus(), err
	}},
	{"reply", func(t *testing.T, s *stack, id string) (intakev1.TicketStatus, error) {
		r, err := s.client.AddReply(staff(t), &intakev1.AddReplyRequest{TicketId: id, RequestId: key("r"), Text: "hi"})
		return r.GetTicket().GetStatus(), err
	}},
	{"add note", func(t *testing.T, s *stack, id string) (intakev1.TicketStatus, error) {
		r, err := s.client.AddNote(staff(t), &intakev1.AddNoteRequest{TicketId: id, RequestId: key("n"), Text: "note"})
		return r.GetTicket().GetStatus(), err
	}},
	{"append customer message", func(t *testing.T, s *stack, id string) (intakev1.TicketStatus, error) {
		r, err := s.client.AppendCustomerMessage(as(t.Context(), adapterP), &intakev1.AppendCustomerMessageRequest{
			TicketId: id, RequestId: key("m"), Text: "any news?"})
		return r.GetTicket().GetStatus(), err
	}},
	{"escalate", func(t *testing.T, s *stack, id string) (intakev1.TicketStatus, error) {
		r, err := s.client.EscalateTicket(staff(t), &intakev1.EscalateTicketRequest{TicketId: id, Reason: "VIP"})
		return r.GetTicket().GetStatus(), err
	}},
	{"resolve", func(t *testing.T, s *stack, id string) (intakev1.TicketStatus, error) {
		r, err := s.client.ResolveTicket(staff(t), &intakev1.ResolveTicketRequest{TicketId: id, ResolutionSummary: "done"})
		return r.GetTicket().GetStatus(), err
	}},
	{"close", func(t *testing.T, s *stack, id string) (intakev1.TicketStatus, error) {
		r, err := s.client.CloseTicket(staff(t), &intakev1.CloseTicketRequest{TicketId: id})
		return r.GetTicket().GetStatus(), err
	}},
	{"reopen", func(t *testing.T, s *stack, id string) (intakev1.TicketStatus, error) {
		r, err := s.client.ReopenTicket(staff(t), &intakev1.ReopenTicketRequest{TicketId: id, Reason: "still broken"})
		return r.GetTicket().GetStatus(), err
	}},
	{"rate", func(t *testing.T, s *stack, id string) (intakev1.TicketStatus, error) {
		r, err := s.client.RecordSatisfaction(staff(t), &intakev1.RecordSatisfactionRequest{TicketId: id,
			Rating: intakev1.Satisfaction_SATISFACTION_NEUTRAL})
		return r.GetTicket().GetStatus(), err
	}},
	{"archive", func(t *testing.T, s *stack, id string) (intakev1.TicketStatus, error) {
		r, err := s.client.ArchiveTicket(staff(t), &intakev1.ArchiveTicketRequest{TicketId: id})
		return r.GetTicket().GetStatus(), err
	}},
	{"reclassify", func(t *testing.T, s *stack, id string) (intakev1.TicketStatus, error) {
		got, err := s.client.GetTicket(staff(t), &intakev1.GetTicketRequest{TicketId: id})
		if err != nil {
			return 0, err
		}
		r, err := s.client.UpdateTicket(staff(t), &intakev1.UpdateTicketRequest{
			Ticket:     &intakev1.Ticket{TicketId: id, Etag: got.GetTicket().GetEtag(), Urgency: intakev1.Urgency_URGENCY_URGENT},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"urgency"}},
		})
		return r.GetTicket().GetStatus(), err
	}},
}

// TestLifecycle runs every action in every status through the API. A legal move lands in the expected
// status; an illegal one is FailedPrecondition TICKET_ILLEGAL_TRANSITION naming the current state and
// changes nothing.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	s := start(t)
	all := []intakev1.TicketStatus{stNew, stAssigned, stWorking, stPending, stResolved, stClosed, stArchived}
	// legal[action][from] = status after the action; absent means illegal.
	legal := map[string]map[intakev1.TicketStatus]intakev1.TicketStatus{
		"assign":                  {stNew: stAssigned, stAssigned: stAssigned, stWorking: stWorking, stPending: stPending},
		"start work":              {stAssigned: stWorking},
		"set pending customer":    {stWorking: stPending},
		"reply":                   {stAssigned: stWorking, stWorking: stWorking, stPending: stPending},
		"add note":                {stNew: stNew, stAssigned: stAssigned, stWorking: stWorking, stPending: stPending, stResolved: stResolved, stClosed: stClosed},
		"append customer message": {stNew: stNew, stAssigned: stAssigned, stWorking: stWorking, stPending: stWorking},
		"escalate":                {stNew: stNew, stAssigned: stAssigned, stWorking: stWorking, stPending: stPending},
		"resolve":                 {stWorking: stResolved, stPending: stResolved},
		"close":                   {stResolved: stClosed},
		"reopen":                  {stResolved: stWorking, stClosed: stWorking},
		"rate":                    {stResolved: stResolved, stClosed: stClosed},
		"archive":                 {}, // closed is legal but incomplete without a rating: see TestArchiveCompleteness
		"reclassify":              {stNew: stNew, stAssigned: stAssigned, stWorking: stWorking, stPending: stPending, stResolved: stResolved, stClosed: stClosed},
	}
	for _, a := range actions {
		for _, from := range all {
			to, ok := legal[a.name][from]
			name := a.name + " from " + from.String()
			if ok {
				name += " moves to " + to.String()
			} else {
				name += " is refused"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				tk := s.ticketIn(t, from)
				got, err := a.call(t, s, tk.GetTicketId())
				after, gerr := s.client.GetTicket(staff(t), &intakev1.GetTicketRequest{TicketId: tk.GetTicketId()})
				require.NoError(t, gerr)
				if ok {
					require.NoError(t, err)
					require.Equal(t, to, got)
					require.Equal(t, to, after.GetTicket().GetStatus())
					return
				}
				if a.name == "archive" && from == stClosed {
					requireCode(t, err, codes.FailedPrecondition)
					require.Equal(t, "TICKET_ARCHIVE_INCOMPLETE", errorInfo(err).GetReason())
				} else {
					st := requireCode(t, err, codes.FailedPrecondition)
					info := errorInfo(err)
					require.Equal(t, "TICKET_ILLEGAL_TRANSITION", info.GetReason())
					require.Equal(t, "kefu", info.GetDomain())
					name := map[intakev1.TicketStatus]string{stNew: "new", stAssigned: "assigned", stWorking: "in_progress",
						stPending: "pending_customer", stResolved: "resolved", stClosed: "closed", stArchived: "archived"}[from]
					require.Equal(t, name, info.GetMetadata()["current_state"])
					require.Contains(t, st.Message(), name)
				}
				require.Equal(t, tk.GetEtag(), after.GetTicket().GetEtag(), "a refused action changes nothing")
			})
		}
	}
}

// TestArchiveCompleteness archives only a complete ticket and otherwise lists every missing item. Through
// the API a closed ticket always has a resolution summary (resolving requires one), so at most three items
// can be missing here; the domain's tests cover all four.
func TestArchiveCompleteness(t *testing.T) {
	t.Parallel()
	s := start(t)
	// A closed ticket with no customer, no handling record and no rating.
	tk := s.submit(t, "hello")
	id := tk.GetTicketId()
	_, err := s.client.AssignTicket(staff(t), &intakev1.AssignTicketRequest{TicketId: id, AssigneeId: testAgentID})
	require.NoError(t, err)
	_, err = s.client.StartWork(staff(t), &intakev1.StartWorkRequest{TicketId: id})
	require.NoError(t, err)
	_, err = s.client.ResolveTicket(staff(t), &intakev1.ResolveTicketRequest{TicketId: id, ResolutionSummary: "  "})
	requireCode(t, err, codes.InvalidArgument) // a blank summary is no summary
	_, err = s.client.ResolveTicket(staff(t), &intakev1.ResolveTicketRequest{TicketId: id, ResolutionSummary: "fixed"})
	require.NoError(t, err)
	_, err = s.client.CloseTicket(staff(t), &intakev1.CloseTicketRequest{TicketId: id})
	require.NoError(t, err)

	_, err = s.client.ArchiveTicket(staff(t), &intakev1.ArchiveTicketRequest{TicketId: id})
	requireCode(t, err, codes.FailedPrecondition)
	require.Equal(t, "TICKET_ARCHIVE_INCOMPLETE", errorInfo(err).GetReason())
	require.ElementsMatch(t, []string{"CUSTOMER_IDENTIFIED", "HANDLING_RECORD", "SATISFACTION"}, preconditions(err),
		"the summary exists; every other missing item is listed")

	// Fix everything but the rating: only it is listed.
	_, err = s.client.AddNote(staff(t), &intakev1.AddNoteRequest{TicketId: id, RequestId: key("n"), Text: "customer called back; id verified"})
	require.NoError(t, err)
	_, err = s.client.ArchiveTicket(staff(t), &intakev1.ArchiveTicketRequest{TicketId: id})
	require.ElementsMatch(t, []string{"CUSTOMER_IDENTIFIED", "SATISFACTION"}, preconditions(err))

	// The waiver satisfies the rating; the customer stays unidentified.
	_, err = s.client.RecordSatisfaction(staff(t), &intakev1.RecordSatisfactionRequest{TicketId: id, CustomerUnreachable: true})
	require.NoError(t, err)
	_, err = s.client.ArchiveTicket(staff(t), &intakev1.ArchiveTicketRequest{TicketId: id})
	require.Equal(t, []string{"CUSTOMER_IDENTIFIED"}, preconditions(err))

	// A complete ticket archives.
	done := s.ticketIn(t, stArchived)
	require.NotNil(t, done.GetArchiveTime())
}

// preconditions returns the types of a PreconditionFailure detail.
func preconditions(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if pf, ok := d.(*errdetails.PreconditionFailure); ok {
			for _, v := range pf.GetViolations() {
				out = append(out, v.GetType())
			}
		}
	}
	return out
}

// TestRetriedReplyAddsOneEntry proves request ids: the same reply sent again (also concurrently) adds one
// timeline entry and returns it; the same id with another text is AlreadyExists.
func TestRetriedReplyAddsOneEntry(t *testing.T) {
	t.Parallel()
	s := start(t)
	tk := s.ticketIn(t, stAssigned)
	req := &intakev1.AddReplyRequest{TicketId: tk.GetTicketId(), RequestId: key("reply"), Text: "we will call you"}
	const n = 10
	entries := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := s.client.AddReply(staff(t), req)
			if err == nil {
				entries[i] = r.GetEntry().GetEntryId()
			}
		})
	}
	wg.Wait()
	for i := range n {
		require.NotEmpty(t, entries[i], "call %d failed", i)
		require.Equal(t, entries[0], entries[i])
	}
	tl, err := s.client.ListTimeline(staff(t), &intakev1.ListTimelineRequest{TicketId: tk.GetTicketId()})
	require.NoError(t, err)
	replies := 0
	for _, e := range tl.GetEntries() {
		if e.GetKind() == intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_AGENT_REPLY {
			replies++
			require.Equal(t, entries[0], e.GetEntryId())
			require.Equal(t, intakev1.Channel_CHANNEL_WEB_CHAT, e.GetChannel(), "the customer's channel by default")
		}
	}
	require.Equal(t, 1, replies)

	other := &intakev1.AddReplyRequest{TicketId: tk.GetTicketId(), RequestId: req.GetRequestId(), Text: "different"}
	_, err = s.client.AddReply(staff(t), other)
	requireCode(t, err, codes.AlreadyExists)
	require.Equal(t, "IDEMPOTENCY_KEY_REUSED", errorInfo(err).GetReason())
}

func TestRetriedTransitionChangesNothing(t *testing.T) {
	t.Parallel()
	s := start(t)
	tk := s.ticketIn(t, stWorking)
	req := &intakev1.ResolveTicketRequest{TicketId: tk.GetTicketId(), ResolutionSummary: "done", RequestId: key("resolve")}
	first, err := s.client.ResolveTicket(staff(t), req)
	require.NoError(t, err)
	again, err := s.client.ResolveTicket(staff(t), req)
	require.NoError(t, err, "a retry is not an illegal transition")
	require.Equal(t, first.GetTicket().GetEtag(), again.GetTicket().GetEtag())
	require.Equal(t, int32(1), again.GetTicket().GetResolutionCount())
}

func TestUpdateTicket(t *testing.T) {
	t.Parallel()
	s := start(t)
	tk := s.submit(t, "where is my parcel")
	require.Equal(t, intakev1.TicketType_TICKET_TYPE_INQUIRY, tk.GetType())
	mask := func(p ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: p} }

	resp, err := s.client.UpdateTicket(staff(t), &intakev1.UpdateTicketRequest{
		Ticket: &intakev1.Ticket{TicketId: tk.GetTicketId(), Etag: tk.GetEtag(), Type: intakev1.TicketType_TICKET_TYPE_COMPLAINT,
			Subcategory: "logistics", Level: intakev1.ComplaintLevel_COMPLAINT_LEVEL_L2},
		UpdateMask: mask("type", "subcategory", "level"),
	})
	require.NoError(t, err)
	got := resp.GetTicket()
	require.Equal(t, intakev1.TicketType_TICKET_TYPE_COMPLAINT, got.GetType())
	require.Equal(t, "logistics", got.GetSubcategory())
	require.Equal(t, intakev1.Priority_PRIORITY_P2, got.GetPriority())
	require.Equal(t, intakev1.ClassificationSource_CLASSIFICATION_SOURCE_STAFF, got.GetClassificationSource())
	require.NotEqual(t, tk.GetEtag(), got.GetEtag())

	t.Run("a stale etag is aborted", func(t *testing.T) {
		_, err := s.client.UpdateTicket(staff(t), &intakev1.UpdateTicketRequest{
			Ticket:     &intakev1.Ticket{TicketId: tk.GetTicketId(), Etag: tk.GetEtag(), Urgency: intakev1.Urgency_URGENCY_CRITICAL},
			UpdateMask: mask("urgency"),
		})
		requireCode(t, err, codes.Aborted)
		require.Equal(t, "ETAG_MISMATCH", errorInfo(err).GetReason())
	})
	t.Run("only output-only paths: nothing to update", func(t *testing.T) {
		_, err := s.client.UpdateTicket(staff(t), &intakev1.UpdateTicketRequest{
			Ticket: &intakev1.Ticket{TicketId: tk.GetTicketId(), Etag: got.GetEtag()}, UpdateMask: mask("status"),
		})
		requireCode(t, err, codes.InvalidArgument)
		require.Equal(t, []string{"update_mask"}, badFields(err))
	})
	t.Run("a path that is no field is invalid", func(t *testing.T) {
		_, err := s.client.UpdateTicket(staff(t), &intakev1.UpdateTicketRequest{
			Ticket:     &intakev1.Ticket{TicketId: tk.GetTicketId(), Etag: got.GetEtag(), Urgency: intakev1.Urgency_URGENCY_URGENT},
			UpdateMask: mask("urgency", "colour"),
		})
		requireCode(t, err, codes.InvalidArgument)
		require.Equal(t, []string{"update_mask"}, badFields(err))
	})
	t.Run("output-only fields set by the caller are ignored, never stored", func(t *testing.T) {
		resp, err := s.client.UpdateTicket(staff(t), &intakev1.UpdateTicketRequest{
			Ticket: &intakev1.Ticket{TicketId: tk.GetTicketId(), Etag: got.GetEtag(), Urgency: intakev1.Urgency_URGENCY_URGENT,
				Number: "GD209901010001", Status: intakev1.TicketStatus_TICKET_STATUS_ARCHIVED, EscalationLevel: 9,
				CreateTime: timestamppb.New(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)), ResolutionCount: 5},
			UpdateMask: mask("urgency", "number", "status", "escalation_level", "create_time", "resolution_count"),
		})
		require.NoError(t, err)
		after := resp.GetTicket()
		require.Equal(t, intakev1.Urgency_URGENCY_URGENT, after.GetUrgency(), "the updatable field changed")
		require.Equal(t, got.GetNumber(), after.GetNumber())
		require.Equal(t, got.GetStatus(), after.GetStatus())
		require.Equal(t, got.GetEscalationLevel(), after.GetEscalationLevel())
		require.Equal(t, got.GetResolutionCount(), after.GetResolutionCount())
		require.True(t, got.GetCreateTime().AsTime().Equal(after.GetCreateTime().AsTime()))
		stored, err := s.client.GetTicket(staff(t), &intakev1.GetTicketRequest{TicketId: tk.GetTicketId()})
		require.NoError(t, err)
		require.Equal(t, got.GetNumber(), stored.GetTicket().GetNumber())
		require.Equal(t, got.GetStatus(), stored.GetTicket().GetStatus())
		got = after
	})
	t.Run("a level on a non-complaint names the field in the request", func(t *testing.T) {
		_, err := s.client.UpdateTicket(staff(t), &intakev1.UpdateTicketRequest{
			Ticket: &intakev1.Ticket{TicketId: tk.GetTicketId(), Etag: got.GetEtag(), Type: intakev1.TicketType_TICKET_TYPE_INQUIRY,
				Level: intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1},
			UpdateMask: mask("type", "level"),
		})
		requireCode(t, err, codes.InvalidArgument)
		require.Equal(t, []string{"ticket.level"}, badFields(err))
	})
}

func TestUnknownTicketIsNotFound(t *testing.T) {
	t.Parallel()
	s := start(t)
	id := uuid.NewString()
	_, err := s.client.GetTicket(staff(t), &intakev1.GetTicketRequest{TicketId: id})
	requireCode(t, err, codes.NotFound)
	var info *errdetails.ResourceInfo
	for _, d := range status.Convert(err).Details() {
		if ri, ok := d.(*errdetails.ResourceInfo); ok {
			info = ri
		}
	}
	require.NotNil(t, info)
	require.Equal(t, id, info.GetResourceName())
	_, err = s.client.ResolveTicket(staff(t), &intakev1.ResolveTicketRequest{TicketId: id, ResolutionSummary: "x"})
	requireCode(t, err, codes.NotFound)
	_, err = s.client.ListTimeline(staff(t), &intakev1.ListTimelineRequest{TicketId: id})
	requireCode(t, err, codes.NotFound)
}

// TestAutoClose moves the fake clock: a resolved ticket closes by itself once AutoCloseAfter has passed
// since its resolution, and not before. Ticket b is resolved two hours after a, so when the sweep closes a
// it has seen b too, still too young.
func TestAutoClose(t *testing.T) {
	t.Parallel()
	s := start(t)
	a := s.ticketIn(t, stResolved)
	s.clock.Advance(2 * time.Hour)
	b := s.ticketIn(t, stResolved)

	s.clock.Advance(71 * time.Hour) // a resolved 73 h ago, b 71 h ago
	statusOf := func(id string) intakev1.TicketStatus {
		r, err := s.client.GetTicket(staff(t), &intakev1.GetTicketRequest{TicketId: id})
		require.NoError(t, err)
		return r.GetTicket().GetStatus()
	}
	testkit.Eventually(t, func() bool { return statusOf(a.GetTicketId()) == stClosed }, wait, "a closes after 72 h")
	require.Equal(t, stResolved, statusOf(b.GetTicketId()), "b is not due yet")

	s.clock.Advance(2 * time.Hour)
	testkit.Eventually(t, func() bool { return statusOf(b.GetTicketId()) == stClosed }, wait, "b closes after 72 h")

	tl, err := s.client.ListTimeline(staff(t), &intakev1.ListTimelineRequest{TicketId: a.GetTicketId()})
	require.NoError(t, err)
	last := tl.GetEntries()[len(tl.GetEntries())-1]
	require.Equal(t, intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_STATUS_CHANGE, last.GetKind())
	require.Equal(t, intakev1.ActorKind_ACTOR_KIND_SYSTEM, last.GetActor().GetKind())
	require.Equal(t, stClosed, last.GetToStatus())
}

func TestReopenReturnsToTheAgentWithTheReason(t *testing.T) {
	t.Parallel()
	s := start(t)
	tk := s.ticketIn(t, stClosed)
	r, err := s.client.ReopenTicket(staff(t), &intakev1.ReopenTicketRequest{TicketId: tk.GetTicketId(), Reason: "broke again"})
	require.NoError(t, err)
	require.Equal(t, stWorking, r.GetTicket().GetStatus())
	require.Equal(t, testAgentID, r.GetTicket().GetAssigneeId())
	require.Nil(t, r.GetTicket().GetCloseTime())
	tl, err := s.client.ListTimeline(staff(t), &intakev1.ListTimelineRequest{TicketId: tk.GetTicketId()})
	require.NoError(t, err)
	last := tl.GetEntries()[len(tl.GetEntries())-1]
	require.Equal(t, intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_REOPEN, last.GetKind())
	require.Equal(t, "broke again", last.GetText())

	// The new resolution may be rated again; the first rating belonged to the first resolution.
	_, err = s.client.ResolveTicket(staff(t), &intakev1.ResolveTicketRequest{TicketId: tk.GetTicketId(), ResolutionSummary: "replaced"})
	require.NoError(t, err)
	rate := &intakev1.RecordSatisfactionRequest{TicketId: tk.GetTicketId(), Rating: intakev1.Satisfaction_SATISFACTION_SATISFIED}
	rated, err := s.client.RecordSatisfaction(staff(t), rate)
	require.NoError(t, err)
	require.Equal(t, int32(2), rated.GetTicket().GetSatisfaction().GetResolutionNumber())
	_, err = s.client.RecordSatisfaction(staff(t), rate)
	requireCode(t, err, codes.FailedPrecondition)
	require.Equal(t, "SATISFACTION_ALREADY_RECORDED", errorInfo(err).GetReason())
}
