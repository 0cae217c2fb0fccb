package routing

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
)

// id returns a fixed uuid whose bytes sort by n, so tie-breaks on id are predictable in tests.
func id(n int) uuid.UUID { return uuid.MustParse(fmt.Sprintf("00000000-0000-7000-8000-%012d", n)) }

// requireFields asserts err is InvalidArgument naming exactly the fields given (nil fields: err is nil).
func requireFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	if len(fields) == 0 {
		require.NoError(t, err)
		return
	}
	e, ok := apierr.As(err)
	require.True(t, ok, "want *apierr.Error, got %v", err)
	require.Equal(t, apierr.KindInvalidArgument, e.Kind)
	got := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		got[i] = f.Field
	}
	require.ElementsMatch(t, fields, got)
}
