package intake_test

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
)

// TestConcurrentSubmitsWithOneKeyMakeOneTicket proves the idempotency claim: 100 submits racing with one key
// all get the same ticket, and only one ticket (and one created event) exists.
func TestConcurrentSubmitsWithOneKeyMakeOneTicket(t *testing.T) {
	t.Parallel()
	s := start(t)
	req := s.submitReq("where is my parcel?")
	const n = 100
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
			errs[i] = err
			ids[i] = resp.GetTicket().GetTicketId()
		})
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		require.Equal(t, ids[0], ids[i], "submit %d got another ticket", i)
	}
	var tickets, outbox int
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM tickets`).Scan(&tickets))
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM outbox`).Scan(&outbox))
	require.Equal(t, 1, tickets)
	require.Equal(t, 1, outbox, "one created event")
}

func TestSubmitIdempotency(t *testing.T) {
	t.Parallel()
	s := start(t)
	req := s.submitReq("my order is late")
	first, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
	require.NoError(t, err)

	t.Run("a retry returns the ticket as it is now", func(t *testing.T) {
		_, err := s.client.AddNote(as(t.Context(), staffP), &intakev1.AddNoteRequest{
			TicketId: first.GetTicket().GetTicketId(), RequestId: key("note"), Text: "checked",
		})
		require.NoError(t, err)
		again, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
		require.NoError(t, err)
		require.Equal(t, first.GetTicket().GetTicketId(), again.GetTicket().GetTicketId())
		require.Equal(t, int32(1), again.GetTicket().GetHandlingCount())
	})
	t.Run("the same key with another body is already exists", func(t *testing.T) {
		other := proto.Clone(req).(*intakev1.SubmitTicketRequest)
		other.Description = "something else entirely"
		_, err := s.client.SubmitTicket(as(t.Context(), adapterP), other)
		requireCode(t, err, codes.AlreadyExists)
		require.Equal(t, "IDEMPOTENCY_KEY_REUSED", errorInfo(err).GetReason())
	})
	t.Run("the same key from another principal is another submit", func(t *testing.T) {
		resp, err := s.client.SubmitTicket(as(t.Context(), "adapter:phone-ivr"), req)
		require.NoError(t, err)
		require.NotEqual(t, first.GetTicket().GetTicketId(), resp.GetTicket().GetTicketId())
	})
}

// TestNumbersAreUniqueUnderConcurrency submits 200 tickets at once: every number is GD + the business day +
// a serial of at least four digits, and no two are equal.
func TestNumbersAreUniqueUnderConcurrency(t *testing.T) {
	t.Parallel()
	s := start(t)
	// 20:30 UTC is already the next day in Shanghai: numbers use the business day, not the UTC one.
	s.clock.Set(time.Date(2026, 11, 19, 20, 30, 0, 0, time.UTC))
	const n = 200
	numbers := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), s.submitReq(fmt.Sprintf("question %d", i)))
			errs[i] = err
			numbers[i] = resp.GetTicket().GetNumber()
		})
	}
	wg.Wait()
	format := regexp.MustCompile(`^GD20261120(\d{4,})$`)
	seen := map[string]bool{}
	for i := range n {
		require.NoError(t, errs[i])
		require.Regexp(t, format, numbers[i])
		require.False(t, seen[numbers[i]], "number %s given twice", numbers[i])
		seen[numbers[i]] = true
	}
}

