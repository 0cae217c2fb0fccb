package apikeys_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
)

// TestCreateIssuesAKeyThatAuthenticates proves the whole path: the text is shown once, its hash is stored,
// and an Authenticator on the store turns the text into the key's principal.
func TestCreateIssuesAKeyThatAuthenticates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tests := []struct {
		name         string
		req          *authv1.CreateApiKeyRequest
		wantKind     string
		wantRoles    []string
		wantChannels []string
	}{
		{
			name: "an adapter key defaults to the adapter role and keeps its channels",
			req: &authv1.CreateApiKeyRequest{
				RequestId: "r-adapter", PrincipalKind: authv1.PrincipalKind_PRINCIPAL_KIND_ADAPTER, PrincipalId: "web-form",
				DisplayName:     "web form",
				AllowedChannels: []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT, intakev1.Channel_CHANNEL_MINI_PROGRAM},
			},
			wantKind: auth.KindAdapter, wantRoles: []string{auth.RoleAdapter}, wantChannels: []string{"web_chat", "mini_program"},
		},
		{
			name: "a service key takes the roles it asks for and no channels",
			req: &authv1.CreateApiKeyRequest{
				RequestId: "r-service", PrincipalKind: authv1.PrincipalKind_PRINCIPAL_KIND_SERVICE, PrincipalId: "slatimer",
				Roles: []string{auth.RoleService, auth.RoleAuditor},
			},
			wantKind: auth.KindService, wantRoles: []string{auth.RoleService, auth.RoleAuditor}, wantChannels: []string{},
		},
		{
			name: "a service key defaults to the service role",
			req: &authv1.CreateApiKeyRequest{
				RequestId: "r-service-2", PrincipalKind: authv1.PrincipalKind_PRINCIPAL_KIND_SERVICE, PrincipalId: "routing",
			},
			wantKind: auth.KindService, wantRoles: []string{auth.RoleService}, wantChannels: []string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := e.srv.CreateApiKey(e.ctx, tc.req)
			require.NoError(t, err)
			k := resp.GetApiKey()
			require.Regexp(t, `^[0-9a-f]{16}$`, k.GetKeyId())
			require.Regexp(t, `^kefu_`+k.GetKeyId()+`_[0-9a-f]{64}$`, resp.GetSecret())
			require.Equal(t, tc.req.GetPrincipalKind(), k.GetPrincipalKind())
			require.Equal(t, tc.req.GetPrincipalId(), k.GetPrincipalId())
			require.Equal(t, tc.req.GetDisplayName(), k.GetDisplayName())
			require.Equal(t, tc.wantRoles, k.GetRoles())
			require.Equal(t, len(tc.req.GetAllowedChannels()), len(k.GetAllowedChannels()))
			for i, ch := range tc.req.GetAllowedChannels() {
				require.Equal(t, ch, k.GetAllowedChannels()[i])
			}
			require.Equal(t, "staff:admin-1", k.GetCreatedBy())
			require.True(t, k.GetCreateTime().AsTime().Equal(t0))
			require.Nil(t, k.GetExpireTime(), "no expiry asked, none set")
			require.Nil(t, k.GetRevokeTime())
			require.Empty(t, k.GetRotatedFrom())
			require.True(t, k.GetActive())

			p := e.requireAccepted(t, resp.GetSecret(), "the new key authenticates")
			require.Equal(t, auth.Principal{
				Kind: tc.wantKind, ID: tc.req.GetPrincipalId(), Roles: tc.wantRoles, Channels: tc.wantChannels, KeyID: k.GetKeyId(),
			}, p)

			wrong := "kefu_" + k.GetKeyId() + "_" + strings.Repeat("0", 64)
			e.requireRefused(t, wrong, "a wrong secret for a real key id is refused")
		})
	}
}

