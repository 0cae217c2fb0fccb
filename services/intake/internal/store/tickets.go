package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/services/intake/internal/domain/ticket"
)

// ResourceTicket is the resource type NotFound errors name for tickets.
const ResourceTicket = "kefu.intake.v1.Ticket"

// ResourceTicketAudit is the object type audit records name for tickets (as the gRPC guard names them).
const ResourceTicketAudit = "ticket"

// ticketColumns is the column list every ticket read selects, in scanTicket's order.
const ticketColumns = `ticket_id, number, status, channel, type, subcategory, classification_source,
	classification_rule_id, urgency, level, priority, subject, description, customer_id, order_number,
	member_number, key_facts, attachments, contact_kind, contact_value, consent_purpose, group_id, assignee_id,
	escalation_level, resolution_summary, resolution_count, handling_count, first_reply_at, satisfaction_rating,
	satisfaction_comment, satisfaction_resolution, satisfaction_recorded_at, customer_unreachable,
	submitter_kind, submitter_id, received_at, created_at, updated_at, resolved_at, closed_at, archived_at,
	version, customer_tier, verification_method, verification_verified, verified_at, erased_at,
	customer_words_erased, incident_id`

// keyFactJSON and attachmentJSON are the stored JSON shapes; field names are part of the schema.
type keyFactJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type attachmentJSON struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	SizeBytes   int64  `json:"size_bytes"`
	URL         string `json:"url"`
}

func encodeKeyFacts(fs []ticket.KeyFact) ([]byte, error) {
	out := make([]keyFactJSON, len(fs))
	for i, f := range fs {
		out[i] = keyFactJSON(f)
	}
	return json.Marshal(out)
}

func encodeAttachments(as []ticket.Attachment) ([]byte, error) {
	if as == nil {
		as = []ticket.Attachment{}
	}
	out := make([]attachmentJSON, len(as))
	for i, a := range as {
		out[i] = attachmentJSON{Name: a.Name, ContentType: a.ContentType, SizeBytes: a.Size, URL: a.URL}
	}
	return json.Marshal(out)
}

func decodeAttachments(b []byte) ([]ticket.Attachment, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var in []attachmentJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	var out []ticket.Attachment
	for _, a := range in {
		out = append(out, ticket.Attachment{Name: a.Name, ContentType: a.ContentType, Size: a.SizeBytes, URL: a.URL})
	}
	return out, nil
}

