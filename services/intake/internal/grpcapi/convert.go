package grpcapi

import (
	"github.com/google/uuid"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/services/intake/internal/app"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/protoconv"
	"kefu.dev/services/intake/internal/store"
)

// ticketProto renders a ticket for the API. The contact appears only because it was stored with consent
// (and an erasure removed it).
func ticketProto(t *ticket.Ticket) *intakev1.Ticket {
	out := &intakev1.Ticket{
		TicketId:             t.ID.String(),
		Number:               t.Number,
		Status:               protoconv.Status(t.Status),
		Channel:              protoconv.Channel(t.Channel),
		Type:                 protoconv.Type(t.Type),
		Subcategory:          t.Subcategory,
		ClassificationSource: protoconv.Source(t.ClassificationSource),
		ClassificationRuleId: t.RuleID,
		Urgency:              protoconv.Urgency(t.Urgency),
		Level:                protoconv.Level(t.Level),
		Priority:             protoconv.Priority(t.Priority),
		Subject:              t.Subject,
		Description:          t.Description,
		CustomerId:           idString(t.CustomerID),
		OrderNumber:          t.OrderNumber,
		MemberNumber:         t.MemberNumber,
		Attachments:          attachmentsProto(t.Attachments),
		GroupId:              idString(t.GroupID),
		AssigneeId:           idString(t.AssigneeID),
		EscalationLevel:      int32(t.EscalationLevel),
		ResolutionSummary:    t.ResolutionSummary,
		ResolutionCount:      int32(t.ResolutionCount),
		Submitter:            protoconv.Actor(t.Submitter),
		ReceivedTime:         protoconv.Time(t.ReceivedAt),
		CreateTime:           protoconv.Time(t.CreatedAt),
		UpdateTime:           protoconv.Time(t.UpdatedAt),
		ResolveTime:          protoconv.Time(t.ResolvedAt),
		CloseTime:            protoconv.Time(t.ClosedAt),
		ArchiveTime:          protoconv.Time(t.ArchivedAt),
		Etag:                 app.Etag(t),
		HandlingCount:        int32(t.HandlingCount),
		CustomerTier:         t.CustomerTier,
		IncidentId:           idString(t.IncidentID),
	}
	if v := t.Verification; v != nil {
		out.IdentityVerification = &intakev1.IdentityVerification{
			Verified: v.Verified, Method: protoconv.VerificationMethod(v.Method), VerifyTime: protoconv.Time(v.At),
		}
	}
	if e := t.Erasure; e != nil {
		out.Erasure = &intakev1.Erasure{EraseTime: protoconv.Time(e.At), CustomerWords: e.CustomerWords}
	}
	for _, f := range t.KeyFacts {
		out.KeyFacts = append(out.KeyFacts, &intakev1.KeyFact{Name: f.Name, Value: f.Value})
	}
	if c := t.Contact; c != nil {
		out.Contact = &intakev1.Contact{Kind: protoconv.ContactKind(c.Kind), Value: c.Value, Consent: true, ConsentPurpose: c.Purpose}
	}
	if s := t.Satisfaction; s != nil {
		out.Satisfaction = &intakev1.SatisfactionRecord{
			Rating: protoconv.Satisfaction(s.Rating), Comment: s.Comment, CustomerUnreachable: s.Waived,
			RecordTime: protoconv.Time(s.RecordedAt), ResolutionNumber: int32(s.Resolution),
		}
	}
	return out
}

func attachmentsProto(as []ticket.Attachment) []*intakev1.Attachment {
	var out []*intakev1.Attachment
	for _, a := range as {
		out = append(out, &intakev1.Attachment{Name: a.Name, ContentType: a.ContentType, SizeBytes: a.Size, Url: a.URL})
	}
	return out
}

func attachmentsFromProto(as []*intakev1.Attachment) []ticket.Attachment {
	var out []ticket.Attachment
	for _, a := range as {
		out = append(out, ticket.Attachment{Name: a.GetName(), ContentType: a.GetContentType(), Size: a.GetSizeBytes(), URL: a.GetUrl()})
	}
	return out
}

// entryProto renders a timeline entry.
func entryProto(e store.Entry) *intakev1.TimelineEntry {
	return &intakev1.TimelineEntry{
		EntryId:      e.ID.String(),
		TicketId:     e.TicketID.String(),
		Seq:          e.Seq,
		Kind:         protoconv.EntryKind(e.Kind),
		Actor:        protoconv.Actor(e.Actor),
		CreateTime:   protoconv.Time(e.At),
		Text:         e.Text,
		Channel:      protoconv.Channel(e.Channel),
		FromStatus:   protoconv.Status(e.From),
		ToStatus:     protoconv.Status(e.To),
		AsksCustomer: e.AsksCustomer,
		GroupId:      idString(e.GroupID),
		AssigneeId:   idString(e.AssigneeID),
		Attachments:  attachmentsProto(e.Attachments),
		Erased:       !e.ErasedAt.IsZero(),
	}
}

func subcategoryProto(s store.Subcategory) *intakev1.Subcategory {
	return &intakev1.Subcategory{
		Type: protoconv.Type(s.Type), Code: s.Code, NameZh: s.NameZH, NameEn: s.NameEN, Active: s.Active,
		CreateTime: protoconv.Time(s.CreatedAt), UpdateTime: protoconv.Time(s.UpdatedAt),
	}
}

func ruleProto(r store.Rule) *intakev1.ClassificationRule {
	return &intakev1.ClassificationRule{
		RuleId: r.ID, Position: int32(r.Position), Keywords: r.Keywords, Target: r.Target,
		SetUrgency: protoconv.Urgency(r.SetUrgency), SetLevel: protoconv.Level(r.SetLevel), Enabled: r.Enabled,
		Description: r.Description, CreateTime: protoconv.Time(r.CreatedAt), UpdateTime: protoconv.Time(r.UpdatedAt),
	}
}

func idString(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}

// parseID reads a required UUID field; protovalidate has usually checked it already, but a field inside a
// resource message (ticket.ticket_id) has no such rule.
func parseID(field, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(s)
	if err != nil || id == uuid.Nil {
		return uuid.Nil, apierr.InvalidField(field, "must be a UUID")
	}
	return id, nil
}

// parseOptionalID reads a UUID field that may be empty (uuid.Nil).
func parseOptionalID(field, s string) (uuid.UUID, error) {
	if s == "" {
		return uuid.Nil, nil
	}
	return parseID(field, s)
}

// prefixFields places the field violations of a domain error, named relative to a sub-message (the rule,
// the ticket), at their path in the request.
func prefixFields(err error, prefix string) error {
	e, ok := apierr.As(err)
	if !ok || e.Kind != apierr.KindInvalidArgument || len(e.Fields) == 0 {
		return err
	}
	vs := make([]apierr.FieldViolation, len(e.Fields))
	for i, f := range e.Fields {
		vs[i] = apierr.FieldViolation{Field: prefix + f.Field, Description: f.Description}
	}
	if len(vs) == 1 {
		return apierr.InvalidField(vs[0].Field, vs[0].Description)
	}
	return apierr.InvalidFields(vs...)
}
