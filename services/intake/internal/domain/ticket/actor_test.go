package ticket

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestActorValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		actor Actor
		ok    bool
	}{
		{"an adapter", Actor{ActorAdapter, "web-form"}, true},
		{"a staff member", Actor{ActorStaff, "agent-7"}, true},
		{"a service", Actor{ActorService, "routing"}, true},
		{"the system", Actor{ActorSystem, "auto-close"}, true},
		{"an unknown kind", Actor{"robot", "r2"}, false},
		{"no id", Actor{ActorStaff, ""}, false},
		{"nothing at all", Actor{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.actor.Validate()
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
		})
	}
	require.Equal(t, "staff:agent-7", Actor{ActorStaff, "agent-7"}.String())
}
