package paging_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/paging"
)

func TestSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want int }{{-1, 50}, {0, 50}, {1, 1}, {500, 500}, {501, 500}, {1 << 30, 500}} {
		require.Equal(t, tc.want, paging.Size(tc.in), "%d", tc.in)
	}
}

type cursor struct {
	At int64  `json:"t"`
	ID string `json:"i"`
}

func TestTokens(t *testing.T) {
	t.Parallel()
	tok := paging.Encode(cursor{At: 42, ID: "x"}, "tickets:filters")
	var got cursor
	require.NoError(t, paging.Decode(tok, "tickets:filters", &got))
	require.Equal(t, cursor{At: 42, ID: "x"}, got)

	for name, bad := range map[string]string{
		"another scope's": tok, "garbled": "%%%", "base64 of nothing": "e30", "made up": "eyJzIjoiMDAifQ",
	} {
		scope := "tickets:filters"
		if name == "another scope's" {
			scope = "tickets:other"
		}
		err := paging.Decode(bad, scope, &got)
		e, ok := apierr.As(err)
		require.True(t, ok, name)
		require.Equal(t, apierr.KindInvalidArgument, e.Kind, name)
		require.Equal(t, "page_token", e.Fields[0].Field, name)
	}
}
