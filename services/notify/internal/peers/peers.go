// Package peers is notify's client of the services it asks: intake (a ticket, an agent reply's text),
// customer (the usable contacts and preferred channel) and slatimer (whether it is working time). Each
// authenticates with notify's own API key at that service. Errors name the RPC and the status code only,
// never the status message, which may quote personal data.
package peers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	slav1 "kefu.dev/pkg/api/kefu/sla/v1"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/notify/internal/app"
	"kefu.dev/services/notify/internal/domain/message"
)

// CallTimeout bounds each call within any earlier deadline of the caller's.
const CallTimeout = 5 * time.Second

// Peers implements app.Peers over gRPC. Intake serves the IncidentService too, on the same connection.
type Peers struct {
	conns     []*grpc.ClientConn
	intake    intakev1.IntakeServiceClient
	incidents intakev1.IncidentServiceClient
	customer  customerv1.CustomerServiceClient
	sla       slav1.SlaServiceClient
	routing   routingv1.RoutingServiceClient // nil: no routing configured, agents have no names here
	names     *memo[string, string]
	statuses  *memo[statusKey, app.BusinessStatus]
}

// statusKey names a calendar's business status during one minute: working time starts and ends on whole
// minutes ("HH:MM" in the calendar's zone), so every instant of a minute has the same answer.
type statusKey struct {
	calendar string
	minute   time.Time
}

var _ app.Peers = (*Peers)(nil)

// Addr is one peer's address and notify's API key there.
type Addr struct{ Target, APIKey string }

// Dial returns clients of the peers; routing (for agents' names) is optional (Target ""). Connections are
// lazy: an unreachable peer fails calls, not Dial.
func Dial(intake, customer, sla, routing Addr) (*Peers, error) {
	p := &Peers{names: newMemo[string, string](memoTTL, time.Now), statuses: newMemo[statusKey, app.BusinessStatus](memoTTL, time.Now)}
	for _, a := range []struct {
		name string
		addr Addr
		set  func(cc *grpc.ClientConn)
	}{
		{"intake", intake, func(cc *grpc.ClientConn) {
			p.intake, p.incidents = intakev1.NewIntakeServiceClient(cc), intakev1.NewIncidentServiceClient(cc)
		}},
		{"customer", customer, func(cc *grpc.ClientConn) { p.customer = customerv1.NewCustomerServiceClient(cc) }},
		{"slatimer", sla, func(cc *grpc.ClientConn) { p.sla = slav1.NewSlaServiceClient(cc) }},
		{"routing", routing, func(cc *grpc.ClientConn) { p.routing = routingv1.NewRoutingServiceClient(cc) }},
	} {
		if a.addr.Target == "" {
			continue
		}
		cc, err := grpcx.Dial(a.addr.Target, grpcx.Bearer(a.addr.APIKey))
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("%s: %w", a.name, err)
		}
		p.conns = append(p.conns, cc)
		a.set(cc)
	}
	return p, nil
}

// Close closes the connections.
func (p *Peers) Close() {
	for _, cc := range p.conns {
		_ = cc.Close()
	}
}

func callError(rpc string, err error) error {
	c := status.Code(err)
	e := fmt.Errorf("%s: %s", rpc, c)
	if c == codes.NotFound {
		return errors.Join(e, app.ErrPeerNotFound)
	}
	return e
}

// Ticket reads what a message about the ticket needs.
func (p *Peers) Ticket(ctx context.Context, id string) (app.Ticket, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	resp, err := p.intake.GetTicket(ctx, &intakev1.GetTicketRequest{TicketId: id})
	if err != nil {
		return app.Ticket{}, callError("GetTicket", err)
	}
	return ticketOf(resp.GetTicket()), nil
}

// IncidentTickets reads one page of an incident's linked tickets (500 at most) and the next page's token.
func (p *Peers) IncidentTickets(ctx context.Context, incidentID, pageToken string) ([]app.Ticket, string, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	resp, err := p.incidents.ListIncidentTickets(ctx, &intakev1.ListIncidentTicketsRequest{IncidentId: incidentID, PageSize: 500,
		PageToken: pageToken})
	if err != nil {
		return nil, "", callError("ListIncidentTickets", err)
	}
	out := make([]app.Ticket, 0, len(resp.GetTickets()))
	for _, t := range resp.GetTickets() {
		out = append(out, ticketOf(t))
	}
	return out, resp.GetNextPageToken(), nil
}

// Announcement reads an incident announcement's text.
func (p *Peers) Announcement(ctx context.Context, incidentID, announcementID string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	resp, err := p.incidents.GetAnnouncement(ctx, &intakev1.GetAnnouncementRequest{IncidentId: incidentID, AnnouncementId: announcementID})
	if err != nil {
		return "", callError("GetAnnouncement", err)
	}
	return resp.GetAnnouncement().GetText(), nil
}

