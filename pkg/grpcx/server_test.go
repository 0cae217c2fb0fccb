package grpcx_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/logging"
)

// rawCodec sends pre-encoded bytes, so a test can put invalid UTF-8 on the wire (the Go proto encoder
// refuses to).
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return encoding.GetCodecV2("proto").Unmarshal(data, v)
}

func startHealth(t *testing.T) *grpc.ClientConn {
	t.Helper()
	s, err := grpcx.NewServer(grpcx.ServerOptions{Logger: logging.Discard()})
	require.NoError(t, err)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Server.Stop)
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

func fieldOf(t *testing.T, err error) string {
	t.Helper()
	st := status.Convert(err)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.FieldViolations) > 0 {
			return br.FieldViolations[0].Field
		}
	}
	return ""
}

func TestInvalidUTF8IsInvalidArgumentNamingTheField(t *testing.T) {
	t.Parallel()
	cc := startHealth(t)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType) // HealthCheckRequest.service
	b = protowire.AppendBytes(b, []byte{0xff, 0xfe, 'x'})
	out := new(healthpb.HealthCheckResponse)
	err := cc.Invoke(t.Context(), healthpb.Health_Check_FullMethodName, b, out, grpc.ForceCodecV2(rawCodec{}))
	require.Equal(t, codes.InvalidArgument, status.Code(err), "got %v", err)
	require.Equal(t, "service", fieldOf(t, err))
	require.Contains(t, status.Convert(err).Message(), "service")
}

func TestNULByteIsInvalidArgumentNamingTheField(t *testing.T) {
	t.Parallel()
	cc := startHealth(t)
	_, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{Service: "a\x00b"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	require.Equal(t, "service", fieldOf(t, err))
}

func TestValidRequestPasses(t *testing.T) {
	t.Parallel()
	cc := startHealth(t)
	resp, err := healthpb.NewHealthClient(cc).Check(t.Context(), &healthpb.HealthCheckRequest{})
	require.NoError(t, err)
	require.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.Status)
}

func TestToStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		code    codes.Code
		message string
		hasRef  bool
	}{
		{"a field error is invalid argument with its message", apierr.InvalidField("description", "too long"), codes.InvalidArgument, "invalid description: too long", false},
		{"a wrapped precondition keeps its kind", fmtWrap(apierr.FailedPrecondition("TICKET_ILLEGAL_TRANSITION", "cannot resolve a ticket in status \"new\"")), codes.FailedPrecondition, "cannot resolve a ticket in status \"new\"", false},
		{"an unclassified error hides its text behind a reference", errors.New("pq: relation does not exist"), codes.Internal, "internal error (ref ", true},
		{"a cancelled context is canceled", context.Canceled, codes.Canceled, "request canceled", false},
		{"an existing status passes through", status.Error(codes.NotFound, "gone"), codes.NotFound, "gone", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, ref := grpcx.ToStatus(tc.err)
			require.Equal(t, tc.code, st.Code())
			require.Contains(t, st.Message(), tc.message)
			require.NotContains(t, st.Message(), "relation")
			require.Equal(t, tc.hasRef, ref != "")
		})
	}
}

func TestToStatusCarriesDetails(t *testing.T) {
	t.Parallel()
	err := apierr.FailedPrecondition("TICKET_ARCHIVE_INCOMPLETE", "ticket is incomplete",
		apierr.PreconditionViolation{Type: "SATISFACTION", Subject: "t1", Description: "no rating"}).WithMeta("current_state", "closed")
	st, _ := grpcx.ToStatus(err)
	var info *errdetails.ErrorInfo
	var pf *errdetails.PreconditionFailure
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.PreconditionFailure:
			pf = d
		}
	}
	require.NotNil(t, info)
	require.Equal(t, "TICKET_ARCHIVE_INCOMPLETE", info.Reason)
	require.Equal(t, "kefu", info.Domain)
	require.Equal(t, "closed", info.Metadata["current_state"])
	require.NotNil(t, pf)
	require.Equal(t, "SATISFACTION", pf.Violations[0].Type)
}

func fmtWrap(err error) error { return errors.Join(errors.New("context"), err) }
