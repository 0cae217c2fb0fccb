package intake_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/grpcx"
)

// TestCallsAreAudited: a submit (recorded in its own transaction), a personal-data read, a refused call
// and a failed transition each leave exactly one record with who, what, which object and the result, and
// an auditor reads them through AuditService.
func TestCallsAreAudited(t *testing.T) {
	t.Parallel()
	s := start(t)
	tk := s.submit(t, "我的包裹丢了")
	_, err := s.client.GetTicket(as(t.Context(), staffP), &intakev1.GetTicketRequest{TicketId: tk.GetTicketId()})
	require.NoError(t, err)
	_, err = s.client.ListTickets(as(t.Context(), adapterP), &intakev1.ListTicketsRequest{})
	requireCode(t, err, codes.PermissionDenied)
	_, err = s.client.ResolveTicket(as(t.Context(), staffP), &intakev1.ResolveTicketRequest{TicketId: tk.GetTicketId(), ResolutionSummary: "done"})
	requireCode(t, err, codes.FailedPrecondition)

	cc, err := grpcx.Dial(s.grpcAddr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	audits := authv1.NewAuditServiceClient(cc)
	list := func(f *authv1.ListAuditRecordsRequest) []*authv1.AuditRecord {
		resp, err := audits.ListAuditRecords(as(t.Context(), staffP), f)
		require.NoError(t, err)
		return resp.GetRecords()
	}
	webKeyID, _, err := auth.ParseAPIKey(creds().Key(adapterP))
	require.NoError(t, err)

	submits := list(&authv1.ListAuditRecordsRequest{Method: intakev1.IntakeService_SubmitTicket_FullMethodName})
	require.Len(t, submits, 1, "one record per submit, written with the ticket")
	require.Equal(t, adapterP, submits[0].GetPrincipal())
	require.Equal(t, webKeyID, submits[0].GetKeyId())
	require.Equal(t, "ticket", submits[0].GetObjectType())
	require.Equal(t, tk.GetTicketId(), submits[0].GetObjectId())
	require.Equal(t, "OK", submits[0].GetResult())
	require.Equal(t, authv1.AuditKind_AUDIT_KIND_CHANGE, submits[0].GetKind())

	reads := list(&authv1.ListAuditRecordsRequest{Method: intakev1.IntakeService_GetTicket_FullMethodName})
	require.Len(t, reads, 1)
	require.Equal(t, authv1.AuditKind_AUDIT_KIND_PERSONAL_DATA_READ, reads[0].GetKind())
	require.Equal(t, staffP, reads[0].GetPrincipal())

	denied := list(&authv1.ListAuditRecordsRequest{Result: "PERMISSION_DENIED"})
	require.Len(t, denied, 1)
	require.Equal(t, intakev1.IntakeService_ListTickets_FullMethodName, denied[0].GetMethod())
	require.Equal(t, adapterP, denied[0].GetPrincipal())

	failed := list(&authv1.ListAuditRecordsRequest{ObjectId: tk.GetTicketId(), Result: "FAILED_PRECONDITION"})
	require.Len(t, failed, 1)
	require.Equal(t, intakev1.IntakeService_ResolveTicket_FullMethodName, failed[0].GetMethod())

	_, err = audits.ListAuditRecords(as(t.Context(), adapterP), &authv1.ListAuditRecordsRequest{})
	requireCode(t, err, codes.PermissionDenied)
}

// TestAServiceActsForAStaffMember: a service that forwards the staff member's token gets the work
// attributed to them (timeline and audit), verified, never taken from a plain header.
func TestAServiceActsForAStaffMember(t *testing.T) {
	t.Parallel()
	s := start(t)
	tk := s.submit(t, "需要人工跟进")
	staffTok := strings.TrimPrefix(metadata.ValueFromOutgoingContext(as(t.Context(), "staff:agent-9"), "authorization")[0], "Bearer ")
	forward := func(ctx context.Context, cred string) context.Context {
		return metadata.AppendToOutgoingContext(ctx, auth.ForwardedAuthorizationKey, "Bearer "+cred)
	}
	routing := as(t.Context(), "service:routing")

	_, err := s.client.AddNote(forward(routing, staffTok), &intakev1.AddNoteRequest{TicketId: tk.GetTicketId(), RequestId: "n1", Text: "called the courier"})
	require.NoError(t, err)
	tl, err := s.client.ListTimeline(as(t.Context(), staffP), &intakev1.ListTimelineRequest{TicketId: tk.GetTicketId()})
	require.NoError(t, err)
	last := tl.GetEntries()[len(tl.GetEntries())-1]
	require.Equal(t, "agent-9", last.GetActor().GetId(), "the note is the staff member's")

	cc, err := grpcx.Dial(s.grpcAddr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	recs, err := authv1.NewAuditServiceClient(cc).ListAuditRecords(as(t.Context(), staffP), &authv1.ListAuditRecordsRequest{
		Method: intakev1.IntakeService_AddNote_FullMethodName})
	require.NoError(t, err)
	require.Len(t, recs.GetRecords(), 1)
	require.Equal(t, "service:routing", recs.GetRecords()[0].GetPrincipal())
	require.Equal(t, "staff:agent-9", recs.GetRecords()[0].GetOnBehalfOf())

	for name, tc := range map[string]struct {
		ctx  context.Context
		code codes.Code
	}{
		"a staff member may not speak for another":   {forward(as(t.Context(), staffP), staffTok), codes.PermissionDenied},
		"an adapter may not either":                  {forward(as(t.Context(), adapterP), staffTok), codes.PermissionDenied},
		"a forged forwarded token":                   {forward(routing, staffTok+"x"), codes.Unauthenticated},
		"an API key is no staff member's credential": {forward(routing, creds().Key(adapterP)), codes.Unauthenticated},
	} {
		_, err := s.client.AddNote(tc.ctx, &intakev1.AddNoteRequest{TicketId: tk.GetTicketId(), RequestId: "n-" + name, Text: "x"})
		require.Equal(t, tc.code, status.Code(err), "%s: %v", name, err)
	}
}
