package ticket

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
)

// Ticket is the intake aggregate: one customer issue from submission to archive. Its exported fields are
// for the store, which loads and saves them; every other caller changes a ticket only through its methods,
// which enforce the lifecycle (transition.go) and report what happened as a Change.
type Ticket struct {
	ID      uuid.UUID // UUIDv7, chosen by the app
	Number  string    // GD + business day + serial, see FormatNumber
	Subject string    // the adapter's subject, or the start of the description
	Channel Channel   // where it came in; also the default reply channel
	Status  Status

	Type                 Type
	Subcategory          string // code within Type; "" when not classified that far
	Urgency              Urgency
	Level                Level    // LevelNone unless Type is complaint
	Priority             Priority // always DerivePriority(Urgency, Level)
	RuleID               string   // the rule that classified the ticket, when ClassificationSource is SourceRule
	ClassificationSource ClassificationSource

	CustomerID   uuid.UUID // uuid.Nil when neither the adapter nor the customer service knew the customer
	CustomerTier string    // the customer service's tier code at submit; "" when not resolved there
	// Verification is the outcome of the identity check at submit; nil when none was made.
	Verification *IdentityVerification
	OrderNumber  string
	MemberNumber string
	Description  string    // the customer's own words at submission
	KeyFacts     []KeyFact // facts the adapter verified (e.g. an order's product)
	Attachments  []Attachment
	Contact      *Contact // nil unless given with consent: without consent it is never stored
	// Erasure is set once the customer's personal data was erased from the ticket; nil otherwise.
	Erasure *Erasure

	GroupID         uuid.UUID // uuid.Nil when not assigned to a group
	AssigneeID      uuid.UUID // uuid.Nil when no agent holds it
	EscalationLevel int       // 0 until escalated; +1 per Escalate

	ResolutionSummary string
	ResolutionCount   int                 // how many times it was resolved; a reopen and resolve makes it 2
	Satisfaction      *SatisfactionRecord // for the resolution it names; nil when none yet
	HandlingCount     int                 // agent replies plus notes: the "handling records" archiving needs
	FirstReplyAt      time.Time           // the first agent reply (first response time); zero until then

	Submitter  Actor
	ReceivedAt time.Time // the adapter's time, to the second
	CreatedAt  time.Time
	UpdatedAt  time.Time
	ResolvedAt time.Time // zero unless resolved or closed
	ClosedAt   time.Time // zero unless closed or archived
	ArchivedAt time.Time

	// IncidentID is the incident the ticket is linked to (emergency mode); uuid.Nil when none.
	IncidentID uuid.UUID

	// Version counts the changes: 1 after creation, +1 per event. It is the per-ticket event sequence and
	// the basis of the etag, so it must be saved with the state in the same transaction.
	Version int64
}

// KeyFact is one fact the adapter verified before handing the ticket over, e.g. {"product", "X200"}.
type KeyFact struct {
	Name  string
	Value string
}

// Attachment describes a file the customer sent; intake stores the reference only, never the bytes.
type Attachment struct {
	Name        string
	ContentType string
	Size        int64 // bytes
	URL         string
}

// Contact is a customer contact kept on the ticket. It exists only when the customer consented to its use
// for Purpose; personal data, so it never appears in events or logs.
type Contact struct {
	Kind    ContactKind
	Value   string // phone number, email address or WeChat id
	Purpose string // what the customer consented to, e.g. "service follow-up"
}

// NewTicket is the input to New: a submission as the adapter made it.
type NewTicket struct {
	ID         uuid.UUID // UUIDv7 from the app
	Number     string    // from FormatNumber with the business day and the day's next serial
	Channel    Channel
	ReceivedAt time.Time
	Submitter  Actor

	Contact        *Contact // may be nil
	ContactConsent bool     // without it the contact is dropped, and the ticket is still accepted

	CustomerID   uuid.UUID
	CustomerTier string                // as the customer service resolved it; "" when unknown
	Verification *IdentityVerification // the identity check's outcome; nil when none was made
	OrderNumber  string
	MemberNumber string
	Subject      string // optional; defaults to the start of the description
	Description  string
	KeyFacts     []KeyFact
	Attachments  []Attachment
	Hints        Hints
	// MatchIncident, when set, is asked once the ticket is classified whether an active incident takes it;
	// it returns nil when none does.
	MatchIncident func(IncidentFacts) *IncidentLink
}