// TestCreateRetries runs its steps in order, not in parallel: each builds on the keys the earlier ones left.
func TestCreateRetries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.create(t, "req-1", "web-form")

	t.Run("the same request id returns the same key without its secret", func(t *testing.T) {
		e.clk.Advance(time.Minute)
		again, err := e.srv.CreateApiKey(e.ctx, adapterReq("req-1", "web-form"))
		require.NoError(t, err)
		require.Equal(t, first.GetApiKey().GetKeyId(), again.GetApiKey().GetKeyId())
		require.Empty(t, again.GetSecret(), "the secret is shown once")
		require.True(t, again.GetApiKey().GetCreateTime().AsTime().Equal(t0))
	})

	t.Run("the same request id with another body is AlreadyExists", func(t *testing.T) {
		other := adapterReq("req-1", "web-form")
		other.DisplayName = "something else"
		_, err := e.srv.CreateApiKey(e.ctx, other)
		requireAPIError(t, err, apierr.KindAlreadyExists, "IDEMPOTENCY_KEY_REUSED")
	})

	t.Run("the retries made no second key", func(t *testing.T) {
		list, err := e.srv.ListApiKeys(e.ctx, &authv1.ListApiKeysRequest{IncludeInactive: true})
		require.NoError(t, err)
		require.Len(t, list.GetApiKeys(), 1)
	})

	t.Run("request ids are per caller", func(t *testing.T) {
		ctx := auth.WithPrincipal(t.Context(), auth.Principal{Kind: auth.KindStaff, ID: "admin-2", Roles: []string{auth.RoleAdmin}})
		resp, err := e.srv.CreateApiKey(ctx, adapterReq("req-1", "web-form"))
		require.NoError(t, err)
		require.NotEqual(t, first.GetApiKey().GetKeyId(), resp.GetApiKey().GetKeyId())
		require.NotEmpty(t, resp.GetSecret())
		require.Equal(t, "staff:admin-2", resp.GetApiKey().GetCreatedBy())
	})
}

// TestActiveKeyLimit walks one principal through the two-key limit: expired and revoked keys make room,
// other principals are not counted.
func TestActiveKeyLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	expiring := adapterReq("k1", "app")
	expiring.ExpireTime = ts(t0.Add(time.Hour))
	_, err := e.srv.CreateApiKey(e.ctx, expiring)
	require.NoError(t, err)
	k2 := e.create(t, "k2", "app")

	_, err = e.srv.CreateApiKey(e.ctx, adapterReq("k3", "app"))
	ae := requireAPIError(t, err, apierr.KindFailedPrecondition, "API_KEY_LIMIT")
	require.Len(t, ae.Preconditions, 1)
	require.Equal(t, "app", ae.Preconditions[0].Subject)

	e.create(t, "other", "email-gateway") // another principal has its own two

	e.clk.Advance(time.Hour) // k1 expires exactly now: an expired key does not count
	e.create(t, "k4", "app")
	_, err = e.srv.CreateApiKey(e.ctx, adapterReq("k5", "app"))
	requireAPIError(t, err, apierr.KindFailedPrecondition, "API_KEY_LIMIT")

	e.revoke(t, k2.GetApiKey().GetKeyId()) // a revoked key does not count
	e.create(t, "k6", "app")
	_, err = e.srv.CreateApiKey(e.ctx, adapterReq("k7", "app"))
	requireAPIError(t, err, apierr.KindFailedPrecondition, "API_KEY_LIMIT")
}

