package apikeys_test

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/auth/apikeys"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/testkit"
)

// t0 is where every test's fake clock starts.
var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

var testPepper = auth.Pepper("0123456789abcdef0123456789abcdef-test-pepper")

var admin = auth.Principal{Kind: auth.KindStaff, ID: "admin-1", Roles: []string{auth.RoleAdmin}}

// env is one test's key service on its own database.
type env struct {
	db    *testkit.DB
	clk   *clock.Fake
	store *apikeys.Store
	srv   *apikeys.Server
	authn *auth.Authenticator
	ctx   context.Context // carries the admin principal

	mu      sync.Mutex
	changed []string // onChange's calls, in order
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		db:  testkit.NewDB(t, "apikeys_test", idempotency.Migrations(), apikeys.Migrations()),
		clk: clock.NewFake(t0),
		ctx: auth.WithPrincipal(t.Context(), admin),
	}
	e.store = apikeys.New(e.db.Pool, testPepper, e.clk, rand.Reader)
	e.srv = apikeys.NewServer(e.store, func(id string) {
		e.mu.Lock()
		e.changed = append(e.changed, id)
		e.mu.Unlock()
	})
	var err error
	// No cache, so each Authenticate reads what the store holds now.
	e.authn, err = auth.NewAuthenticator(auth.AuthenticatorOptions{Keys: e.store, Pepper: testPepper, KeyCacheTTL: -1, Now: e.clk.Now})
	require.NoError(t, err)
	return e
}

func (e *env) changes() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.changed)
}

// adapterReq is a valid create request for an adapter key of principal.
func adapterReq(requestID, principal string) *authv1.CreateApiKeyRequest {
	return &authv1.CreateApiKeyRequest{
		RequestId:       requestID,
		PrincipalKind:   authv1.PrincipalKind_PRINCIPAL_KIND_ADAPTER,
		PrincipalId:     principal,
		DisplayName:     "web form on example.com",
		AllowedChannels: []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT},
	}
}

// create issues an adapter key for principal and returns the response.
func (e *env) create(t *testing.T, requestID, principal string) *authv1.CreateApiKeyResponse {
	t.Helper()
	resp, err := e.srv.CreateApiKey(e.ctx, adapterReq(requestID, principal))
	require.NoError(t, err)
	require.NotEmpty(t, resp.GetSecret())
	return resp
}

func (e *env) rotate(t *testing.T, req *authv1.RotateApiKeyRequest) *authv1.RotateApiKeyResponse {
	t.Helper()
	resp, err := e.srv.RotateApiKey(e.ctx, req)
	require.NoError(t, err)
	return resp
}

func (e *env) revoke(t *testing.T, keyID string) *authv1.ApiKey {
	t.Helper()
	resp, err := e.srv.RevokeApiKey(e.ctx, &authv1.RevokeApiKeyRequest{KeyId: keyID})
	require.NoError(t, err)
	return resp.GetApiKey()
}

// authenticate presents text as a bearer credential.
func (e *env) authenticate(t *testing.T, text string) (auth.Principal, error) {
	t.Helper()
	return e.authn.Authenticate(t.Context(), "Bearer "+text)
}

// requireRefused checks that text does not authenticate, as bad credentials (not a store failure).
func (e *env) requireRefused(t *testing.T, text, why string) {
	t.Helper()
	_, err := e.authenticate(t, text)
	require.ErrorIs(t, err, auth.ErrBadCredentials, why)
}

func (e *env) requireAccepted(t *testing.T, text, why string) auth.Principal {
	t.Helper()
	p, err := e.authenticate(t, text)
	require.NoError(t, err, why)
	return p
}

// requireAPIError checks err's kind and reason and returns it.
func requireAPIError(t *testing.T, err error, kind apierr.Kind, reason string) *apierr.Error {
	t.Helper()
	require.Error(t, err)
	var ae *apierr.Error
	require.True(t, errors.As(err, &ae), "want an *apierr.Error, got %v", err)
	require.Equal(t, kind, ae.Kind, "kind of %v", err)
	if reason != "" {
		require.Equal(t, reason, ae.Reason, "reason of %v", err)
	}
	return ae
}

// requireInvalidField checks that err is InvalidArgument naming field.
func requireInvalidField(t *testing.T, err error, field string) {
	t.Helper()
	ae := requireAPIError(t, err, apierr.KindInvalidArgument, "")
	require.Len(t, ae.Fields, 1)
	require.Equal(t, field, ae.Fields[0].Field)
	require.Contains(t, ae.Message, field)
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func dur(d time.Duration) *durationpb.Duration { return durationpb.New(d) }