// IncidentFacts are what an incident's scope matches a new ticket on.
type IncidentFacts struct {
	Channel     string // lower snake channel code
	Subcategory string
	Text        string // subject and description
	ReceivedAt  time.Time
}

// IncidentLink is what linking a ticket to an incident does to it: the incident's id (and number, for the
// timeline), the emergency team's group and the urgency the ticket is raised to at least.
type IncidentLink struct {
	ID          uuid.UUID
	Number      string
	TeamGroupID uuid.UUID
	MinUrgency  Urgency
}

// Policy is the configured and admin-owned input to creating tickets, loaded by the app per request.
type Policy struct {
	Taxonomy        Taxonomy
	Rules           []Rule
	MaxReceivedSkew time.Duration // how far the received time may lie in the future (adapter clock skew)
}

// New validates a submission, classifies it and returns the ticket in status new (Version 1) with its
// created event and timeline entry. Client mistakes come back as one apierr InvalidArgument listing every
// bad field by its path in the submit request: channel, received_time, subject, description, order_number,
// member_number, key_facts[i].name|value, attachments[i].name|content_type|size_bytes|url,
// contact.kind|value|consent_purpose, type_hint, subcategory_hint, urgency_hint, level_hint.
// A missing ID, a malformed Number or a bad Submitter are programming errors (plain errors, Internal).
//
// Rules whose target is no longer in the taxonomy are skipped, so deleting a subcategory cannot produce
// tickets classified into it.
func New(in NewTicket, p Policy, now time.Time) (*Ticket, Change, error) {
	if in.ID == uuid.Nil {
		return nil, Change{}, errors.New("new ticket: id is required")
	}
	if _, _, ok := ParseNumber(in.Number); !ok {
		return nil, Change{}, fmt.Errorf("new ticket: malformed number %q", in.Number)
	}
	if err := in.Submitter.Validate(); err != nil {
		return nil, Change{}, fmt.Errorf("new ticket: submitter: %w", err)
	}
	if err := ValidateNew(in, p, now); err != nil {
		return nil, Change{}, err
	}

	var rules []Rule
	for _, r := range p.Rules {
		if r.Target == "" {
			rules = append(rules, r)
		} else if typ, code, err := ParseTarget(r.Target); err == nil && p.Taxonomy.Has(typ, code) {
			rules = append(rules, r)
		}
	}
	d := Decide(in.Description, in.Hints, rules)

	t := &Ticket{
		ID:                   in.ID,
		Number:               in.Number,
		Subject:              in.Subject,
		Channel:              in.Channel,
		Status:               StatusNew,
		Type:                 d.Type,
		Subcategory:          d.Subcategory,
		Urgency:              d.Urgency,
		Level:                d.Level,
		Priority:             d.Priority,
		RuleID:               d.RuleID,
		ClassificationSource: d.Source,
		CustomerID:           in.CustomerID,
		CustomerTier:         in.CustomerTier,
		OrderNumber:          in.OrderNumber,
		MemberNumber:         in.MemberNumber,
		Description:          in.Description,
		KeyFacts:             slices.Clone(in.KeyFacts),
		Attachments:          slices.Clone(in.Attachments),
		Submitter:            in.Submitter,
		ReceivedAt:           in.ReceivedAt,
		CreatedAt:            now,
	}
	if t.Subject == "" {
		t.Subject = DefaultSubject(in.Description)
	}
	if in.Contact != nil && in.ContactConsent {
		c := *in.Contact
		t.Contact = &c
	}
	if in.Verification != nil {
		v := *in.Verification
		t.Verification = &v
	}
	var link *IncidentLink
	if in.MatchIncident != nil {
		link = in.MatchIncident(IncidentFacts{Channel: t.Channel.String(), Subcategory: t.Subcategory,
			Text: t.Subject + "\n" + t.Description, ReceivedAt: t.ReceivedAt})
	}
	text := ""
	if link != nil {
		// An incident's tickets jump the queue: urgency rises to the incident's floor, priority with it.
		t.IncidentID = link.ID
		if link.MinUrgency > t.Urgency {
			t.Urgency = link.MinUrgency
			t.Priority = DerivePriority(t.Urgency, t.Level)
		}
		text = "linked to incident " + link.Number
	}
	ch := t.record(in.Submitter, now, recordSpec{kind: EventCreated, to: StatusNew, text: text, fill: func(e *Event) {
		e.RuleID, e.Source = t.RuleID, t.ClassificationSource
		if link != nil {
			e.LinkedIncident, e.IncidentGroupID = link.ID, link.TeamGroupID
		}
	}})
	return t, ch, nil
}

