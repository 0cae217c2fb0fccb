// Package incident holds emergency mode's rules in plain Go (issue #9): what an incident is, which tickets
// its scope takes, how far a linked ticket's urgency is raised, the life of an incident (active, then
// closed for good), compensation approval (never by its proposer) and the post-mortem in Markdown. It
// does no I/O.
package incident

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
)

// Kind is what went wrong.
type Kind string

// Kinds.
const (
	KindSystemFailure Kind = "system_failure"
	KindMassComplaint Kind = "mass_complaint"
	KindProductSafety Kind = "product_safety"
	KindOther         Kind = "other"
)

// Severity grades an incident.
type Severity string

// Severities, most severe first.
const (
	Sev1 Severity = "sev1"
	Sev2 Severity = "sev2"
	Sev3 Severity = "sev3"
)

// MinUrgency is the urgency code (intake's ticket urgency) a linked ticket is raised to at least: a SEV1
// makes every linked ticket critical, the others urgent.
func (s Severity) MinUrgency() string {
	if s == Sev1 {
		return "critical"
	}
	return "urgent"
}

// Status is where an incident stands.
type Status string

// Statuses.
const (
	Active Status = "active"
	Closed Status = "closed"
)

// Reasons of the FailedPrecondition errors.
const (
	ReasonClosed           = "INCIDENT_CLOSED"
	ReasonDecided          = "COMPENSATION_DECIDED"
	ReasonSelfApproval     = "COMPENSATION_SELF_APPROVAL"
	ReasonSuggestionDone   = "SUGGESTION_DECIDED"
	ReasonTicketNotLinked  = "TICKET_NOT_LINKED"
	ReasonResolveNeedsText = "INCIDENT_RESOLUTION_SUMMARY"
)

// Scope says which tickets belong to an incident: each list that is not empty must match, and the ticket
// must have been received in [Start, End) (End zero: open).
type Scope struct {
	Channels      []string // lower snake channel codes
	Subcategories []string // subcategory codes
	Keywords      []string // matched case-insensitively in the ticket's words
	Start, End    time.Time
}

// Facts are what a scope matches on.
type Facts struct {
	Channel, Subcategory, Text string
	ReceivedAt                 time.Time
}

// Validate checks the scope's meaning, naming fields under prefix. At least one of channels,
// subcategories and keywords is required: an incident must never swallow every ticket.
func (s Scope) Validate(prefix string) error {
	if len(s.Channels) == 0 && len(s.Subcategories) == 0 && len(s.Keywords) == 0 {
		return apierr.InvalidField(prefix, "name at least one of channels, subcategories and keywords")
	}
	for i, k := range s.Keywords {
		if strings.TrimSpace(k) == "" {
			return apierr.InvalidField(fmt.Sprintf("%s.keywords[%d]", prefix, i), "must not be blank")
		}
	}
	if !s.End.IsZero() && !s.End.After(s.Start) {
		return apierr.InvalidField(prefix+".end_time", "must be after start_time")
	}
	return nil
}

// Matches reports whether a ticket with facts f belongs to the scope.
func (s Scope) Matches(f Facts) bool {
	if len(s.Channels) > 0 && !slices.Contains(s.Channels, f.Channel) {
		return false
	}
	if len(s.Subcategories) > 0 && !slices.Contains(s.Subcategories, f.Subcategory) {
		return false
	}
	if len(s.Keywords) > 0 {
		text := strings.ToLower(f.Text)
		if !slices.ContainsFunc(s.Keywords, func(k string) bool { return strings.Contains(text, strings.ToLower(strings.TrimSpace(k))) }) {
			return false
		}
	}
	if !s.Start.IsZero() && f.ReceivedAt.Before(s.Start) {
		return false
	}
	return s.End.IsZero() || f.ReceivedAt.Before(s.End)
}

// Incident is an emergency handled as one.
type Incident struct {
	ID             uuid.UUID
	Number         string
	Kind           Kind
	Severity       Severity
	Title          string
	Scope          Scope
	TeamGroupID    uuid.UUID
	CommanderID    string
	StandardAnswer string
	PublicNotice   string
	Status         Status
	DeclaredBy     string
	DeclaredAt     time.Time
	ClosedAt       time.Time
	Cause          string
	FollowUps      []string
	SuggestionID   uuid.UUID
	// Version counts changes (the etag); 1 after the declaration.
	Version int64
}

// Validate checks a new or changed incident's meaning.
func (i Incident) Validate() error {
	switch i.Kind {
	case KindSystemFailure, KindMassComplaint, KindProductSafety, KindOther:
	default:
		return apierr.InvalidField("incident.kind", "must be system failure, mass complaint, product safety or other")
	}
	switch i.Severity {
	case Sev1, Sev2, Sev3:
	default:
		return apierr.InvalidField("incident.severity", "must be SEV1, SEV2 or SEV3")
	}
	if strings.TrimSpace(i.Title) == "" {
		return apierr.InvalidField("incident.title", "is required")
	}
	if i.TeamGroupID == uuid.Nil {
		return apierr.InvalidField("incident.team_group_id", "is required")
	}
	if strings.TrimSpace(i.CommanderID) == "" {
		return apierr.InvalidField("incident.commander_id", "is required")
	}
	return i.Scope.Validate("incident.scope")
}

// CheckActive refuses a change to a closed incident.
func (i Incident) CheckActive() error {
	if i.Status != Active {
		return apierr.FailedPrecondition(ReasonClosed, fmt.Sprintf("incident %s is %s", i.Number, i.Status)).
			WithMeta("current_state", string(i.Status))
	}
	return nil
}

// Close ends an active incident at now with its cause and follow-ups.
func (i *Incident) Close(cause string, followUps []string, now time.Time) error {
	if err := i.CheckActive(); err != nil {
		return err
	}
	if strings.TrimSpace(cause) == "" {
		return apierr.InvalidField("cause", "is required")
	}
	i.Status, i.ClosedAt, i.Cause, i.FollowUps = Closed, now, cause, followUps
	i.Version++
	return nil
}

// FormatNumber renders an incident's number: INC + business day + a serial of at least three digits.
func FormatNumber(day time.Time, serial int64) string {
	return fmt.Sprintf("INC%s%03d", day.Format("20060102"), serial)
}

// CompensationState is where a compensation stands.
type CompensationState string

// Compensation states.
const (
	Proposed CompensationState = "proposed"
	Approved CompensationState = "approved"
	Rejected CompensationState = "rejected"
)

// Compensation is an appeasement offered on one linked ticket.
type Compensation struct {
	ID, IncidentID, TicketID uuid.UUID
	Kind                     string // refund, coupon, points, gift, other
	Amount                   int64  // smallest unit
	Currency                 string
	Note                     string
	State                    CompensationState
	ProposedBy, DecidedBy    string
	ProposedAt, DecidedAt    time.Time
	DecisionNote             string
}

// Decide approves or rejects a proposed compensation. The proposer never decides their own: the point of
// an approval is a second person.
func (c *Compensation) Decide(approve bool, by, note string, now time.Time) error {
	if c.State != Proposed {
		return apierr.FailedPrecondition(ReasonDecided, fmt.Sprintf("the compensation is already %s", c.State)).
			WithMeta("current_state", string(c.State))
	}
	if by == c.ProposedBy {
		return apierr.FailedPrecondition(ReasonSelfApproval, "the proposer cannot decide their own compensation")
	}
	c.State, c.DecidedBy, c.DecidedAt, c.DecisionNote = Rejected, by, now, note
	if approve {
		c.State = Approved
	}
	return nil
}
