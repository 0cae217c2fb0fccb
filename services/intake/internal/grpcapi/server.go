// Package grpcapi implements kefu.intake.v1.IntakeService: it turns requests into app calls and results
// into responses, nothing more. Errors are returned as they come; pkg/grpcx maps them to statuses. Shape
// rules (required fields, lengths, enums) were checked by protovalidate before a handler runs; meaning rules
// are the domain's.
package grpcapi

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/services/intake/internal/app"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/protoconv"
	"kefu.dev/services/intake/internal/store"
)

// Server implements intakev1.IntakeServiceServer on an app.
type Server struct {
	intakev1.UnimplementedIntakeServiceServer
	app *app.App
}

// New returns the server.
func New(a *app.App) *Server { return &Server{app: a} }

// Register registers the IntakeService and the IncidentService on r.
func (s *Server) Register(r grpc.ServiceRegistrar) {
	intakev1.RegisterIntakeServiceServer(r, s)
	intakev1.RegisterIncidentServiceServer(r, &IncidentServer{app: s.app})
}

// request builds the retry identity of a per-ticket call: its request id and the fingerprint of the rest.
func request(m proto.Message, requestID string) (app.Request, error) {
	if requestID == "" {
		return app.Request{}, nil
	}
	fp, err := idempotency.FingerprintWithout(m, "request_id")
	if err != nil {
		return app.Request{}, err
	}
	return app.Request{ID: requestID, Fingerprint: fp}, nil
}

// SubmitTicket creates a ticket (or returns the one a retry with the same key created).
func (s *Server) SubmitTicket(ctx context.Context, req *intakev1.SubmitTicketRequest) (*intakev1.SubmitTicketResponse, error) {
	fp, err := idempotency.FingerprintWithout(req, "idempotency_key")
	if err != nil {
		return nil, err
	}
	customer, err := parseOptionalID("customer_id", req.GetCustomerId())
	if err != nil {
		return nil, err
	}
	nt := ticket.NewTicket{
		Channel: protoconv.ChannelFromProto(req.GetChannel()),
		// The adapter's time counts to the second (issue 3 §2); sub-second digits are noise from its clock.
		ReceivedAt:   req.GetReceivedTime().AsTime().Truncate(time.Second),
		CustomerID:   customer,
		OrderNumber:  req.GetOrderNumber(),
		MemberNumber: req.GetMemberNumber(),
		Subject:      req.GetSubject(),
		Description:  req.GetDescription(),
		Attachments:  attachmentsFromProto(req.GetAttachments()),
		Hints: ticket.Hints{
			Type:        protoconv.TypeFromProto(req.GetTypeHint()),
			Subcategory: req.GetSubcategoryHint(),
			Urgency:     protoconv.UrgencyFromProto(req.GetUrgencyHint()),
			Level:       protoconv.LevelFromProto(req.GetLevelHint()),
		},
	}
	if req.GetReceivedTime() == nil {
		nt.ReceivedAt = time.Time{}
	}
	for _, f := range req.GetKeyFacts() {
		nt.KeyFacts = append(nt.KeyFacts, ticket.KeyFact{Name: f.GetName(), Value: f.GetValue()})
	}
	if c := req.GetContact(); c != nil {
		nt.Contact = &ticket.Contact{Kind: protoconv.ContactKindFromProto(c.GetKind()), Value: c.GetValue(), Purpose: c.GetConsentPurpose()}
		nt.ContactConsent = c.GetConsent()
	}
	in := app.SubmitInput{IdempotencyKey: req.GetIdempotencyKey(), Fingerprint: fp, Ticket: nt}
	switch f := req.GetVerification().GetFact().(type) {
	case *intakev1.IdentityFacts_OrderNumber:
		in.Verification = &app.VerifyFact{Method: ticket.VerificationOrderNumber, Value: f.OrderNumber}
	case *intakev1.IdentityFacts_PhoneLast4:
		in.Verification = &app.VerifyFact{Method: ticket.VerificationPhoneLast4, Value: f.PhoneLast4}
	}
	t, err := s.app.SubmitTicket(ctx, in)
	if err != nil {
		return nil, err
	}
	return &intakev1.SubmitTicketResponse{Ticket: ticketProto(t)}, nil
}

// GetTicket returns a ticket.
func (s *Server) GetTicket(ctx context.Context, req *intakev1.GetTicketRequest) (*intakev1.GetTicketResponse, error) {
	id, err := parseID("ticket_id", req.GetTicketId())
	if err != nil {
		return nil, err
	}
	t, err := s.app.GetTicket(ctx, id)
	if err != nil {
		return nil, err
	}
	return &intakev1.GetTicketResponse{Ticket: ticketProto(t)}, nil
}

