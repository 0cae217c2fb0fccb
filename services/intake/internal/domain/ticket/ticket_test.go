package ticket

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
)

func TestNewCreatesANewTicket(t *testing.T) {
	t.Parallel()
	in := validSubmission()
	in.Description = "I want a refund"
	in.CustomerID = testCust
	in.KeyFacts = []KeyFact{{Name: "product", Value: "X200"}}
	in.Attachments = []Attachment{{Name: "photo.jpg", ContentType: "image/jpeg", Size: 2048, URL: "https://files.example.com/a/photo.jpg"}}
	tk, ch, err := New(in, testPolicy(), testNow)
	require.NoError(t, err)

	require.Equal(t, StatusNew, tk.Status)
	require.Equal(t, int64(1), tk.Version)
	require.Equal(t, TypeRequest, tk.Type)
	require.Equal(t, "refund", tk.Subcategory)
	require.Equal(t, "default.request.refund", tk.RuleID)
	require.Equal(t, SourceRule, tk.ClassificationSource)
	require.Equal(t, UrgencyNormal, tk.Urgency)
	require.Equal(t, LevelNone, tk.Level)
	require.Equal(t, PriorityP4, tk.Priority)
	require.Equal(t, testNow, tk.CreatedAt)
	require.Equal(t, testNow, tk.UpdatedAt)
	require.Equal(t, in.ReceivedAt, tk.ReceivedAt)
	require.Equal(t, adapter, tk.Submitter)
	require.Equal(t, in.KeyFacts, tk.KeyFacts)
	require.Equal(t, in.Attachments, tk.Attachments)

	requireOneChange(t, tk, 0, ch, EventCreated)
	e := ch.Events[0]
	require.Equal(t, StatusUnspecified, e.From)
	require.Equal(t, StatusNew, e.To)
	require.Equal(t, "GD202310260001", e.Number)
	require.Equal(t, "default.request.refund", e.RuleID)
	require.Equal(t, SourceRule, e.Source)
	require.Equal(t, testCust, e.CustomerID)
	require.Equal(t, PriorityP4, e.Priority)
	require.Equal(t, adapter, e.Actor)
	require.Equal(t, testNow, e.OccurredAt)
	require.Equal(t, adapter, ch.Timeline[0].Actor)
}

func TestNewClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		hints    Hints
		typ      Type
		level    Level
		priority Priority
		source   ClassificationSource
	}{
		{"a fire reported as a complaint is l1 and p1", "手机充电时起火了", Hints{Type: TypeComplaint, Subcategory: "product_quality"}, TypeComplaint, LevelL1, PriorityP1, SourceAdapterHint},
		{"a fire on an unhinted ticket is p1 without level", "手机充电时起火了", Hints{}, TypeUnclassified, LevelNone, PriorityP1, SourceNone},
		{"a rude courier is a p3 complaint", "快递员态度很差我要投诉", Hints{}, TypeComplaint, LevelL3, PriorityP3, SourceRule},
		{"an urgency hint alone makes p2", "hello", Hints{Urgency: UrgencyUrgent}, TypeUnclassified, LevelNone, PriorityP2, SourceNone},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := validSubmission()
			in.Description, in.Hints = tc.text, tc.hints
			tk, _, err := New(in, testPolicy(), testNow)
			require.NoError(t, err)
			require.Equal(t, tc.typ, tk.Type)
			require.Equal(t, tc.level, tk.Level)
			require.Equal(t, tc.priority, tk.Priority)
			require.Equal(t, tc.source, tk.ClassificationSource)
		})
	}
}

func TestNewSkipsRulesTargetingDeletedSubcategories(t *testing.T) {
	t.Parallel()
	p := testPolicy()
	p.Taxonomy = Taxonomy{Subcategories: []Subcategory{{TypeInquiry, "order_status", "订单状态", "Order status"}}}
	in := validSubmission()
	in.Description = "refund my order"
	tk, _, err := New(in, p, testNow)
	require.NoError(t, err)
	require.Equal(t, "inquiry.order_status", FormatTarget(tk.Type, tk.Subcategory))
}

func TestNewKeepsContactOnlyWithConsent(t *testing.T) {
	t.Parallel()
	contact := &Contact{Kind: ContactPhone, Value: "+86 138-0000-0000", Purpose: "service follow-up"}
	tests := []struct {
		name    string
		consent bool
		kept    bool
	}{
		{"a contact given with consent is kept", true, true},
		{"a contact without consent is dropped and the ticket accepted", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := validSubmission()
			in.Contact, in.ContactConsent = contact, tc.consent
			tk, _, err := New(in, testPolicy(), testNow)
			require.NoError(t, err)
			if !tc.kept {
				require.Nil(t, tk.Contact)
				return
			}
			require.Equal(t, *contact, *tk.Contact)
			require.NotSame(t, contact, tk.Contact, "the ticket must own its copy")
		})
	}
}

