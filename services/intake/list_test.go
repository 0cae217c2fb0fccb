package intake_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
)

// listAll pages through a listing with page size n and returns the ticket ids in order.
func (s *stack) listAll(t *testing.T, req *intakev1.ListTicketsRequest, n int32) []string {
	t.Helper()
	req = proto.Clone(req).(*intakev1.ListTicketsRequest)
	req.PageSize = n
	var ids []string
	for range 100 {
		resp, err := s.client.ListTickets(staff(t), req)
		require.NoError(t, err)
		require.LessOrEqual(t, len(resp.GetTickets()), int(n))
		for _, tk := range resp.GetTickets() {
			ids = append(ids, tk.GetTicketId())
		}
		if resp.GetNextPageToken() == "" {
			return ids
		}
		req.PageToken = resp.GetNextPageToken()
	}
	t.Fatal("listing did not end")
	return nil
}

func TestListTickets(t *testing.T) {
	t.Parallel()
	s := start(t)
	customer := uuid.NewString()
	// Seven tickets a minute apart; the odd ones for one customer; two complaints (one critical).
	var created []*intakev1.Ticket
	for i := range 7 {
		req := s.submitReq(fmt.Sprintf("question number %d", i))
		if i%2 == 1 {
			req.CustomerId = customer
		}
		switch i {
		case 2:
			req.Description = "我要投诉"
		case 5:
			req.Description = "起火了 我要投诉"
		}
		resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
		require.NoError(t, err)
		created = append(created, resp.GetTicket())
		s.clock.Advance(time.Minute)
	}
	_, err := s.client.AssignTicket(staff(t), &intakev1.AssignTicketRequest{TicketId: created[3].GetTicketId(), GroupId: testGroupID, AssigneeId: testAgentID})
	require.NoError(t, err)
	ids := func(idx ...int) []string {
		var out []string
		for _, i := range idx {
			out = append(out, created[i].GetTicketId())
		}
		return out
	}

	tests := []struct {
		name string
		req  *intakev1.ListTicketsRequest
		want []string
	}{
		{"newest first by default", &intakev1.ListTicketsRequest{}, ids(6, 5, 4, 3, 2, 1, 0)},
		{"oldest first", &intakev1.ListTicketsRequest{OrderBy: "create_time"}, ids(0, 1, 2, 3, 4, 5, 6)},
		{"priority order puts P1 first, then oldest", &intakev1.ListTicketsRequest{OrderBy: "priority"}, ids(5, 2, 0, 1, 3, 4, 6)},
		{"by customer", &intakev1.ListTicketsRequest{CustomerId: customer}, ids(5, 3, 1)},
		{"by status", &intakev1.ListTicketsRequest{Statuses: []intakev1.TicketStatus{stAssigned}}, ids(3)},
		{"by several statuses", &intakev1.ListTicketsRequest{Statuses: []intakev1.TicketStatus{stAssigned, stNew}, OrderBy: "create_time"}, ids(0, 1, 2, 3, 4, 5, 6)},
		{"by type and level", &intakev1.ListTicketsRequest{Type: typComplaint, Level: intakev1.ComplaintLevel_COMPLAINT_LEVEL_L1}, ids(5)},
		{"by type and subcategory", &intakev1.ListTicketsRequest{Type: typComplaint, Subcategory: "service_attitude"}, ids(5, 2)},
		{"by urgency", &intakev1.ListTicketsRequest{Urgency: intakev1.Urgency_URGENCY_CRITICAL}, ids(5)},
		{"by group and assignee", &intakev1.ListTicketsRequest{GroupId: testGroupID, AssigneeId: testAgentID}, ids(3)},
		{"by channel", &intakev1.ListTicketsRequest{Channel: intakev1.Channel_CHANNEL_PHONE}, nil},
		{"by number", &intakev1.ListTicketsRequest{Number: created[4].GetNumber()}, ids(4)},
		{"by created range", &intakev1.ListTicketsRequest{CreatedAfter: timestamppb.New(testStart.Add(2 * time.Minute)),
			CreatedBefore: timestamppb.New(testStart.Add(4 * time.Minute)), OrderBy: "create_time"}, ids(2, 3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, size := range []int32{1, 2, 3, 50} {
				require.Equal(t, tc.want, s.listAll(t, tc.req, size), "page size %d", size)
			}
		})
	}

	t.Run("a page token with other filters is invalid", func(t *testing.T) {
		t.Parallel()
		resp, err := s.client.ListTickets(staff(t), &intakev1.ListTicketsRequest{PageSize: 2})
		require.NoError(t, err)
		_, err = s.client.ListTickets(staff(t), &intakev1.ListTicketsRequest{PageSize: 2, PageToken: resp.GetNextPageToken(), OrderBy: "priority"})
		requireCode(t, err, codes.InvalidArgument)
		require.Equal(t, []string{"page_token"}, badFields(err))
		_, err = s.client.ListTickets(staff(t), &intakev1.ListTicketsRequest{PageToken: "garbage!"})
		requireCode(t, err, codes.InvalidArgument)
	})
	t.Run("a page size above the maximum is coerced", func(t *testing.T) {
		t.Parallel()
		resp, err := s.client.ListTickets(staff(t), &intakev1.ListTicketsRequest{PageSize: 100000})
		require.NoError(t, err)
		require.Len(t, resp.GetTickets(), 7)
		_, err = s.client.ListTickets(staff(t), &intakev1.ListTicketsRequest{PageSize: -1})
		requireCode(t, err, codes.InvalidArgument)
	})
	t.Run("a group id that is not a UUID is invalid", func(t *testing.T) {
		t.Parallel()
		_, err := s.client.ListTickets(staff(t), &intakev1.ListTicketsRequest{GroupId: "logistics"})
		requireCode(t, err, codes.InvalidArgument)
		require.Equal(t, []string{"group_id"}, badFields(err))
	})
}

func TestListTimelinePages(t *testing.T) {
	t.Parallel()
	s := start(t)
	tk := s.ticketIn(t, stWorking) // created, assigned, replied
	for i := range 4 {
		_, err := s.client.AddNote(staff(t), &intakev1.AddNoteRequest{TicketId: tk.GetTicketId(), RequestId: key("n"), Text: fmt.Sprintf("note %d", i)})
		require.NoError(t, err)
	}
	var seqs []int64
	req := &intakev1.ListTimelineRequest{TicketId: tk.GetTicketId(), PageSize: 3}
	for {
		resp, err := s.client.ListTimeline(staff(t), req)
		require.NoError(t, err)
		for _, e := range resp.GetEntries() {
			seqs = append(seqs, e.GetSeq())
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	require.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7}, seqs, "oldest first, every entry once")

	other := s.submit(t, "another")
	_, err := s.client.ListTimeline(staff(t), &intakev1.ListTimelineRequest{TicketId: other.GetTicketId(), PageToken: req.GetPageToken()})
	requireCode(t, err, codes.InvalidArgument)
}
