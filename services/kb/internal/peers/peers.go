// Package peers is kb's client of intake: it reads a ticket (its number, the customer's words, its
// classification, and what decides who may see it) with kb's own API key at intake. Errors name the RPC
// and the status code only, never the status message, which may quote personal data.
package peers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/kb/internal/app"
)

// CallTimeout bounds each call within any earlier deadline of the caller's.
const CallTimeout = 5 * time.Second

// Intake implements app.Tickets over gRPC.
type Intake struct {
	cc     *grpc.ClientConn
	client intakev1.IntakeServiceClient
}

var _ app.Tickets = (*Intake)(nil)

// Dial returns a client of intake at target authenticating with apiKey. The connection is lazy: an
// unreachable intake fails calls, not Dial.
func Dial(target, apiKey string) (*Intake, error) {
	cc, err := grpcx.Dial(target, grpcx.Bearer(apiKey))
	if err != nil {
		return nil, fmt.Errorf("intake: %w", err)
	}
	return &Intake{cc: cc, client: intakev1.NewIntakeServiceClient(cc)}, nil
}

// Close closes the connection.
func (i *Intake) Close() error { return i.cc.Close() }

// Ticket reads a ticket.
func (i *Intake) Ticket(ctx context.Context, id string) (app.Ticket, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	resp, err := i.client.GetTicket(ctx, &intakev1.GetTicketRequest{TicketId: id})
	if err != nil {
		c := status.Code(err)
		e := fmt.Errorf("GetTicket: %s", c)
		if c == codes.NotFound {
			return app.Ticket{}, errors.Join(e, app.ErrPeerNotFound)
		}
		return app.Ticket{}, e
	}
	t := resp.GetTicket()
	return app.Ticket{
		ID: t.GetTicketId(), Number: t.GetNumber(), Subject: t.GetSubject(), Description: t.GetDescription(),
		Subcategory: app.FullSubcategory(t.GetType(), t.GetSubcategory()),
		GroupID:     t.GetGroupId(), AssigneeID: t.GetAssigneeId(),
		SubmitterKind: protocode.Code(t.GetSubmitter().GetKind(), "ACTOR_KIND_"), SubmitterID: t.GetSubmitter().GetId(),
	}, nil
}