func TestNewRejectsBadSubmissions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(in *NewTicket)
		fields []string
	}{
		{"no channel", func(in *NewTicket) { in.Channel = ChannelUnspecified }, []string{"channel"}},
		{"received an hour in the future", func(in *NewTicket) { in.ReceivedAt = testNow.Add(time.Hour) }, []string{"received_time"}},
		{"no received time", func(in *NewTicket) { in.ReceivedAt = time.Time{} }, []string{"received_time"}},
		{"a blank description", func(in *NewTicket) { in.Description = " " }, []string{"description"}},
		{"a description with a nul byte", func(in *NewTicket) { in.Description = "a\x00b" }, []string{"description"}},
		{"a description of invalid utf-8", func(in *NewTicket) { in.Description = "\xc3\x28" }, []string{"description"}},
		{"a description over the limit", func(in *NewTicket) { in.Description = strings.Repeat("字", MaxDescriptionRunes+1) }, []string{"description"}},
		{"an order number over the limit", func(in *NewTicket) { in.OrderNumber = strings.Repeat("1", MaxReferenceRunes+1) }, []string{"order_number"}},
		{"a member number with a nul byte", func(in *NewTicket) { in.MemberNumber = "\x00" }, []string{"member_number"}},
		{"a key fact without a name", func(in *NewTicket) { in.KeyFacts = []KeyFact{{Name: "ok", Value: "v"}, {Value: "v"}} }, []string{"key_facts[1].name"}},
		{"too many key facts", func(in *NewTicket) {
			in.KeyFacts = make([]KeyFact, MaxKeyFacts+1)
			for i := range in.KeyFacts {
				in.KeyFacts[i] = KeyFact{Name: "n", Value: "v"}
			}
		}, []string{"key_facts"}},
		{"an attachment with a javascript url", func(in *NewTicket) {
			in.Attachments = []Attachment{{Name: "x", ContentType: "text/html", URL: "javascript:alert(1)"}}
		}, []string{"attachments[0].url"}},
		{"an attachment with a relative url", func(in *NewTicket) {
			in.Attachments = []Attachment{{Name: "x", ContentType: "image/png", URL: "/files/x.png"}}
		}, []string{"attachments[0].url"}},
		{"an attachment with a negative size and no name", func(in *NewTicket) {
			in.Attachments = []Attachment{{ContentType: "image/png", Size: -1, URL: "https://f.example.com/x"}}
		}, []string{"attachments[0].name", "attachments[0].size_bytes"}},
		{"too many attachments", func(in *NewTicket) {
			in.Attachments = make([]Attachment, MaxAttachments+1)
			for i := range in.Attachments {
				in.Attachments[i] = Attachment{Name: "x", ContentType: "image/png", URL: "https://f.example.com/x"}
			}
		}, []string{"attachments"}},
		{"a consented email that is not one", func(in *NewTicket) {
			in.Contact, in.ContactConsent = &Contact{Kind: ContactEmail, Value: "nobody", Purpose: "follow-up"}, true
		}, []string{"contact.value"}},
		{"a consented phone with letters", func(in *NewTicket) {
			in.Contact, in.ContactConsent = &Contact{Kind: ContactPhone, Value: "call me", Purpose: "follow-up"}, true
		}, []string{"contact.value"}},
		{"a consented contact without kind or purpose", func(in *NewTicket) {
			in.Contact, in.ContactConsent = &Contact{Value: "wxid_123"}, true
		}, []string{"contact.kind", "contact.consent_purpose"}},
		{"a subcategory hint without a type", func(in *NewTicket) { in.Hints = Hints{Subcategory: "refund"} }, []string{"subcategory_hint"}},
		{"a subcategory hint outside the taxonomy", func(in *NewTicket) { in.Hints = Hints{Type: TypeRequest, Subcategory: "teleport"} }, []string{"subcategory_hint"}},
		{"an unknown type hint", func(in *NewTicket) { in.Hints = Hints{Type: Type(9)} }, []string{"type_hint"}},
		{"an unknown urgency hint", func(in *NewTicket) { in.Hints = Hints{Urgency: Urgency(9)} }, []string{"urgency_hint"}},
		{"an unknown level hint", func(in *NewTicket) { in.Hints = Hints{Level: Level(9)} }, []string{"level_hint"}},
		{"a level hint on an inquiry", func(in *NewTicket) { in.Hints = Hints{Type: TypeInquiry, Level: LevelL2} }, []string{"level_hint"}},
		{"a subject over the limit", func(in *NewTicket) { in.Subject = strings.Repeat("s", MaxSubjectRunes+1) }, []string{"subject"}},
		{"every problem is reported at once", func(in *NewTicket) {
			in.Channel, in.Description, in.Hints = ChannelUnspecified, "", Hints{Subcategory: "refund"}
		}, []string{"channel", "description", "subcategory_hint"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := validSubmission()
			tc.change(&in)
			tk, ch, err := New(in, testPolicy(), testNow)
			require.Nil(t, tk)
			require.True(t, ch.Empty())
			for _, f := range tc.fields {
				requireInvalidField(t, err, f)
			}
			e, _ := apierr.As(err)
			require.Len(t, e.Fields, len(tc.fields), "%v", err)
		})
	}
}

