package apikeys

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/idempotency"
)

// Server implements kefu.auth.v1.KeyService on a Store: proto ↔ store types, nothing more. Request shapes
// are checked by the protovalidate interceptor before a method runs and permission keys.admin by the auth
// interceptor; the methods check what the proto cannot say (times against the clock, key states).
type Server struct {
	authv1.UnimplementedKeyServiceServer
	st       *Store
	onChange func(keyID string)
}

// NewServer returns a server on st. onChange, if not nil, is called with a key's id after it was revoked,
// and with the old key's id after a rotation shortened its life; the service passes the Authenticator's
// Forget, so this replica's key cache drops the key at once.
func NewServer(st *Store, onChange func(keyID string)) *Server {
	if onChange == nil {
		onChange = func(string) {}
	}
	return &Server{st: st, onChange: onChange}
}

// Register registers the server's KeyService on r.
func (s *Server) Register(r grpc.ServiceRegistrar) { authv1.RegisterKeyServiceServer(r, s) }

// CreateApiKey issues a key; see Store.Create.
func (s *Server) CreateApiKey(ctx context.Context, req *authv1.CreateApiKeyRequest) (*authv1.CreateApiKeyResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	kind, err := kindName(req.GetPrincipalKind())
	if err != nil {
		return nil, err
	}
	expires, err := optionalTime("expire_time", req.GetExpireTime())
	if err != nil {
		return nil, err
	}
	clone := proto.Clone(req).(*authv1.CreateApiKeyRequest)
	clone.RequestId = ""
	fp, err := idempotency.Fingerprint(clone)
	if err != nil {
		return nil, err
	}
	issued, err := s.st.Create(ctx, Request{Caller: caller.String(), ID: req.GetRequestId(), Fingerprint: fp}, Spec{
		PrincipalKind: kind,
		PrincipalID:   req.GetPrincipalId(),
		DisplayName:   req.GetDisplayName(),
		Roles:         req.GetRoles(),
		Channels:      channelNames(req.GetAllowedChannels()),
		ExpiresAt:     expires,
	})
	if err != nil {
		return nil, err
	}
	return &authv1.CreateApiKeyResponse{ApiKey: s.toProto(issued.Key), Secret: issued.Text}, nil
}

// ListApiKeys lists keys newest first; see Store.List.
func (s *Server) ListApiKeys(ctx context.Context, req *authv1.ListApiKeysRequest) (*authv1.ListApiKeysResponse, error) {
	page, err := s.st.List(ctx, Filter{PrincipalID: req.GetPrincipalId(), IncludeInactive: req.GetIncludeInactive()},
		int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	resp := &authv1.ListApiKeysResponse{ApiKeys: make([]*authv1.ApiKey, len(page.Keys)), NextPageToken: page.NextPageToken}
	for i, k := range page.Keys {
		resp.ApiKeys[i] = s.toProto(k)
	}
	return resp, nil
}

// RotateApiKey replaces a key; see Store.Rotate. An unset grace_period is DefaultGracePeriod.
func (s *Server) RotateApiKey(ctx context.Context, req *authv1.RotateApiKeyRequest) (*authv1.RotateApiKeyResponse, error) {
	caller, err := callerOf(ctx)
	if err != nil {
		return nil, err
	}
	grace := DefaultGracePeriod
	if d := req.GetGracePeriod(); d != nil {
		if err := d.CheckValid(); err != nil || d.AsDuration() < 0 {
			return nil, apierr.InvalidField("grace_period", "must be a duration of zero or more")
		}
		grace = d.AsDuration()
	}
	expires, err := optionalTime("expire_time", req.GetExpireTime())
	if err != nil {
		return nil, err
	}
	clone := proto.Clone(req).(*authv1.RotateApiKeyRequest)
	clone.RequestId = ""
	fp, err := idempotency.Fingerprint(clone)
	if err != nil {
		return nil, err
	}
	rot, err := s.st.Rotate(ctx, Request{Caller: caller.String(), ID: req.GetRequestId(), Fingerprint: fp},
		req.GetKeyId(), Rotation{GracePeriod: grace, ExpiresAt: expires})
	if err != nil {
		return nil, err
	}
	s.onChange(rot.Previous.ID)
	return &authv1.RotateApiKeyResponse{ApiKey: s.toProto(rot.Key), Secret: rot.Text, Previous: s.toProto(rot.Previous)}, nil
}

// RevokeApiKey revokes a key; see Store.Revoke.
func (s *Server) RevokeApiKey(ctx context.Context, req *authv1.RevokeApiKeyRequest) (*authv1.RevokeApiKeyResponse, error) {
	k, err := s.st.Revoke(ctx, req.GetKeyId())
	if err != nil {
		return nil, err
	}
	s.onChange(k.ID)
	return &authv1.RevokeApiKeyResponse{ApiKey: s.toProto(k)}, nil
}

// callerOf returns the authenticated caller, whom the auth interceptor put in ctx.
func callerOf(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.IsZero() {
		return auth.Principal{}, apierr.New(apierr.KindUnauthenticated, "PRINCIPAL_MISSING", "no principal")
	}
	return p, nil
}

func kindName(k authv1.PrincipalKind) (string, error) {
	switch k {
	case authv1.PrincipalKind_PRINCIPAL_KIND_ADAPTER:
		return auth.KindAdapter, nil
	case authv1.PrincipalKind_PRINCIPAL_KIND_SERVICE:
		return auth.KindService, nil
	}
	return "", apierr.InvalidField("principal_kind", "must be PRINCIPAL_KIND_ADAPTER or PRINCIPAL_KIND_SERVICE")
}

func kindProto(k string) authv1.PrincipalKind {
	switch k {
	case auth.KindAdapter:
		return authv1.PrincipalKind_PRINCIPAL_KIND_ADAPTER
	case auth.KindService:
		return authv1.PrincipalKind_PRINCIPAL_KIND_SERVICE
	}
	return authv1.PrincipalKind_PRINCIPAL_KIND_UNSPECIFIED
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

// channelPrefix is what the proto enum's names start with; the rest, lower-cased, is the channel's name
// in keys and principals (CHANNEL_WEB_CHAT → web_chat).
const channelPrefix = "CHANNEL_"

func channelNames(chs []intakev1.Channel) []string {
	names := make([]string, len(chs))
	for i, ch := range chs {
		names[i] = strings.ToLower(strings.TrimPrefix(ch.String(), channelPrefix))
	}
	return names
}

func channelProtos(names []string) []intakev1.Channel {
	chs := make([]intakev1.Channel, 0, len(names))
	for _, n := range names {
		// A name this build does not know (written by a newer one) becomes CHANNEL_UNSPECIFIED.
		chs = append(chs, intakev1.Channel(intakev1.Channel_value[channelPrefix+strings.ToUpper(n)]))
	}
	return chs
}

func timeProto(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// toProto renders a key's record; Active is judged at the clock's now.
func (s *Server) toProto(k Key) *authv1.ApiKey {
	return &authv1.ApiKey{
		KeyId:           k.ID,
		PrincipalKind:   kindProto(k.PrincipalKind),
		PrincipalId:     k.PrincipalID,
		DisplayName:     k.DisplayName,
		Roles:           k.Roles,
		AllowedChannels: channelProtos(k.Channels),
		ExpireTime:      timeProto(k.ExpiresAt),
		RevokeTime:      timeProto(k.RevokedAt),
		CreateTime:      timeProto(k.CreatedAt),
		CreatedBy:       k.CreatedBy,
		RotatedFrom:     k.RotatedFrom,
		Active:          k.ActiveAt(s.st.clk.Now()),
	}
}
