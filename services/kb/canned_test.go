package kb_test

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	kbv1 "kefu.dev/pkg/api/kefu/kb/v1"
	"kefu.dev/pkg/auth"
)

func TestCannedResponses(t *testing.T) {
	t.Parallel()
	s := start(t)
	sup := as(t.Context(), supervisor, auth.RoleSupervisor)
	create := func(group, title, body string) (*kbv1.CannedResponse, error) {
		resp, err := s.kb.CreateCannedResponse(sup, &kbv1.CreateCannedResponseRequest{IdempotencyKey: uuid.NewString(),
			CannedResponse: &kbv1.CannedResponse{GroupId: group, Title: title, Body: body}})
		return resp.GetCannedResponse(), err
	}
	ack, err := create(groupA, "受理确认", "您好，您的工单{{ticket_number}}（{{ subject }}）已受理，我们会尽快处理。")
	require.NoError(t, err)
	_, err = create(groupA, "催促回复", "请您补充订单号，以便我们核实。")
	require.NoError(t, err)
	_, err = create(groupB, "别组模板", "b")
	require.NoError(t, err)

	_, err = create(groupA, "坏模板", "您好，{{customer_name}}")
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, []string{"canned_response.body"}, badFields(err))
	require.ErrorContains(t, err, "customer_name")
	_, err = create("", "t", "b")
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, []string{"canned_response.group_id"}, badFields(err))

	list, err := s.kb.ListCannedResponses(agentIn(t.Context(), groupA), &kbv1.ListCannedResponsesRequest{GroupId: groupA, PageSize: 1})
	require.NoError(t, err)
	require.Len(t, list.GetCannedResponses(), 1)
	next, err := s.kb.ListCannedResponses(agentIn(t.Context(), groupA), &kbv1.ListCannedResponsesRequest{GroupId: groupA, PageSize: 1,
		PageToken: list.GetNextPageToken()})
	require.NoError(t, err)
	require.Len(t, next.GetCannedResponses(), 1)
	require.Empty(t, next.GetNextPageToken())
	require.ElementsMatch(t, []string{"受理确认", "催促回复"}, []string{list.GetCannedResponses()[0].GetTitle(), next.GetCannedResponses()[0].GetTitle()})

	tk := s.submit(t, intakev1.TicketType_TICKET_TYPE_REQUEST, "refund", "退款没到账", "退款一周了还没到账")
	s.assign(t, tk.GetTicketId(), groupA)
	r, err := s.kb.RenderCannedResponse(agentIn(t.Context(), groupA), &kbv1.RenderCannedResponseRequest{
		CannedResponseId: ack.GetCannedResponseId(), TicketId: tk.GetTicketId()})
	require.NoError(t, err)
	require.Equal(t, "您好，您的工单"+tk.GetNumber()+"（退款没到账）已受理，我们会尽快处理。", r.GetText())
	_, err = s.kb.RenderCannedResponse(agentIn(t.Context(), groupB), &kbv1.RenderCannedResponseRequest{
		CannedResponseId: ack.GetCannedResponseId(), TicketId: tk.GetTicketId()})
	requireCode(t, err, codes.NotFound)

	ack.Body = "工单{{ticket_number}}已收到。"
	up, err := s.kb.UpdateCannedResponse(sup, &kbv1.UpdateCannedResponseRequest{CannedResponse: ack, UpdateMask: mask("body")})
	require.NoError(t, err)
	require.Equal(t, "工单{{ticket_number}}已收到。", up.GetCannedResponse().GetBody())
	_, err = s.kb.UpdateCannedResponse(sup, &kbv1.UpdateCannedResponseRequest{CannedResponse: ack, UpdateMask: mask("body")})
	requireCode(t, err, codes.Aborted)
	bad := up.GetCannedResponse()
	bad.Body = "{{ticket_number"
	_, err = s.kb.UpdateCannedResponse(sup, &kbv1.UpdateCannedResponseRequest{CannedResponse: bad, UpdateMask: mask("body")})
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, []string{"canned_response.body"}, badFields(err))

	_, err = s.kb.DeleteCannedResponse(agentIn(t.Context(), groupA), &kbv1.DeleteCannedResponseRequest{CannedResponseId: ack.GetCannedResponseId()})
	requireCode(t, err, codes.PermissionDenied)
	_, err = s.kb.DeleteCannedResponse(sup, &kbv1.DeleteCannedResponseRequest{CannedResponseId: ack.GetCannedResponseId()})
	require.NoError(t, err)
	_, err = s.kb.GetCannedResponse(sup, &kbv1.GetCannedResponseRequest{CannedResponseId: ack.GetCannedResponseId()})
	requireCode(t, err, codes.NotFound)
	_, err = s.kb.DeleteCannedResponse(sup, &kbv1.DeleteCannedResponseRequest{CannedResponseId: ack.GetCannedResponseId()})
	requireCode(t, err, codes.NotFound)
}