// orders maps ListTicketsRequest.order_by (protovalidate admits only these values).
var orders = map[string]store.Order{
	"":                 store.OrderNewest,
	"create_time desc": store.OrderNewest,
	"create_time":      store.OrderOldest,
	"priority":         store.OrderPriority,
}

// ListTickets lists tickets a page at a time.
func (s *Server) ListTickets(ctx context.Context, req *intakev1.ListTicketsRequest) (*intakev1.ListTicketsResponse, error) {
	f := store.TicketFilter{
		Type:        protoconv.TypeFromProto(req.GetType()),
		Subcategory: req.GetSubcategory(),
		Urgency:     protoconv.UrgencyFromProto(req.GetUrgency()),
		Level:       protoconv.LevelFromProto(req.GetLevel()),
		Channel:     protoconv.ChannelFromProto(req.GetChannel()),
		Number:      req.GetNumber(),
		Order:       orders[req.GetOrderBy()],
	}
	for _, st := range req.GetStatuses() {
		f.Statuses = append(f.Statuses, protoconv.StatusFromProto(st))
	}
	var err error
	if f.GroupID, err = parseOptionalID("group_id", req.GetGroupId()); err != nil {
		return nil, err
	}
	if f.AssigneeID, err = parseOptionalID("assignee_id", req.GetAssigneeId()); err != nil {
		return nil, err
	}
	if f.CustomerID, err = parseOptionalID("customer_id", req.GetCustomerId()); err != nil {
		return nil, err
	}
	if req.GetCreatedAfter() != nil {
		f.CreatedAfter = req.GetCreatedAfter().AsTime()
	}
	if req.GetCreatedBefore() != nil {
		f.CreatedBefore = req.GetCreatedBefore().AsTime()
	}
	page, err := s.app.ListTickets(ctx, f, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ListTicketsResponse{NextPageToken: page.NextPageToken}
	for _, t := range page.Tickets {
		resp.Tickets = append(resp.Tickets, ticketProto(t))
	}
	return resp, nil
}

// ticketFields are Ticket's fields, by name, for update masks.
var ticketFields = (&intakev1.Ticket{}).ProtoReflect().Descriptor().Fields()

// UpdateTicket reclassifies a ticket; the update mask names the fields to change.
func (s *Server) UpdateTicket(ctx context.Context, req *intakev1.UpdateTicketRequest) (*intakev1.UpdateTicketResponse, error) {
	in := req.GetTicket()
	id, err := parseID("ticket.ticket_id", in.GetTicketId())
	if err != nil {
		return nil, err
	}
	if in.GetEtag() == "" {
		return nil, apierr.InvalidField("ticket.etag", "is required: send the etag of the ticket you read")
	}
	var u ticket.ClassificationUpdate
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return nil, apierr.InvalidField("update_mask", "name at least one of type, subcategory, urgency, level")
	}
	for _, p := range paths {
		switch p {
		case "type":
			v := protoconv.TypeFromProto(in.GetType())
			u.Type = &v
		case "subcategory":
			v := in.GetSubcategory()
			u.Subcategory = &v
		case "urgency":
			v := protoconv.UrgencyFromProto(in.GetUrgency())
			u.Urgency = &v
		case "level":
			v := protoconv.LevelFromProto(in.GetLevel())
			u.Level = &v
		default:
			// Every other field of Ticket is output only here (the lifecycle RPCs change them): a caller
			// that names one is ignored, never obeyed (AIP-203). A path that is no field is a mistake.
			if ticketFields.ByName(protoreflect.Name(p)) == nil {
				return nil, apierr.InvalidField("update_mask", fmt.Sprintf("path %q is not a field of Ticket", p))
			}
		}
	}
	if u == (ticket.ClassificationUpdate{}) {
		return nil, apierr.InvalidField("update_mask", "name at least one of type, subcategory, urgency, level")
	}
	t, err := s.app.UpdateClassification(ctx, id, in.GetEtag(), u)
	if err != nil {
		return nil, prefixFields(err, "ticket.")
	}
	return &intakev1.UpdateTicketResponse{Ticket: ticketProto(t)}, nil
}

