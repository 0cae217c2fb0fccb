package devstack_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	notifyv1 "kefu.dev/pkg/api/kefu/notify/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/devstack"
)

// TestRepliesNameTheAgentFromRouting: in the whole suite, a template's {{agent_name}} is the replying
// agent's display name in routing (notify calls routing with its own key, as the dev stack wires it).
func TestRepliesNameTheAgentFromRouting(t *testing.T) {
	t.Parallel()
	a, cfg := startStackIn(t, t.TempDir())
	iss, err := devstack.LoadIssuer(cfg.DataDir)
	require.NoError(t, err)
	adminTok, err := iss.Mint(auth.StaffToken{Subject: "admin-1", Roles: []string{auth.RoleAdmin}})
	require.NoError(t, err)
	agentID := uuid.NewString()
	agentTok, err := iss.Mint(auth.StaffToken{Subject: agentID, Roles: []string{auth.RoleAgent}})
	require.NoError(t, err)
	dial := func(addr string) *grpc.ClientConn {
		cc, err := grpcx.Dial(addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = cc.Close() })
		return cc
	}
	admin, agent := bearer(t.Context(), adminTok), bearer(t.Context(), agentTok)
	routing := routingv1.NewRoutingServiceClient(dial(a.Routing))
	_, err = routing.CreateAgent(admin, &routingv1.CreateAgentRequest{RequestId: "agent-" + agentID,
		Agent: &routingv1.Agent{AgentId: agentID, DisplayName: "王芳", Capacity: 5}})
	require.NoError(t, err)
	notify := notifyv1.NewNotifyServiceClient(dial(a.Notify))
	_, err = notify.SetTemplate(admin, &notifyv1.SetTemplateRequest{Template: &notifyv1.Template{
		Kind: notifyv1.MessageKind_MESSAGE_KIND_AGENT_REPLY, Channel: intakev1.Channel_CHANNEL_APP, Language: "zh-CN",
		Body: "客服{{agent_name}}：{{body}}"}})
	require.NoError(t, err)

	key := adapterKey(t, a, cfg)
	intake := intakev1.NewIntakeServiceClient(dial(a.Intake))
	sub, err := intake.SubmitTicket(bearer(t.Context(), key), &intakev1.SubmitTicketRequest{IdempotencyKey: uuid.NewString(),
		Channel: intakev1.Channel_CHANNEL_APP, ReceivedTime: timestamppb.New(time.Now()), Description: "耳机没有声音"})
	require.NoError(t, err)
	id := sub.GetTicket().GetTicketId()
	_, err = intake.AssignTicket(admin, &intakev1.AssignTicketRequest{TicketId: id, AssigneeId: agentID})
	require.NoError(t, err)
	_, err = intake.AddReply(agent, &intakev1.AddReplyRequest{TicketId: id, RequestId: "r1", Text: "已为您换新"})
	require.NoError(t, err)
	testkit.Eventually(t, func() bool {
		resp, err := notify.ListMessages(admin, &notifyv1.ListMessagesRequest{TicketId: id})
		require.NoError(t, err)
		for _, m := range resp.GetMessages() {
			if m.GetKind() == notifyv1.MessageKind_MESSAGE_KIND_AGENT_REPLY {
				require.Equal(t, "客服王芳：已为您换新", m.GetBody())
				return true
			}
		}
		return false
	}, time.Minute, "the reply's message names the agent")
}