func TestSubmitKeepsContactOnlyWithConsent(t *testing.T) {
	t.Parallel()
	s := start(t)
	customer := uuid.New().String()
	tests := []struct {
		name    string
		consent bool
		want    *intakev1.Contact
	}{
		{"a consented contact is kept", true, &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_EMAIL,
			Value: "li@example.com", Consent: true, ConsentPurpose: "service_follow_up"}},
		{"a contact without consent is dropped and the ticket still created", false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := s.submitReq("kettle broke")
			req.CustomerId = customer
			req.Contact = &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_EMAIL, Value: "li@example.com",
				Consent: tc.consent}
			if tc.consent {
				req.Contact.ConsentPurpose = "service_follow_up"
			}
			resp, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
			require.NoError(t, err)
			got, err := s.client.GetTicket(as(t.Context(), staffP), &intakev1.GetTicketRequest{TicketId: resp.GetTicket().GetTicketId()})
			require.NoError(t, err)
			require.True(t, proto.Equal(tc.want, got.GetTicket().GetContact()), "contact %v", got.GetTicket().GetContact())
			require.Equal(t, customer, got.GetTicket().GetCustomerId())
			var stored *string
			require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT contact_value FROM tickets WHERE ticket_id = $1`,
				resp.GetTicket().GetTicketId()).Scan(&stored))
			require.Equal(t, tc.consent, stored != nil, "a contact is stored exactly when consented")
		})
	}
}

func TestSubmitRecordsTheSubmitterAndReceivedTime(t *testing.T) {
	t.Parallel()
	s := start(t)
	req := s.submitReq("hello")
	req.ReceivedTime = timestamppb.New(testStart.Add(-90*time.Second + 400*time.Millisecond))
	resp, err := s.client.SubmitTicket(as(t.Context(), "adapter:phone-ivr"), req)
	require.NoError(t, err)
	tk := resp.GetTicket()
	require.Equal(t, intakev1.ActorKind_ACTOR_KIND_ADAPTER, tk.GetSubmitter().GetKind())
	require.Equal(t, "phone-ivr", tk.GetSubmitter().GetId())
	require.Equal(t, testStart.Add(-90*time.Second), tk.GetReceivedTime().AsTime(), "received time is kept to the second")
	require.Equal(t, testStart, tk.GetCreateTime().AsTime())
	require.Equal(t, intakev1.TicketStatus_TICKET_STATUS_NEW, tk.GetStatus())

	tl, err := s.client.ListTimeline(as(t.Context(), staffP), &intakev1.ListTimelineRequest{TicketId: tk.GetTicketId()})
	require.NoError(t, err)
	require.Len(t, tl.GetEntries(), 1)
	require.Equal(t, intakev1.TimelineEntryKind_TIMELINE_ENTRY_KIND_CREATED, tl.GetEntries()[0].GetKind())
	require.Equal(t, "phone-ivr", tl.GetEntries()[0].GetActor().GetId())
}

func TestARequestWithoutAPrincipalIsUnauthenticated(t *testing.T) {
	t.Parallel()
	s := start(t)
	_, err := s.client.SubmitTicket(t.Context(), s.submitReq("hello"))
	requireCode(t, err, codes.Unauthenticated)
}

func TestSubmitValidation(t *testing.T) {
	t.Parallel()
	s := start(t)
	tests := []struct {
		name   string
		change func(r *intakev1.SubmitTicketRequest)
		field  string
	}{
		{"a missing channel", func(r *intakev1.SubmitTicketRequest) { r.Channel = 0 }, "channel"},
		{"a contact email that is not one", func(r *intakev1.SubmitTicketRequest) {
			r.Contact = &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_EMAIL, Value: "not-an-email", Consent: true, ConsentPurpose: "follow_up"}
		}, "contact"},
		{"a description over 10,000 characters", func(r *intakev1.SubmitTicketRequest) { r.Description = strings.Repeat("长", 10001) }, "description"},
		{"a NUL byte in the description", func(r *intakev1.SubmitTicketRequest) { r.Description = "broken\x00kettle" }, "description"},
		{"a received time far in the future", func(r *intakev1.SubmitTicketRequest) {
			r.ReceivedTime = timestamppb.New(testStart.Add(time.Hour))
		}, "received_time"},
		{"no received time", func(r *intakev1.SubmitTicketRequest) { r.ReceivedTime = nil }, "received_time"},
		{"a subcategory outside the taxonomy", func(r *intakev1.SubmitTicketRequest) {
			r.TypeHint, r.SubcategoryHint = intakev1.TicketType_TICKET_TYPE_REQUEST, "teleport"
		}, "subcategory_hint"},
		{"a complaint level on an inquiry", func(r *intakev1.SubmitTicketRequest) {
			r.TypeHint, r.LevelHint = intakev1.TicketType_TICKET_TYPE_INQUIRY, intakev1.ComplaintLevel_COMPLAINT_LEVEL_L2
		}, "level_hint"},
		{"a customer id that is not a UUID", func(r *intakev1.SubmitTicketRequest) { r.CustomerId = "cust-1" }, "customer_id"},
		{"an attachment with a javascript url", func(r *intakev1.SubmitTicketRequest) {
			r.Attachments = []*intakev1.Attachment{{Name: "x", ContentType: "text/html", Url: "javascript:alert(1)"}}
		}, "attachments[0].url"},
		{"a missing idempotency key", func(r *intakev1.SubmitTicketRequest) { r.IdempotencyKey = "" }, "idempotency_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := s.submitReq("my kettle is broken")
			tc.change(req)
			_, err := s.client.SubmitTicket(as(t.Context(), adapterP), req)
			st := requireCode(t, err, codes.InvalidArgument)
			require.Contains(t, badFields(err), tc.field)
			require.Contains(t, st.Message(), tc.field, "the message names the field")
		})
	}
	var n int
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM tickets`).Scan(&n))
	require.Zero(t, n, "no invalid submission created a ticket")
}

// rawCodec sends pre-encoded request bytes, so a test can put invalid UTF-8 on the wire (the Go encoder
// refuses to), and decodes responses normally.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return encoding.GetCodecV2("proto").Unmarshal(data, v)
}

// TestInvalidUTF8IsInvalidArgumentNamingTheField sends a description that is not UTF-8: grpc-go would
// answer Internal; intake answers InvalidArgument naming the field.
func TestInvalidUTF8IsInvalidArgumentNamingTheField(t *testing.T) {
	t.Parallel()
	s := start(t)
	req := s.submitReq("placeholder")
	req.Description = ""
	b, err := proto.Marshal(req)
	require.NoError(t, err)
	b = protowire.AppendTag(b, 9, protowire.BytesType) // SubmitTicketRequest.description
	b = protowire.AppendBytes(b, []byte{'o', 'k', 0xff, 0xfe})

	cc, err := grpc.NewClient(s.grpcAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	out := new(intakev1.SubmitTicketResponse)
	err = cc.Invoke(as(t.Context(), adapterP), intakev1.IntakeService_SubmitTicket_FullMethodName, b, out, grpc.ForceCodecV2(rawCodec{}))
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, []string{"description"}, badFields(err))
}