// AssignTicket assigns a group and/or an agent.
func (s *Server) AssignTicket(ctx context.Context, req *intakev1.AssignTicketRequest) (*intakev1.AssignTicketResponse, error) {
	id, err := parseID("ticket_id", req.GetTicketId())
	if err != nil {
		return nil, err
	}
	group, err := parseOptionalID("group_id", req.GetGroupId())
	if err != nil {
		return nil, err
	}
	agent, err := parseOptionalID("assignee_id", req.GetAssigneeId())
	if err != nil {
		return nil, err
	}
	r, err := request(req, req.GetRequestId())
	if err != nil {
		return nil, err
	}
	if req.GetUnassign() && agent != uuid.Nil {
		return nil, apierr.InvalidField("assignee_id", "must be empty with unassign")
	}
	var expected *uuid.UUID
	if req.ExpectedAssigneeId != nil {
		e, err := parseOptionalID("expected_assignee_id", req.GetExpectedAssigneeId())
		if err != nil {
			return nil, err
		}
		expected = &e
	}
	t, err := s.app.Assign(ctx, id, group, agent, req.GetUnassign(), expected, r)
	if err != nil {
		return nil, err
	}
	return &intakev1.AssignTicketResponse{Ticket: ticketProto(t)}, nil
}

// StartWork moves an assigned ticket to in_progress.
func (s *Server) StartWork(ctx context.Context, req *intakev1.StartWorkRequest) (*intakev1.StartWorkResponse, error) {
	t, err := s.transition(ctx, req, req.GetTicketId(), req.GetRequestId(), s.app.StartWork)
	if err != nil {
		return nil, err
	}
	return &intakev1.StartWorkResponse{Ticket: t}, nil
}

// SetPendingCustomer moves an in_progress ticket to pending_customer.
func (s *Server) SetPendingCustomer(ctx context.Context, req *intakev1.SetPendingCustomerRequest) (*intakev1.SetPendingCustomerResponse, error) {
	t, err := s.transition(ctx, req, req.GetTicketId(), req.GetRequestId(), s.app.SetPendingCustomer)
	if err != nil {
		return nil, err
	}
	return &intakev1.SetPendingCustomerResponse{Ticket: t}, nil
}

// CloseTicket closes a resolved ticket.
func (s *Server) CloseTicket(ctx context.Context, req *intakev1.CloseTicketRequest) (*intakev1.CloseTicketResponse, error) {
	t, err := s.transition(ctx, req, req.GetTicketId(), req.GetRequestId(), s.app.Close)
	if err != nil {
		return nil, err
	}
	return &intakev1.CloseTicketResponse{Ticket: t}, nil
}

// ArchiveTicket archives a closed, complete ticket.
func (s *Server) ArchiveTicket(ctx context.Context, req *intakev1.ArchiveTicketRequest) (*intakev1.ArchiveTicketResponse, error) {
	t, err := s.transition(ctx, req, req.GetTicketId(), req.GetRequestId(), s.app.Archive)
	if err != nil {
		return nil, err
	}
	return &intakev1.ArchiveTicketResponse{Ticket: t}, nil
}

// transition runs a call that takes only the ticket and an optional request id.
func (s *Server) transition(ctx context.Context, req proto.Message, ticketID, requestID string,
	fn func(context.Context, uuid.UUID, app.Request) (*ticket.Ticket, error)) (*intakev1.Ticket, error) {
	id, err := parseID("ticket_id", ticketID)
	if err != nil {
		return nil, err
	}
	r, err := request(req, requestID)
	if err != nil {
		return nil, err
	}
	t, err := fn(ctx, id, r)
	if err != nil {
		return nil, err
	}
	return ticketProto(t), nil
}

