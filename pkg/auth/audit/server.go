package audit

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	"kefu.dev/pkg/apierr"
)

// Server implements kefu.auth.v1.AuditService on a Store: proto ↔ store types, nothing more. Request shapes
// are checked by the protovalidate interceptor before a method runs and permission audit.read by the auth
// interceptor; the methods check what the proto cannot say (valid times, their order, page tokens).
type Server struct {
	authv1.UnimplementedAuditServiceServer
	st *Store
}

// NewServer returns a server on st.
func NewServer(st *Store) *Server { return &Server{st: st} }

// Register registers the server's AuditService on r.
func (s *Server) Register(r grpc.ServiceRegistrar) { authv1.RegisterAuditServiceServer(r, s) }

// ListAuditRecords lists records newest first; see Store.List.
func (s *Server) ListAuditRecords(ctx context.Context, req *authv1.ListAuditRecordsRequest) (*authv1.ListAuditRecordsResponse, error) {
	kind, err := kindOf(req.GetKind())
	if err != nil {
		return nil, err
	}
	start, err := optionalTime("start_time", req.GetStartTime())
	if err != nil {
		return nil, err
	}
	end, err := optionalTime("end_time", req.GetEndTime())
	if err != nil {
		return nil, err
	}
	page, err := s.st.List(ctx, Filter{
		Principal:  req.GetPrincipal(),
		Method:     req.GetMethod(),
		ObjectType: req.GetObjectType(),
		ObjectID:   req.GetObjectId(),
		Result:     req.GetResult(),
		Kind:       kind,
		Start:      start,
		End:        end,
	}, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &authv1.ListAuditRecordsResponse{
		Records:       make([]*authv1.AuditRecord, len(page.Records)),
		NextPageToken: page.NextPageToken,
	}
	for i, r := range page.Records {
		resp.Records[i] = toProto(r)
	}
	return resp, nil
}

// kindOf converts the request's kind filter; AUDIT_KIND_UNSPECIFIED is no filter.
func kindOf(k authv1.AuditKind) (Kind, error) {
	switch k {
	case authv1.AuditKind_AUDIT_KIND_UNSPECIFIED:
		return "", nil
	case authv1.AuditKind_AUDIT_KIND_CHANGE:
		return KindChange, nil
	case authv1.AuditKind_AUDIT_KIND_PERSONAL_DATA_READ:
		return KindPersonalDataRead, nil
	}
	return "", apierr.InvalidField("kind", "must be AUDIT_KIND_CHANGE or AUDIT_KIND_PERSONAL_DATA_READ")
}

func kindProto(k Kind) authv1.AuditKind {
	switch k {
	case KindChange:
		return authv1.AuditKind_AUDIT_KIND_CHANGE
	case KindPersonalDataRead:
		return authv1.AuditKind_AUDIT_KIND_PERSONAL_DATA_READ
	}
	return authv1.AuditKind_AUDIT_KIND_UNSPECIFIED
}

// optionalTime converts an optional timestamp field; unset is the zero time.
func optionalTime(field string, ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, apierr.InvalidField(field, "is not a valid timestamp")
	}
	return ts.AsTime(), nil
}

func toProto(r Record) *authv1.AuditRecord {
	return &authv1.AuditRecord{
		RecordId:   r.ID.String(),
		Time:       timestamppb.New(r.At),
		Principal:  r.Principal,
		KeyId:      r.KeyID,
		Method:     r.Method,
		ObjectType: r.ObjectType,
		ObjectId:   r.ObjectID,
		Result:     r.Result,
		TraceId:    r.TraceID,
		OnBehalfOf: r.OnBehalfOf,
		Kind:       kindProto(r.Kind),
		Reason:     r.Reason,
		Fields:     r.Fields,
	}
}