func TestNewTreatsMissingIdentityAsAProgrammingError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(in *NewTicket)
	}{
		{"no id", func(in *NewTicket) { in.ID = uuid.Nil }},
		{"a malformed number", func(in *NewTicket) { in.Number = "GD2023" }},
		{"a submitter without kind", func(in *NewTicket) { in.Submitter = Actor{ID: "x"} }},
		{"a submitter without id", func(in *NewTicket) { in.Submitter = Actor{Kind: ActorAdapter} }},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is internal", func(t *testing.T) {
			t.Parallel()
			in := validSubmission()
			tc.change(&in)
			_, _, err := New(in, testPolicy(), testNow)
			require.Error(t, err)
			require.Equal(t, apierr.KindInternal, apierr.KindOf(err))
		})
	}
}

// TestEventsCarryNoPersonalDataOrText walks a ticket through its whole life with recognisable text in every
// text field and checks that no event (which fans out to every consumer) contains any of it.
func TestEventsCarryNoPersonalDataOrText(t *testing.T) {
	t.Parallel()
	secrets := []string{"SECRET-DESC", "secret@example.com", "SECRET-REPLY", "SECRET-MSG", "SECRET-NOTE", "SECRET-WHY", "SECRET-SUM", "SECRET-COMMENT", "SECRET-ORDER"}
	in := validSubmission()
	in.Description = "SECRET-DESC refund"
	in.OrderNumber = "SECRET-ORDER"
	in.Contact, in.ContactConsent = &Contact{Kind: ContactEmail, Value: "secret@example.com", Purpose: "follow-up"}, true
	tk, ch, err := New(in, testPolicy(), testNow)
	require.NoError(t, err)
	events := ch.Events
	steps := []func() (Change, error){
		func() (Change, error) { return tk.Assign(testGroup, testAgent, staff, testNow) },
		func() (Change, error) { return tk.Reply("SECRET-REPLY", ChannelEmail, true, staff, testNow) },
		func() (Change, error) {
			return tk.AppendCustomerMessage("SECRET-MSG", ChannelUnspecified, nil, adapter, testNow)
		},
		func() (Change, error) { return tk.AddNote("SECRET-NOTE", staff, testNow) },
		func() (Change, error) { return tk.Escalate("SECRET-WHY", staff, testNow) },
		func() (Change, error) { return tk.Resolve("SECRET-SUM", staff, testNow) },
		func() (Change, error) {
			return tk.RecordSatisfaction(SatisfactionNeutral, "SECRET-COMMENT", adapter, testNow)
		},
		func() (Change, error) { return tk.Close(staff, testNow) },
		func() (Change, error) { return tk.Archive(staff, testNow) },
	}
	for _, step := range steps {
		ch, err := step()
		require.NoError(t, err)
		events = append(events, ch.Events...)
	}
	require.Equal(t, StatusArchived, tk.Status)
	require.Len(t, events, 10)
	for i, e := range events {
		require.Equal(t, int64(i+1), e.Seq, "sequence numbers are contiguous")
		dump := fmt.Sprintf("%+v", e)
		for _, s := range secrets {
			require.NotContains(t, dump, s, "event %s leaks text", e.Kind)
		}
	}
}

func TestNewSubject(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("长", DefaultSubjectRunes+5)
	tests := []struct {
		name, subject, description, want string
	}{
		{"the adapter's subject wins", "Broken kettle", "it broke", "Broken kettle"},
		{"without one the description's first line is used", "", "\n  My order is late  \nsecond line", "My order is late"},
		{"a long first line is cut with an ellipsis", "", long, strings.Repeat("长", DefaultSubjectRunes-1) + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := validSubmission()
			in.Subject, in.Description = tc.subject, tc.description
			tk, _, err := New(in, testPolicy(), testNow)
			require.NoError(t, err)
			require.Equal(t, tc.want, tk.Subject)
		})
	}
}

func TestALevelHintWithoutATypeWaitsForTheRules(t *testing.T) {
	t.Parallel()
	in := validSubmission()
	in.Description, in.Hints = "我要投诉", Hints{Level: LevelL2}
	tk, _, err := New(in, testPolicy(), testNow)
	require.NoError(t, err)
	require.Equal(t, TypeComplaint, tk.Type)
	require.Equal(t, LevelL2, tk.Level)
}
