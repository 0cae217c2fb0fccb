// Package intakeclient is routing's client of the intake service: app.Intake over gRPC (GetTicket for the
// text keyword rules match, AssignTicket for each decision), authenticated with routing's own API key. Its
// errors name the RPC and the status code only, never the status message, which may quote ticket text.
package intakeclient

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/services/routing/internal/app"
)

// CallTimeout bounds each call within any earlier deadline of the caller's.
const CallTimeout = 5 * time.Second

// Client implements app.Intake.
type Client struct {
	cc  *grpc.ClientConn
	api intakev1.IntakeServiceClient
}

var _ app.Intake = (*Client)(nil)

// Dial returns a client of intake at addr that authenticates with apiKey. The connection is lazy: an
// unreachable intake fails calls, not Dial.
func Dial(addr, apiKey string) (*Client, error) {
	cc, err := grpcx.Dial(addr, grpcx.Bearer(apiKey))
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	return New(cc), nil
}

// New returns a client on an existing connection (which the caller closes).
func New(cc *grpc.ClientConn) *Client {
	return &Client{cc: cc, api: intakev1.NewIntakeServiceClient(cc)}
}

// Close closes the connection.
func (c *Client) Close() error { return c.cc.Close() }

// TicketText returns the ticket's subject and description joined, for keyword rules.
func (c *Client) TicketText(ctx context.Context, id uuid.UUID) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	resp, err := c.api.GetTicket(ctx, &intakev1.GetTicketRequest{TicketId: id.String()})
	if err != nil {
		return "", callError("GetTicket", err)
	}
	return resp.GetTicket().GetSubject() + "\n" + resp.GetTicket().GetDescription(), nil
}

// Assign calls AssignTicket with requestID, so a retry changes nothing at intake.
func (c *Client) Assign(ctx context.Context, ticket, group, agent uuid.UUID, unassign bool, expected uuid.UUID, requestID string) error {
	exp := ""
	if expected != uuid.Nil {
		exp = expected.String()
	}
	req := &intakev1.AssignTicketRequest{TicketId: ticket.String(), RequestId: requestID, Unassign: unassign,
		ExpectedAssigneeId: &exp}
	if group != uuid.Nil {
		req.GroupId = group.String()
	}
	if agent != uuid.Nil {
		req.AssigneeId = agent.String()
	}
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	if _, err := c.api.AssignTicket(ctx, req); err != nil {
		return callError("AssignTicket", err)
	}
	return nil
}

// callError reduces a failed call to its RPC and code; answers no retry changes wrap app.ErrRefused.
func callError(rpc string, err error) error {
	code := status.Code(err)
	switch code {
	case codes.FailedPrecondition, codes.NotFound, codes.InvalidArgument:
		return fmt.Errorf("intake %s: %s: %w", rpc, code, app.ErrRefused)
	}
	return fmt.Errorf("intake %s: %s", rpc, code)
}
