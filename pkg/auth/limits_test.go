package auth_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/auth"
)

func TestParseLimits(t *testing.T) {
	t.Parallel()
	good, err := auth.ParseLimits(auth.DefaultRateLimits)
	require.NoError(t, err)
	require.Equal(t, auth.Limit{Rate: 200, Burst: 400}, good.Roles[auth.RoleAdapter])
	again, err := auth.ParseLimits(good.String())
	require.NoError(t, err)
	require.Equal(t, good, again, "String round-trips")

	for _, bad := range []string{
		"adapter", "adapter=1", "adapter=x:2", "adapter=1:x", "adapter=0:5", "adapter=5:0", "adapter=-1:5",
		"root=1:2", "key:XYZ=1:2", "key:0123=1:2", "adapter=Inf:2", "adapter=NaN:2",
	} {
		_, err := auth.ParseLimits(bad)
		require.Error(t, err, bad)
	}
}

func TestLimitsFor(t *testing.T) {
	t.Parallel()
	l, err := auth.ParseLimits("agent=10:20,supervisor=30:60,key:0123456789abcdef=5:5")
	require.NoError(t, err)
	tests := []struct {
		name   string
		p      auth.Principal
		bucket string
		lim    auth.Limit
		ok     bool
	}{
		{"a role's limit", auth.Principal{Kind: auth.KindStaff, ID: "u1", Roles: []string{auth.RoleAgent}}, "principal:staff:u1", auth.Limit{Rate: 10, Burst: 20}, true},
		{"the most generous role", auth.Principal{Kind: auth.KindStaff, ID: "u1", Roles: []string{auth.RoleAgent, auth.RoleSupervisor}}, "principal:staff:u1", auth.Limit{Rate: 30, Burst: 60}, true},
		{"a key's override", auth.Principal{Kind: auth.KindAdapter, ID: "web", KeyID: "0123456789abcdef", Roles: []string{auth.RoleAgent}}, "key:0123456789abcdef", auth.Limit{Rate: 5, Burst: 5}, true},
		{"another key of the principal shares its bucket", auth.Principal{Kind: auth.KindAdapter, ID: "web", KeyID: "fedcba9876543210", Roles: []string{auth.RoleAgent}}, "principal:adapter:web", auth.Limit{Rate: 10, Burst: 20}, true},
		{"no limited role", auth.Principal{Kind: auth.KindStaff, ID: "u1", Roles: []string{auth.RoleAdmin}}, "principal:staff:u1", auth.Limit{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bucket, lim, ok := l.For(tc.p)
			require.Equal(t, tc.ok, ok)
			if ok {
				require.Equal(t, tc.bucket, bucket)
				require.Equal(t, tc.lim, lim)
			}
		})
	}
}