func ticketOf(t *intakev1.Ticket) app.Ticket {
	out := app.Ticket{
		ID: t.GetTicketId(), Number: t.GetNumber(), Channel: message.Channel(protocode.Code(t.GetChannel(), "CHANNEL_")),
		CustomerID: t.GetCustomerId(), Subject: t.GetSubject(), Description: t.GetDescription(),
		GroupID: t.GetGroupId(), AssigneeID: t.GetAssigneeId(), SubmitterID: t.GetSubmitter().GetId(),
		SubmitterKind: strings.ToLower(strings.TrimPrefix(t.GetSubmitter().GetKind().String(), "ACTOR_KIND_")),
	}
	if c := t.GetContact(); c != nil && c.GetValue() != "" {
		out.Contact = &message.Contact{Kind: message.ContactKind(protocode.Code(c.GetKind(), "CONTACT_KIND_")), Value: c.GetValue()}
	}
	return out
}

// Reply finds an agent reply's timeline entry (by id; seq is the ticket event that wrote it, so pages
// before it are skipped quickly enough: timelines are short).
func (p *Peers) Reply(ctx context.Context, ticketID, entryID string) (app.Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	tok := ""
	for {
		resp, err := p.intake.ListTimeline(ctx, &intakev1.ListTimelineRequest{TicketId: ticketID, PageSize: 500, PageToken: tok})
		if err != nil {
			return app.Reply{}, callError("ListTimeline", err)
		}
		for _, e := range resp.GetEntries() {
			if e.GetEntryId() != entryID {
				continue
			}
			if e.GetKind() != intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_AGENT_REPLY {
				// Only replies reach customers: a note or anything else never does.
				return app.Reply{}, fmt.Errorf("timeline entry %s is not an agent reply: %w", entryID, app.ErrPeerNotFound)
			}
			return app.Reply{Text: e.GetText(), Channel: message.Channel(protocode.Code(e.GetChannel(), "CHANNEL_")),
				ActorID: e.GetActor().GetId()}, nil
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			return app.Reply{}, fmt.Errorf("timeline entry %s: %w", entryID, app.ErrPeerNotFound)
		}
	}
}

// Contacts reads how a customer may be reached, checking check against the record.
func (p *Peers) Contacts(ctx context.Context, customerID string, check *message.Contact) (app.Contacts, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	req := &customerv1.GetDeliveryContactsRequest{CustomerId: customerID}
	if check != nil {
		req.Check = &intakev1.Contact{Kind: protocode.Enum[intakev1.ContactKind]("CONTACT_KIND_", string(check.Kind)),
			Value: check.Value, Consent: true, ConsentPurpose: "service_follow_up"}
	}
	resp, err := p.customer.GetDeliveryContacts(ctx, req)
	if err != nil {
		return app.Contacts{}, callError("GetDeliveryContacts", err)
	}
	out := app.Contacts{
		Preferred: message.Channel(protocode.Code(resp.GetPreferredChannel(), "CHANNEL_")),
		Withdrawn: resp.GetCheckStatus() == customerv1.ContactStatus_CONTACT_STATUS_WITHDRAWN,
	}
	for _, c := range resp.GetContacts() {
		out.Usable = append(out.Usable, message.Contact{Kind: message.ContactKind(protocode.Code(c.GetKind(), "CONTACT_KIND_")),
			Value: c.GetValue()})
	}
	return out, nil
}

// AgentName returns an agent's display name at routing; "" when routing is not configured or does not know
// them (a template then renders the name empty rather than failing the message). A name is remembered for
// memoTTL.
func (p *Peers) AgentName(ctx context.Context, agentID string) (string, error) {
	if p.routing == nil || agentID == "" {
		return "", nil
	}
	return p.names.get(ctx, agentID, func(ctx context.Context) (string, error) { return p.agentName(ctx, agentID) })
}

func (p *Peers) agentName(ctx context.Context, agentID string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	resp, err := p.routing.GetAgent(ctx, &routingv1.GetAgentRequest{AgentId: agentID})
	switch status.Code(err) {
	case codes.OK:
		return resp.GetAgent().GetDisplayName(), nil
	case codes.NotFound, codes.InvalidArgument:
		return "", nil
	}
	return "", callError("GetAgent", err)
}

// BusinessStatus says whether at is working time in calendar code and when working time next begins. The
// answer for a minute is remembered for memoTTL.
func (p *Peers) BusinessStatus(ctx context.Context, code string, at time.Time) (app.BusinessStatus, error) {
	key := statusKeyOf(code, at)
	return p.statuses.get(ctx, key, func(ctx context.Context) (app.BusinessStatus, error) {
		return p.businessStatus(ctx, code, key.minute)
	})
}

// statusKeyOf is the key of calendar code's status at at: its minute (zones are whole minutes off UTC, so
// a UTC minute is a minute of the calendar's zone too).
func statusKeyOf(code string, at time.Time) statusKey {
	return statusKey{calendar: code, minute: at.UTC().Truncate(time.Minute)}
}

func (p *Peers) businessStatus(ctx context.Context, code string, at time.Time) (app.BusinessStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	resp, err := p.sla.GetBusinessStatus(ctx, &slav1.GetBusinessStatusRequest{Code: code, AtTime: timestamppb.New(at)})
	if err != nil {
		return app.BusinessStatus{}, callError("GetBusinessStatus", err)
	}
	loc, err := time.LoadLocation(resp.GetTimeZone())
	if err != nil {
		loc = time.UTC
	}
	return app.BusinessStatus{Open: resp.GetOpen(), NextOpen: resp.GetNextOpenTime().AsTime(), Zone: loc}, nil
}