// AddReply records an agent's reply.
func (s *Server) AddReply(ctx context.Context, req *intakev1.AddReplyRequest) (*intakev1.AddReplyResponse, error) {
	id, r, err := s.messageCall(req, req.GetTicketId(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	res, err := s.app.Reply(ctx, id, req.GetText(), protoconv.ChannelFromProto(req.GetChannel()), req.GetAsksCustomer(), r)
	if err != nil {
		return nil, err
	}
	return &intakev1.AddReplyResponse{Ticket: ticketProto(res.Ticket), Entry: firstEntry(res)}, nil
}

// AddNote records an internal note.
func (s *Server) AddNote(ctx context.Context, req *intakev1.AddNoteRequest) (*intakev1.AddNoteResponse, error) {
	id, r, err := s.messageCall(req, req.GetTicketId(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	res, err := s.app.AddNote(ctx, id, req.GetText(), r)
	if err != nil {
		return nil, err
	}
	return &intakev1.AddNoteResponse{Ticket: ticketProto(res.Ticket), Entry: firstEntry(res)}, nil
}

// AppendCustomerMessage records a further message from the customer.
func (s *Server) AppendCustomerMessage(ctx context.Context, req *intakev1.AppendCustomerMessageRequest) (*intakev1.AppendCustomerMessageResponse, error) {
	id, r, err := s.messageCall(req, req.GetTicketId(), req.GetRequestId())
	if err != nil {
		return nil, err
	}
	res, err := s.app.AppendCustomerMessage(ctx, id, req.GetText(), protoconv.ChannelFromProto(req.GetChannel()),
		attachmentsFromProto(req.GetAttachments()), r)
	if err != nil {
		return nil, err
	}
	return &intakev1.AppendCustomerMessageResponse{Ticket: ticketProto(res.Ticket), Entry: firstEntry(res)}, nil
}

// messageCall reads the ticket id and the (required) request id of a message-adding call.
func (s *Server) messageCall(req proto.Message, ticketID, requestID string) (uuid.UUID, app.Request, error) {
	id, err := parseID("ticket_id", ticketID)
	if err != nil {
		return id, app.Request{}, err
	}
	r, err := request(req, requestID)
	return id, r, err
}

func firstEntry(res store.Result) *intakev1.TimelineEntry {
	if len(res.Entries) == 0 {
		return nil
	}
	return entryProto(res.Entries[0])
}

// ListTimeline pages a ticket's timeline.
func (s *Server) ListTimeline(ctx context.Context, req *intakev1.ListTimelineRequest) (*intakev1.ListTimelineResponse, error) {
	id, err := parseID("ticket_id", req.GetTicketId())
	if err != nil {
		return nil, err
	}
	page, err := s.app.ListTimeline(ctx, id, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &intakev1.ListTimelineResponse{NextPageToken: page.NextPageToken}
	for _, e := range page.Entries {
		resp.Entries = append(resp.Entries, entryProto(e))
	}
	return resp, nil
}

// EscalateTicket raises the escalation level.
func (s *Server) EscalateTicket(ctx context.Context, req *intakev1.EscalateTicketRequest) (*intakev1.EscalateTicketResponse, error) {
	t, err := s.transition(ctx, req, req.GetTicketId(), req.GetRequestId(), func(ctx context.Context, id uuid.UUID, r app.Request) (*ticket.Ticket, error) {
		return s.app.Escalate(ctx, id, req.GetReason(), r)
	})
	if err != nil {
		return nil, err
	}
	return &intakev1.EscalateTicketResponse{Ticket: t}, nil
}

// ResolveTicket resolves a ticket.
func (s *Server) ResolveTicket(ctx context.Context, req *intakev1.ResolveTicketRequest) (*intakev1.ResolveTicketResponse, error) {
	t, err := s.transition(ctx, req, req.GetTicketId(), req.GetRequestId(), func(ctx context.Context, id uuid.UUID, r app.Request) (*ticket.Ticket, error) {
		return s.app.Resolve(ctx, id, req.GetResolutionSummary(), r)
	})
	if err != nil {
		return nil, err
	}
	return &intakev1.ResolveTicketResponse{Ticket: t}, nil
}

// ReopenTicket reopens a resolved or closed ticket.
func (s *Server) ReopenTicket(ctx context.Context, req *intakev1.ReopenTicketRequest) (*intakev1.ReopenTicketResponse, error) {
	t, err := s.transition(ctx, req, req.GetTicketId(), req.GetRequestId(), func(ctx context.Context, id uuid.UUID, r app.Request) (*ticket.Ticket, error) {
		return s.app.Reopen(ctx, id, req.GetReason(), r)
	})
	if err != nil {
		return nil, err
	}
	return &intakev1.ReopenTicketResponse{Ticket: t}, nil
}

// RecordSatisfaction records a rating or the unreachable waiver.
func (s *Server) RecordSatisfaction(ctx context.Context, req *intakev1.RecordSatisfactionRequest) (*intakev1.RecordSatisfactionResponse, error) {
	t, err := s.transition(ctx, req, req.GetTicketId(), req.GetRequestId(), func(ctx context.Context, id uuid.UUID, r app.Request) (*ticket.Ticket, error) {
		return s.app.RecordSatisfaction(ctx, id, protoconv.SatisfactionFromProto(req.GetRating()), req.GetComment(),
			req.GetCustomerUnreachable(), r)
	})
	if err != nil {
		return nil, err
	}
	return &intakev1.RecordSatisfactionResponse{Ticket: t}, nil
}