// ValidateNew checks a submission the way New does, without making a ticket: the app calls it before it
// asks other services about a submission, so an invalid one is refused before it has any effect there.
// ID, Number and Submitter are not checked (the app sets them).
func ValidateNew(in NewTicket, p Policy, now time.Time) error {
	var errs []error
	if !in.Channel.Valid() {
		errs = append(errs, apierr.InvalidField("channel", "is required"))
	}
	errs = append(errs,
		CheckReceivedAt(in.ReceivedAt, now, p.MaxReceivedSkew),
		CheckText("subject", in.Subject, MaxSubjectRunes, false),
		CheckText("description", in.Description, MaxDescriptionRunes, true),
		CheckText("order_number", in.OrderNumber, MaxReferenceRunes, false),
		CheckText("member_number", in.MemberNumber, MaxReferenceRunes, false),
	)
	if len(in.KeyFacts) > MaxKeyFacts {
		errs = append(errs, apierr.InvalidField("key_facts", fmt.Sprintf("at most %d", MaxKeyFacts)))
	}
	for i, f := range in.KeyFacts {
		errs = append(errs,
			CheckText(fmt.Sprintf("key_facts[%d].name", i), f.Name, MaxKeyFactNameRunes, true),
			CheckText(fmt.Sprintf("key_facts[%d].value", i), f.Value, MaxKeyFactValueRunes, true),
		)
	}
	if len(in.Attachments) > MaxAttachments {
		errs = append(errs, apierr.InvalidField("attachments", fmt.Sprintf("at most %d", MaxAttachments)))
	}
	for i, a := range in.Attachments {
		errs = append(errs, validateAttachment(fmt.Sprintf("attachments[%d]", i), a)...)
	}
	if in.Contact != nil && in.ContactConsent {
		errs = append(errs, validateContact(*in.Contact)...)
	}
	errs = append(errs, validateHints(in.Hints, p.Taxonomy)...)
	if v := in.Verification; v != nil && !v.Method.Valid() {
		errs = append(errs, apierr.InvalidField("verification", "unknown verification method"))
	}
	return collect(errs...)
}

func validateAttachment(prefix string, a Attachment) []error {
	errs := []error{
		CheckText(prefix+".name", a.Name, MaxAttachmentName, true),
		CheckText(prefix+".content_type", a.ContentType, MaxContentTypeRunes, true),
	}
	if a.Size < 0 {
		errs = append(errs, apierr.InvalidField(prefix+".size_bytes", "must not be negative"))
	}
	if err := CheckText(prefix+".url", a.URL, MaxURLRunes, true); err != nil {
		errs = append(errs, err)
	} else if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		// Agents open these links, so only absolute web URLs: no javascript:, file: or relative paths.
		errs = append(errs, apierr.InvalidField(prefix+".url", "must be an absolute http or https URL"))
	}
	return errs
}

func validateContact(c Contact) []error {
	var errs []error
	if !c.Kind.Valid() {
		errs = append(errs, apierr.InvalidField("contact.kind", "must be phone, email or wechat"))
	}
	if err := CheckText("contact.value", c.Value, MaxContactValueRunes, true); err != nil {
		errs = append(errs, err)
	} else if !plausibleContact(c.Kind, c.Value) {
		errs = append(errs, apierr.InvalidField("contact.value", fmt.Sprintf("is not a plausible %s", c.Kind)))
	}
	// Consent is always for a purpose (PIPL): a consent without one cannot be honoured later.
	errs = append(errs, CheckText("contact.consent_purpose", c.Purpose, MaxPurposeRunes, true))
	return errs
}