func TestRotate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	req := adapterReq("create", "web-form")
	req.Roles = []string{auth.RoleAdapter, auth.RoleAuditor}
	req.AllowedChannels = []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT, intakev1.Channel_CHANNEL_EMAIL}
	old, err := e.srv.CreateApiKey(e.ctx, req)
	require.NoError(t, err)
	oldID := old.GetApiKey().GetKeyId()

	e.clk.Advance(time.Hour)
	rotatedAt := e.clk.Now()
	rotReq := &authv1.RotateApiKeyRequest{KeyId: oldID, RequestId: "rot-1"}
	rot := e.rotate(t, rotReq)
	nk := rot.GetApiKey()

	require.NotEqual(t, oldID, nk.GetKeyId())
	require.Regexp(t, `^kefu_`+nk.GetKeyId()+`_[0-9a-f]{64}$`, rot.GetSecret())
	require.Equal(t, oldID, nk.GetRotatedFrom())
	require.Equal(t, old.GetApiKey().GetPrincipalKind(), nk.GetPrincipalKind())
	require.Equal(t, "web-form", nk.GetPrincipalId())
	require.Equal(t, old.GetApiKey().GetDisplayName(), nk.GetDisplayName())
	require.Equal(t, []string{auth.RoleAdapter, auth.RoleAuditor}, nk.GetRoles())
	require.Equal(t, req.GetAllowedChannels(), nk.GetAllowedChannels())
	require.Nil(t, nk.GetExpireTime(), "the old key never expired, so neither does the new one")
	require.True(t, nk.GetCreateTime().AsTime().Equal(rotatedAt))
	require.True(t, nk.GetActive())

	prev := rot.GetPrevious()
	require.Equal(t, oldID, prev.GetKeyId())
	require.True(t, prev.GetExpireTime().AsTime().Equal(rotatedAt.Add(24*time.Hour)), "default grace is 24 h, got %v", prev.GetExpireTime().AsTime())
	require.True(t, prev.GetActive(), "inside its grace the old key is still active")
	require.Equal(t, []string{oldID}, e.changes(), "the old key's change was reported")

	p := e.requireAccepted(t, rot.GetSecret(), "the new key authenticates")
	require.Equal(t, nk.GetKeyId(), p.KeyID)
	require.Equal(t, []string{"web_chat", "email"}, p.Channels)
	require.Equal(t, []string{auth.RoleAdapter, auth.RoleAuditor}, p.Roles)

	e.clk.Advance(24*time.Hour - time.Microsecond)
	e.requireAccepted(t, old.GetSecret(), "the old key works until its grace ends")
	e.clk.Advance(time.Microsecond)
	e.requireRefused(t, old.GetSecret(), "the old key stops when its grace ends")
	e.requireAccepted(t, rot.GetSecret(), "the new key goes on")

	t.Run("a retry returns the same new key without its secret", func(t *testing.T) {
		again := e.rotate(t, rotReq)
		require.Equal(t, nk.GetKeyId(), again.GetApiKey().GetKeyId())
		require.Empty(t, again.GetSecret())
		require.Equal(t, oldID, again.GetPrevious().GetKeyId())
		require.False(t, again.GetPrevious().GetActive(), "the previous key as it is now")
	})

	t.Run("a retry with another body is AlreadyExists", func(t *testing.T) {
		other := &authv1.RotateApiKeyRequest{KeyId: oldID, RequestId: "rot-1", GracePeriod: dur(time.Hour)}
		_, err := e.srv.RotateApiKey(e.ctx, other)
		requireAPIError(t, err, apierr.KindAlreadyExists, "IDEMPOTENCY_KEY_REUSED")
	})
}

func TestRotateGraceZeroEndsTheOldKeyAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	old := e.create(t, "c", "web-form")
	rot := e.rotate(t, &authv1.RotateApiKeyRequest{KeyId: old.GetApiKey().GetKeyId(), RequestId: "r", GracePeriod: dur(0)})
	require.False(t, rot.GetPrevious().GetActive())
	require.True(t, rot.GetPrevious().GetExpireTime().AsTime().Equal(t0))
	e.requireRefused(t, old.GetSecret(), "grace 0 ends the old key now")
	e.requireAccepted(t, rot.GetSecret(), "the new key works")

	// The old key no longer counts, so the holder can rotate again straight away.
	e.rotate(t, &authv1.RotateApiKeyRequest{KeyId: rot.GetApiKey().GetKeyId(), RequestId: "r2", GracePeriod: dur(time.Hour)})
}

func TestRotateExpiryPolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lifetime := 30 * 24 * time.Hour
	tests := []struct {
		name        string
		oldExpiry   time.Duration // from t0; 0: none
		grace       time.Duration
		newExpiry   time.Duration // asked, from rotation time; 0: unset
		wantNew     time.Duration // from rotation time; 0: none
		wantOldLeft time.Duration // from rotation time
	}{
		{"an unset expiry keeps the old key's lifetime from now", lifetime, time.Hour, 0, lifetime, time.Hour},
		{"an explicit expiry wins", lifetime, time.Hour, 7 * 24 * time.Hour, 7 * 24 * time.Hour, time.Hour},
		{"no expiry stays no expiry", 0, 2 * time.Hour, 0, 0, 2 * time.Hour},
		{"a grace longer than the old key's life does not lengthen it", 11 * 24 * time.Hour, 5 * 24 * time.Hour, 0, 11 * 24 * time.Hour, 24 * time.Hour},
	}
	// All keys are created at t0 and rotated ten days later.
	rotatedAt := t0.Add(10 * 24 * time.Hour)
	olds := make([]string, len(tests))
	for i, tc := range tests {
		req := adapterReq(fmt.Sprintf("c%d", i), fmt.Sprintf("p%d", i))
		if tc.oldExpiry != 0 {
			req.ExpireTime = ts(t0.Add(tc.oldExpiry))
		}
		resp, err := e.srv.CreateApiKey(e.ctx, req)
		require.NoError(t, err)
		olds[i] = resp.GetApiKey().GetKeyId()
	}
	e.clk.Set(rotatedAt)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := &authv1.RotateApiKeyRequest{KeyId: olds[i], RequestId: "r", GracePeriod: dur(tc.grace)}
			if tc.newExpiry != 0 {
				req.ExpireTime = ts(rotatedAt.Add(tc.newExpiry))
			}
			rot := e.rotate(t, req)
			if tc.wantNew == 0 {
				require.Nil(t, rot.GetApiKey().GetExpireTime())
			} else {
				require.True(t, rot.GetApiKey().GetExpireTime().AsTime().Equal(rotatedAt.Add(tc.wantNew)),
					"new expiry %v", rot.GetApiKey().GetExpireTime().AsTime())
			}
			require.True(t, rot.GetPrevious().GetExpireTime().AsTime().Equal(rotatedAt.Add(tc.wantOldLeft)),
				"old expiry %v", rot.GetPrevious().GetExpireTime().AsTime())
		})
	}
}

func TestRotateRefusesAnEndedKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	revoked := e.create(t, "a", "revoked-one")
	e.revoke(t, revoked.GetApiKey().GetKeyId())
	req := adapterReq("b", "expired-one")
	req.ExpireTime = ts(t0.Add(time.Minute))
	expired, err := e.srv.CreateApiKey(e.ctx, req)
	require.NoError(t, err)
	e.clk.Advance(time.Hour)

	tests := []struct {
		name, keyID, state string
	}{
		{"a revoked key", revoked.GetApiKey().GetKeyId(), "revoked"},
		{"an expired key", expired.GetApiKey().GetKeyId(), "expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is API_KEY_REVOKED", func(t *testing.T) {
			t.Parallel()
			_, err := e.srv.RotateApiKey(e.ctx, &authv1.RotateApiKeyRequest{KeyId: tc.keyID, RequestId: "r"})
			ae := requireAPIError(t, err, apierr.KindFailedPrecondition, "API_KEY_REVOKED")
			require.Equal(t, tc.state, ae.Meta["current_state"])
		})
	}
}

