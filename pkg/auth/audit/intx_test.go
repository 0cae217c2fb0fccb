package audit_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/auth/audit"
)

// TestQueuedRecordsKeepReasonAndFields: a record queued into a change's transaction is stored with the
// object the store names and the reason and fields the guard put in it, like one the Writer writes.
func TestQueuedRecordsKeepReasonAndFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.WriterOptions{})
	tests := []struct {
		name   string
		reason string
		fields []string
	}{
		{"a record with a reason and fields keeps both", "erasure request PR-42", []string{"urgency", "level"}},
		{"a record without either keeps them empty", "", nil},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := sample()
			r.ObjectType, r.ObjectID, r.Result = "", "", "" // Queue fills them in
			r.Reason, r.Fields = tc.reason, tc.fields
			ctx, pend := audit.WithPending(t.Context(), r)
			id := []string{"queued-1", "queued-2"}[i]
			b := &pgx.Batch{}
			b.Queue(`BEGIN`)
			require.NoError(t, audit.Queue(ctx, b, "customer", id))
			b.Queue(`COMMIT`)
			require.NoError(t, e.db.Pool.SendBatch(t.Context(), b).Close())
			require.True(t, pend.Queued())

			page, err := e.store.List(t.Context(), audit.Filter{ObjectType: "customer", ObjectID: id}, 0, "")
			require.NoError(t, err)
			require.Len(t, page.Records, 1)
			got := page.Records[0]
			require.Equal(t, "OK", got.Result)
			require.Equal(t, tc.reason, got.Reason)
			want := tc.fields
			if want == nil {
				want = []string{}
			}
			require.Equal(t, want, got.Fields)
		})
	}
}
