package grpcx

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/auth/audit"
)

func TestEnumFieldName(t *testing.T) {
	t.Parallel()
	reveal := customerv1.RevealField(0).Descriptor()
	tests := []struct {
		name string
		enum protoreflect.EnumDescriptor
		n    protoreflect.EnumNumber
		want string
	}{
		{"REVEAL_FIELD_NATIONAL_ID loses its type's prefix", reveal, 2, "national_id"},
		{"REVEAL_FIELD_NAME is name", reveal, 1, "name"},
		{"another enum's prefix is its own name: AUDIT_KIND_CHANGE is change", authv1.AuditKind(0).Descriptor(), 1, "change"},
		{"a value without the prefix keeps its whole name", healthpb.HealthCheckResponse_ServingStatus(0).Descriptor(), 1, "serving"},
		{"a value named just as its type is kept whole", structpb.NullValue(0).Descriptor(), 0, "null_value"},
		{"a number the enum does not define is its decimal form", reveal, 99, "99"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, enumFieldName(tc.enum, tc.n))
		})
	}
}

func TestUpperSnake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"two words", "RevealField", "REVEAL_FIELD"},
		{"one word", "Kind", "KIND"},
		{"a run of capitals is one word", "HTTPMethod", "HTTP_METHOD"},
		{"a digit does not start a word", "Ipv4Kind", "IPV4_KIND"},
		{"a trailing capital after a lower-case letter starts a word", "FieldA", "FIELD_A"},
		{"an underscore is kept once", "Reveal_Field", "REVEAL_FIELD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, upperSnake(tc.in))
		})
	}
}

func TestDetailsOf(t *testing.T) {
	t.Parallel()
	many := make([]customerv1.RevealField, audit.MaxFields+3)
	for i := range many {
		many[i] = customerv1.RevealField_REVEAL_FIELD_NAME
	}
	tests := []struct {
		name       string
		req        any
		wantReason string
		wantFields []string
	}{
		{"a reveal gives its reason and fields", &customerv1.RevealCustomerRequest{
			Reason: "ticket GD1: courier", Fields: []customerv1.RevealField{3, 1}}, "ticket GD1: courier", []string{"contacts", "name"}},
		{"an update gives its mask's paths", &intakev1.UpdateTicketRequest{
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"urgency", "level"}}}, "", []string{"urgency", "level"}},
		{"an escalation gives its reason", &intakev1.EscalateTicketRequest{Reason: "overdue"}, "overdue", nil},
		{"a request with neither gives nothing", &intakev1.GetTicketRequest{TicketId: "t"}, "", nil},
		{"an update without a mask gives no fields", &intakev1.UpdateTicketRequest{}, "", nil},
		{"a nil request gives nothing", (*customerv1.RevealCustomerRequest)(nil), "", nil},
		{"a value that is no message gives nothing", "reason", "", nil},
		{"a long list is named only as far as a record keeps", &customerv1.RevealCustomerRequest{Fields: many}, "",
			strings.Split(strings.Repeat("name ", audit.MaxFields-1)+"name", " ")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reason, fields := detailsOf(tc.req)
			require.Equal(t, tc.wantReason, reason)
			require.Equal(t, tc.wantFields, fields)
		})
	}
}