// scanTicket reads one row selected with ticketColumns.
func scanTicket(row pgx.Row) (*ticket.Ticket, error) {
	var (
		t                                            ticket.Ticket
		status, channel, typ, source, urgency, level string
		ruleID, customerID, groupID, assigneeID      *uuid.UUID
		priority                                     int16
		keyFacts, attachments                        []byte
		contactKind, contactValue, consentPurpose    *string
		firstReply, resolved, closed, archived       *time.Time
		satRating, satComment                        *string
		satResolution                                *int32
		satRecorded                                  *time.Time
		unreachable                                  bool
		escalation, resolutionCount, handlingCount   int32
		verifyMethod                                 *string
		verified                                     *bool
		verifiedAt, erasedAt                         *time.Time
		wordsErased                                  bool
		incidentID                                   *uuid.UUID
	)
	err := row.Scan(&t.ID, &t.Number, &status, &channel, &typ, &t.Subcategory, &source,
		&ruleID, &urgency, &level, &priority, &t.Subject, &t.Description, &customerID, &t.OrderNumber,
		&t.MemberNumber, &keyFacts, &attachments, &contactKind, &contactValue, &consentPurpose, &groupID, &assigneeID,
		&escalation, &t.ResolutionSummary, &resolutionCount, &handlingCount, &firstReply, &satRating,
		&satComment, &satResolution, &satRecorded, &unreachable,
		&t.Submitter.Kind, &t.Submitter.ID, &t.ReceivedAt, &t.CreatedAt, &t.UpdatedAt, &resolved, &closed, &archived,
		&t.Version, &t.CustomerTier, &verifyMethod, &verified, &verifiedAt, &erasedAt, &wordsErased, &incidentID)
	if err != nil {
		return nil, err
	}
	t.IncidentID = derefUUID(incidentID)
	if verifyMethod != nil && verified != nil {
		m, err := ticket.ParseVerificationMethod(*verifyMethod)
		if err != nil {
			return nil, fmt.Errorf("ticket %s: %w", t.ID, err)
		}
		t.Verification = &ticket.IdentityVerification{Verified: *verified, Method: m, At: derefTime(verifiedAt)}
	}
	if erasedAt != nil {
		t.Erasure = &ticket.Erasure{At: erasedAt.UTC(), CustomerWords: wordsErased}
	}
	if err := decodeEnums(&t, status, channel, typ, source, urgency, level); err != nil {
		return nil, fmt.Errorf("ticket %s: %w", t.ID, err)
	}
	t.Priority = ticket.Priority(priority)
	if ruleID != nil {
		t.RuleID = ruleID.String()
	}
	t.CustomerID, t.GroupID, t.AssigneeID = derefUUID(customerID), derefUUID(groupID), derefUUID(assigneeID)
	var facts []keyFactJSON
	if err := json.Unmarshal(keyFacts, &facts); err != nil {
		return nil, fmt.Errorf("ticket %s: key facts: %w", t.ID, err)
	}
	for _, f := range facts {
		t.KeyFacts = append(t.KeyFacts, ticket.KeyFact(f))
	}
	if t.Attachments, err = decodeAttachments(attachments); err != nil {
		return nil, fmt.Errorf("ticket %s: attachments: %w", t.ID, err)
	}
	if contactKind != nil && contactValue != nil && consentPurpose != nil {
		kind, err := ticket.ParseContactKind(*contactKind)
		if err != nil {
			return nil, fmt.Errorf("ticket %s: %w", t.ID, err)
		}
		t.Contact = &ticket.Contact{Kind: kind, Value: *contactValue, Purpose: *consentPurpose}
	}
	t.EscalationLevel, t.ResolutionCount, t.HandlingCount = int(escalation), int(resolutionCount), int(handlingCount)
	t.FirstReplyAt, t.ResolvedAt, t.ClosedAt, t.ArchivedAt = derefTime(firstReply), derefTime(resolved), derefTime(closed), derefTime(archived)
	if satResolution != nil {
		rec := &ticket.SatisfactionRecord{Waived: unreachable, Resolution: int(*satResolution), RecordedAt: derefTime(satRecorded)}
		if satRating != nil {
			if rec.Rating, err = ticket.ParseSatisfaction(*satRating); err != nil {
				return nil, fmt.Errorf("ticket %s: %w", t.ID, err)
			}
		}
		if satComment != nil {
			rec.Comment = *satComment
		}
		t.Satisfaction = rec
	}
	t.ReceivedAt, t.CreatedAt, t.UpdatedAt = t.ReceivedAt.UTC(), t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

func decodeEnums(t *ticket.Ticket, status, channel, typ, source, urgency, level string) error {
	var err error
	if t.Status, err = ticket.ParseStatus(status); err != nil {
		return err
	}
	if t.Channel, err = ticket.ParseChannel(channel); err != nil {
		return err
	}
	if t.Type, err = ticket.ParseType(typ); err != nil {
		return err
	}
	if t.ClassificationSource, err = ticket.ParseClassificationSource(source); err != nil {
		return err
	}
	if t.Urgency, err = ticket.ParseUrgency(urgency); err != nil {
		return err
	}
	if t.Level, err = ticket.ParseLevel(level); err != nil {
		return err
	}
	return nil
}

// ticketRow holds a ticket's column values as pgx encodes them (enums as names, zero ids and times as NULL).
type ticketRow struct {
	status, channel, typ, source, urgency, level string
	priority                                     int16
	ruleID, customerID, groupID, assigneeID      any
	keyFacts, attachments                        []byte
	contactKind, contactValue, consentPurpose    any
	firstReply, resolved, closed, archived       any
	satRating, satComment, satResolution, satAt  any
	unreachable                                  bool
	verifyMethod, verified, verifiedAt           any
	erasedAt                                     any
	wordsErased                                  bool
}

func toRow(t *ticket.Ticket) (ticketRow, error) {
	r := ticketRow{
		status: t.Status.String(), channel: t.Channel.String(), typ: t.Type.String(),
		source: t.ClassificationSource.String(), urgency: t.Urgency.String(), level: t.Level.String(),
		priority: int16(t.Priority), customerID: nullUUID(t.CustomerID), groupID: nullUUID(t.GroupID),
		assigneeID: nullUUID(t.AssigneeID), firstReply: nullTime(t.FirstReplyAt), resolved: nullTime(t.ResolvedAt),
		closed: nullTime(t.ClosedAt), archived: nullTime(t.ArchivedAt),
	}
	var err error
	if r.keyFacts, err = encodeKeyFacts(t.KeyFacts); err != nil {
		return r, fmt.Errorf("encode key facts: %w", err)
	}
	if r.attachments, err = encodeAttachments(t.Attachments); err != nil {
		return r, fmt.Errorf("encode attachments: %w", err)
	}
	if t.Contact != nil {
		r.contactKind, r.contactValue, r.consentPurpose = t.Contact.Kind.String(), t.Contact.Value, t.Contact.Purpose
	}
	if t.RuleID != "" {
		id, err := uuid.Parse(t.RuleID)
		if err != nil {
			return r, fmt.Errorf("classification rule id %q: %w", t.RuleID, err)
		}
		r.ruleID = id
	}
	if s := t.Satisfaction; s != nil {
		if s.Rating != ticket.SatisfactionUnspecified {
			r.satRating = s.Rating.String()
		}
		r.satComment, r.satResolution, r.satAt, r.unreachable = s.Comment, int32(s.Resolution), s.RecordedAt, s.Waived
	}
	if v := t.Verification; v != nil {
		r.verifyMethod, r.verified, r.verifiedAt = v.Method.String(), v.Verified, v.At
	}
	if e := t.Erasure; e != nil {
		r.erasedAt, r.wordsErased = e.At, e.CustomerWords
	}
	return r, nil
}

const insertTicketSQL = `INSERT INTO tickets (` + ticketColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
	$10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31,
	$32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, $46, $47, $48, $49)`

// queueInsertTicket adds the ticket's INSERT to b.
func queueInsertTicket(b *pgx.Batch, t *ticket.Ticket) error {
	r, err := toRow(t)
	if err != nil {
		return err
	}
	b.Queue(insertTicketSQL,
		t.ID, t.Number, r.status, r.channel, r.typ, t.Subcategory, r.source, r.ruleID, r.urgency, r.level,
		r.priority, t.Subject, t.Description, r.customerID, t.OrderNumber, t.MemberNumber, r.keyFacts,
		r.attachments, r.contactKind, r.contactValue, r.consentPurpose, r.groupID, r.assigneeID,
		int32(t.EscalationLevel), t.ResolutionSummary, int32(t.ResolutionCount), int32(t.HandlingCount),
		r.firstReply, r.satRating, r.satComment, r.satResolution, r.satAt, r.unreachable,
		t.Submitter.Kind, t.Submitter.ID, t.ReceivedAt, t.CreatedAt, t.UpdatedAt, r.resolved, r.closed,
		r.archived, t.Version, t.CustomerTier, r.verifyMethod, r.verified, r.verifiedAt, r.erasedAt, r.wordsErased,
		nullUUID(t.IncidentID))
	return nil
}

// updateTicketSQL rewrites every column a change may touch. The caller holds the row lock (FOR UPDATE), so
// prevVersion is current and the check only guards against a caller that forgot the lock. The id, number,
// submission fields (with the tier and identity check) and created_at never change here; the erasure
// columns change only through EraseCustomerTickets, which takes the same row lock, so a change loaded
// after an erasure writes the erased values back unchanged.
const updateTicketSQL = `UPDATE tickets SET status = $2, type = $3, subcategory = $4, classification_source = $5,
	classification_rule_id = $6, urgency = $7, level = $8, priority = $9, customer_id = $10,
	contact_kind = $11, contact_value = $12, consent_purpose = $13, group_id = $14, assignee_id = $15,
	escalation_level = $16, resolution_summary = $17, resolution_count = $18, handling_count = $19,
	first_reply_at = $20, satisfaction_rating = $21, satisfaction_comment = $22, satisfaction_resolution = $23,
	satisfaction_recorded_at = $24, customer_unreachable = $25, updated_at = $26, resolved_at = $27,
	closed_at = $28, archived_at = $29, version = $30, incident_id = $32
	WHERE ticket_id = $1 AND version = $31`

// queueUpdateTicket adds the ticket's UPDATE to b; prevVersion is the version the row was loaded with.
func queueUpdateTicket(b *pgx.Batch, t *ticket.Ticket, prevVersion int64) error {
	r, err := toRow(t)
	if err != nil {
		return err
	}
	b.Queue(updateTicketSQL,
		t.ID, r.status, r.typ, t.Subcategory, r.source, r.ruleID, r.urgency, r.level, r.priority, r.customerID,
		r.contactKind, r.contactValue, r.consentPurpose, r.groupID, r.assigneeID, int32(t.EscalationLevel),
		t.ResolutionSummary, int32(t.ResolutionCount), int32(t.HandlingCount), r.firstReply, r.satRating,
		r.satComment, r.satResolution, r.satAt, r.unreachable, t.UpdatedAt, r.resolved, r.closed, r.archived,
		t.Version, prevVersion, nullUUID(t.IncidentID))
	return nil
}

// GetTicket returns the ticket with id if it lies in sc, else NotFound.
func (s *Store) GetTicket(ctx context.Context, id uuid.UUID, sc auth.TicketScope) (*ticket.Ticket, error) {
	a := args{id}
	t, err := scanTicket(s.pool.QueryRow(ctx, `SELECT `+ticketColumns+` FROM tickets WHERE ticket_id = $1`+scopedWhere(sc, a.add), a...))
	if isNoRows(err) {
		return nil, apierr.NotFound(ResourceTicket, id.String())
	}
	if err != nil {
		return nil, fmt.Errorf("load ticket %s: %w", id, err)
	}
	return t, nil
}

func nullUUID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id
}

func derefUUID(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