func TestRotateCountsTheKeyInItsGrace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k1 := e.create(t, "a", "app")
	rot := e.rotate(t, &authv1.RotateApiKeyRequest{KeyId: k1.GetApiKey().GetKeyId(), RequestId: "r1"})

	// k1 (in its grace) and its successor are two active keys: a third may not appear, by create or rotate.
	_, err := e.srv.CreateApiKey(e.ctx, adapterReq("b", "app"))
	requireAPIError(t, err, apierr.KindFailedPrecondition, "API_KEY_LIMIT")
	_, err = e.srv.RotateApiKey(e.ctx, &authv1.RotateApiKeyRequest{KeyId: rot.GetApiKey().GetKeyId(), RequestId: "r2"})
	requireAPIError(t, err, apierr.KindFailedPrecondition, "API_KEY_LIMIT")
	e.requireAccepted(t, k1.GetSecret(), "a refused rotation leaves the old key as it was")

	// With a zero grace the rotated key ends, so there is room.
	e.rotate(t, &authv1.RotateApiKeyRequest{KeyId: rot.GetApiKey().GetKeyId(), RequestId: "r3", GracePeriod: dur(0)})
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := e.create(t, "a", "web-form")
	id := k.GetApiKey().GetKeyId()
	e.requireAccepted(t, k.GetSecret(), "before revocation")

	e.clk.Advance(time.Minute)
	first := e.revoke(t, id)
	require.True(t, first.GetRevokeTime().AsTime().Equal(t0.Add(time.Minute)))
	require.False(t, first.GetActive())
	e.requireRefused(t, k.GetSecret(), "a revoked key is refused")
	require.Equal(t, []string{id}, e.changes())

	e.clk.Advance(time.Hour)
	second := e.revoke(t, id)
	require.True(t, first.GetRevokeTime().AsTime().Equal(second.GetRevokeTime().AsTime()), "revoking again changes nothing")
	require.Equal(t, first.GetKeyId(), second.GetKeyId())
	require.Equal(t, first.GetCreateTime().AsTime(), second.GetCreateTime().AsTime())
}

func TestUnknownKeyIsNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const missing = "0123456789abcdef"
	tests := []struct {
		name string
		call func() error
	}{
		{"rotate", func() error {
			_, err := e.srv.RotateApiKey(e.ctx, &authv1.RotateApiKeyRequest{KeyId: missing, RequestId: "r"})
			return err
		}},
		{"revoke", func() error {
			_, err := e.srv.RevokeApiKey(e.ctx, &authv1.RevokeApiKeyRequest{KeyId: missing})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name+" of an unknown key is NotFound", func(t *testing.T) {
			t.Parallel()
			ae := requireAPIError(t, tc.call(), apierr.KindNotFound, "")
			require.Equal(t, &apierr.Resource{Type: "api_key", Name: missing}, ae.Resource)
		})
	}
	require.Empty(t, e.changes())
}

func TestExpireTimeMustLieInTheFuture(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	k := e.create(t, "a", "web-form")
	tests := []struct {
		name string
		at   time.Time
	}{
		{"an hour ago", t0.Add(-time.Hour)},
		{"now", t0},
		{"less than a microsecond ahead", t0.Add(500 * time.Nanosecond)},
	}
	for _, tc := range tests {
		t.Run("create with expire_time "+tc.name+" is InvalidArgument", func(t *testing.T) {
			t.Parallel()
			req := adapterReq("x-"+tc.name, "other")
			req.ExpireTime = ts(tc.at)
			_, err := e.srv.CreateApiKey(e.ctx, req)
			requireInvalidField(t, err, "expire_time")
		})
		t.Run("rotate with expire_time "+tc.name+" is InvalidArgument", func(t *testing.T) {
			t.Parallel()
			_, err := e.srv.RotateApiKey(e.ctx, &authv1.RotateApiKeyRequest{KeyId: k.GetApiKey().GetKeyId(), RequestId: "r-" + tc.name, ExpireTime: ts(tc.at)})
			requireInvalidField(t, err, "expire_time")
		})
	}
}

func TestNoPrincipalIsUnauthenticated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.srv.CreateApiKey(t.Context(), adapterReq("a", "web-form"))
	requireAPIError(t, err, apierr.KindUnauthenticated, "PRINCIPAL_MISSING")
	_, err = e.srv.RotateApiKey(t.Context(), &authv1.RotateApiKeyRequest{KeyId: "0123456789abcdef", RequestId: "r"})
	requireAPIError(t, err, apierr.KindUnauthenticated, "PRINCIPAL_MISSING")
}
