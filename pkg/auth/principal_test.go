package auth_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/auth"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want auth.Principal
		ok   bool
	}{
		{"a staff member parses", "staff:agent-7", auth.Principal{Kind: auth.KindStaff, ID: "agent-7"}, true},
		{"an adapter parses", "adapter:ivr", auth.Principal{Kind: auth.KindAdapter, ID: "ivr"}, true},
		{"a missing colon is refused", "staff", auth.Principal{}, false},
		{"an unknown kind is refused", "robot:r2", auth.Principal{}, false},
		{"an empty id is refused", "service:", auth.Principal{}, false},
		{"spaces in the id are refused", "staff:a b", auth.Principal{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := auth.Parse(tc.in)
			if !tc.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.in, got.String())
		})
	}
}
