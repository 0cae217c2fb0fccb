package apikeys_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	"kefu.dev/pkg/auth/apikeys"
)

func TestList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	// Seven keys over four principals (two each at most), created in pairs at the same instant so the
	// key id has to break ties.
	var (
		ids     []string // in creation order
		secrets []string
		holder  = map[string]string{} // key id → principal
	)
	for i := range 7 {
		principal := fmt.Sprintf("p%d", i/2)
		resp := e.create(t, fmt.Sprintf("r%d", i), principal)
		ids = append(ids, resp.GetApiKey().GetKeyId())
		secrets = append(secrets, resp.GetSecret())
		holder[resp.GetApiKey().GetKeyId()] = principal
		if i%2 == 1 {
			e.clk.Advance(time.Second)
		}
	}
	// newest is the expected order: created_at descending, then key id descending.
	created := map[string]int{}
	for i, id := range ids {
		created[id] = i / 2
	}
	newest := slices.Clone(ids)
	slices.SortFunc(newest, func(a, b string) int {
		if created[a] != created[b] {
			return created[b] - created[a]
		}
		return strings.Compare(b, a)
	})

	list := func(t *testing.T, req *authv1.ListApiKeysRequest) *authv1.ListApiKeysResponse {
		t.Helper()
		resp, err := e.srv.ListApiKeys(e.ctx, req)
		require.NoError(t, err)
		b, err := protojson.Marshal(resp)
		require.NoError(t, err)
		for _, s := range secrets {
			require.NotContains(t, string(b), s, "a listing never carries a secret")
			_, secret, _ := strings.Cut(strings.TrimPrefix(s, "kefu_"), "_")
			require.NotContains(t, string(b), secret)
		}
		return resp
	}
	keyIDs := func(keys []*authv1.ApiKey) []string {
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = k.GetKeyId()
		}
		return out
	}

	t.Run("one page holds everything newest first", func(t *testing.T) {
		t.Parallel()
		resp := list(t, &authv1.ListApiKeysRequest{})
		require.Equal(t, newest, keyIDs(resp.GetApiKeys()))
		require.Empty(t, resp.GetNextPageToken())
	})

	t.Run("pages of three give every key exactly once, in order", func(t *testing.T) {
		t.Parallel()
		var got []string
		var sizes []int
		req := &authv1.ListApiKeysRequest{PageSize: 3}
		for {
			resp := list(t, req)
			got = append(got, keyIDs(resp.GetApiKeys())...)
			sizes = append(sizes, len(resp.GetApiKeys()))
			if resp.GetNextPageToken() == "" {
				break
			}
			req.PageToken = resp.GetNextPageToken()
		}
		require.Equal(t, []int{3, 3, 1}, sizes)
		require.Equal(t, newest, got)
	})

	t.Run("a page size above the maximum is coerced, not refused", func(t *testing.T) {
		t.Parallel()
		resp := list(t, &authv1.ListApiKeysRequest{PageSize: 100000})
		require.Len(t, resp.GetApiKeys(), 7)
	})

	t.Run("principal_id filters", func(t *testing.T) {
		t.Parallel()
		resp := list(t, &authv1.ListApiKeysRequest{PrincipalId: "p1"})
		var want []string
		for _, id := range newest {
			if holder[id] == "p1" {
				want = append(want, id)
			}
		}
		require.Len(t, want, 2)
		require.Equal(t, want, keyIDs(resp.GetApiKeys()))
		for _, k := range resp.GetApiKeys() {
			require.Equal(t, "p1", k.GetPrincipalId())
		}
	})

	t.Run("a token used with other filters is InvalidArgument", func(t *testing.T) {
		t.Parallel()
		resp := list(t, &authv1.ListApiKeysRequest{PageSize: 1})
		require.NotEmpty(t, resp.GetNextPageToken())
		for _, other := range []*authv1.ListApiKeysRequest{
			{PageToken: resp.GetNextPageToken(), PrincipalId: "p0"},
			{PageToken: resp.GetNextPageToken(), IncludeInactive: true},
		} {
			_, err := e.srv.ListApiKeys(e.ctx, other)
			requireInvalidField(t, err, "page_token")
		}
		// A different page size is not a different filter.
		_, err := e.srv.ListApiKeys(e.ctx, &authv1.ListApiKeysRequest{PageToken: resp.GetNextPageToken(), PageSize: 5})
		require.NoError(t, err)
	})

	t.Run("a garbled token is InvalidArgument", func(t *testing.T) {
		t.Parallel()
		for _, tok := range []string{"garbage!", "bm90IGpzb24", "e30"} { // not base64; "not json"; "{}"
			_, err := e.srv.ListApiKeys(e.ctx, &authv1.ListApiKeysRequest{PageToken: tok})
			requireInvalidField(t, err, "page_token")
		}
	})
}

func TestListHidesInactiveKeysUnlessAsked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	live := e.create(t, "a", "p")
	revoked := e.create(t, "b", "p")
	e.revoke(t, revoked.GetApiKey().GetKeyId())
	req := adapterReq("c", "q")
	req.ExpireTime = ts(t0.Add(time.Minute))
	expired, err := e.srv.CreateApiKey(e.ctx, req)
	require.NoError(t, err)
	e.clk.Advance(time.Minute)

	resp, err := e.srv.ListApiKeys(e.ctx, &authv1.ListApiKeysRequest{})
	require.NoError(t, err)
	require.Len(t, resp.GetApiKeys(), 1)
	require.Equal(t, live.GetApiKey().GetKeyId(), resp.GetApiKeys()[0].GetKeyId())
	require.True(t, resp.GetApiKeys()[0].GetActive())

	resp, err = e.srv.ListApiKeys(e.ctx, &authv1.ListApiKeysRequest{IncludeInactive: true})
	require.NoError(t, err)
	active := map[string]bool{}
	for _, k := range resp.GetApiKeys() {
		active[k.GetKeyId()] = k.GetActive()
	}
	require.Equal(t, map[string]bool{
		live.GetApiKey().GetKeyId():    true,
		revoked.GetApiKey().GetKeyId(): false,
		expired.GetApiKey().GetKeyId(): false,
	}, active)

	resp, err = e.srv.ListApiKeys(e.ctx, &authv1.ListApiKeysRequest{PrincipalId: "p", IncludeInactive: true})
	require.NoError(t, err)
	require.Len(t, resp.GetApiKeys(), 2)
}

func TestPageSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		requested int
		want      int
	}{
		{"zero is the default", 0, apikeys.DefaultPageSize},
		{"a small size is kept", 3, 3},
		{"the maximum is kept", 500, 500},
		{"above the maximum is the maximum", 501, apikeys.MaxPageSize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, apikeys.PageSize(tc.requested))
		})
	}
}