// plausibleContact rejects values that cannot be the kind they claim; it is deliberately loose (real
// verification happens when the contact is used).
func plausibleContact(k ContactKind, v string) bool {
	switch k {
	case ContactPhone:
		digits := 0
		for i, r := range v {
			switch {
			case r >= '0' && r <= '9':
				digits++
			case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')':
			default:
				return false
			}
		}
		return digits >= 5 && digits <= 20
	case ContactEmail:
		local, domain, ok := strings.Cut(v, "@")
		return ok && local != "" && domain != "" && !strings.ContainsAny(v, " \t\r\n")
	default:
		return true
	}
}

func validateHints(h Hints, tax Taxonomy) []error {
	var errs []error
	if !h.Type.Valid() {
		errs = append(errs, apierr.InvalidField("type_hint", "unknown type"))
	}
	if h.Subcategory != "" {
		switch {
		case h.Type == TypeUnclassified:
			errs = append(errs, apierr.InvalidField("subcategory_hint", "requires type_hint"))
		case !tax.Has(h.Type, h.Subcategory):
			errs = append(errs, apierr.InvalidField("subcategory_hint", fmt.Sprintf("%q is not an active subcategory", FormatTarget(h.Type, h.Subcategory))))
		}
	}
	if h.Urgency != UrgencyUnspecified && !h.Urgency.Valid() {
		errs = append(errs, apierr.InvalidField("urgency_hint", "unknown urgency"))
	}
	switch {
	case !h.Level.Valid():
		errs = append(errs, apierr.InvalidField("level_hint", "unknown level"))
	case h.Level != LevelNone && h.Type != TypeUnclassified && h.Type != TypeComplaint:
		// Without a type hint the rules may still make it a complaint; with another type it never is one.
		errs = append(errs, apierr.InvalidField("level_hint", "only complaints have a level"))
	}
	return errs
}

// recordSpec describes one change for record.
type recordSpec struct {
	kind     EventKind
	from, to Status // zero unless the status moved
	text     string
	channel  Channel
	attach   []Attachment // a customer message's attachments, for its timeline entry
	fill     func(*Event) // adds kind-specific event data; may be nil
}

// record is the single place a change is committed: it bumps Version by one, stamps UpdatedAt and builds
// the event and timeline entry with the same Seq, so "one call, one event, one version" cannot drift.
func (t *Ticket) record(actor Actor, now time.Time, s recordSpec) Change {
	t.Version++
	t.UpdatedAt = now
	e := Event{
		Kind: s.kind, TicketID: t.ID, Seq: t.Version, OccurredAt: now, Actor: actor, From: s.from, To: s.to,
		Number: t.Number, Channel: t.Channel, Status: t.Status, Type: t.Type, Subcategory: t.Subcategory,
		Urgency: t.Urgency, Level: t.Level, Priority: t.Priority, GroupID: t.GroupID, AssigneeID: t.AssigneeID,
		CustomerID: t.CustomerID, EscalationLevel: t.EscalationLevel, ResolutionCount: t.ResolutionCount,
		ReceivedAt: t.ReceivedAt,
	}
	if s.fill != nil {
		s.fill(&e)
	}
	entry := TimelineEntry{
		Seq: t.Version, Kind: s.kind, Actor: actor, At: now, Text: s.text, Channel: s.channel, From: s.from, To: s.to,
		Attachments: s.attach,
	}
	return Change{Events: []Event{e}, Timeline: []TimelineEntry{entry}}
}

// DefaultSubject is the subject of a ticket whose adapter sent none: the first non-blank line of the
// description, cut to DefaultSubjectRunes characters (with an ellipsis when cut), so queues show something
// readable.
func DefaultSubject(description string) string {
	line := ""
	for l := range strings.Lines(description) {
		if l = strings.TrimSpace(l); l != "" {
			line = l
			break
		}
	}
	if utf8.RuneCountInString(line) <= DefaultSubjectRunes {
		return line
	}
	r := []rune(line)
	return strings.TrimSpace(string(r[:DefaultSubjectRunes-1])) + "…"
}
