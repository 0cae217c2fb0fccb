package intake_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/services/intake"
)

// TestIssueServiceKeyBootstrapsRoutingsKey: the key `intake issue-service-key --id routing` prints
// authenticates as service:routing, which reads and assigns tickets but does not submit them.
func TestIssueServiceKeyBootstrapsRoutingsKey(t *testing.T) {
	t.Parallel()
	s := start(t)
	tk := s.submit(t, "我的包裹丢了")
	text, err := intake.IssueServiceKey(t.Context(), s.cfg, "routing")
	require.NoError(t, err)
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+text)
	_, err = s.client.GetTicket(ctx, &intakev1.GetTicketRequest{TicketId: tk.GetTicketId()})
	require.NoError(t, err, "the new key authenticates as a service")
	_, err = s.client.AssignTicket(ctx, &intakev1.AssignTicketRequest{TicketId: tk.GetTicketId(), GroupId: testGroupID, AssigneeId: testAgentID})
	require.NoError(t, err)
	_, err = s.client.SubmitTicket(ctx, s.submitReq("a service does not submit for customers"))
	requireCode(t, err, codes.PermissionDenied)

	_, err = intake.IssueServiceKey(t.Context(), s.cfg, "Bad Name")
	require.Error(t, err)
}
