package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/testkit"
	"kefu.dev/services/kb/internal/domain/article"
	"kefu.dev/services/kb/internal/store"
)

var now = time.Date(2026, 10, 12, 2, 0, 0, 0, time.UTC)

func newStore(t *testing.T) (*store.Store, *testkit.DB) {
	t.Helper()
	db := testkit.NewDB(t, "kb", store.Migrations()...)
	return store.New(db.Pool), db
}

func counts(t *testing.T, db *testkit.DB, terms ...string) map[string]int {
	t.Helper()
	out, err := store.New(db.Pool).TermCounts(t.Context(), terms)
	require.NoError(t, err)
	return out
}

// TestTermCountsFollowContent proves the document frequencies the planner reads stay exact: an insert
// counts each distinct term once, an edit moves the counts of the terms gained and lost, a status change
// touches nothing.
func TestTermCountsFollowContent(t *testing.T) {
	t.Parallel()
	st, db := newStore(t)
	ctx := t.Context()
	a := article.New(uuid.Must(uuid.NewV7()), article.Content{Title: "退款到账", Body: "退款退款 refund refunds", Language: "zh-CN"}, "staff:s", now)
	b := article.New(uuid.Must(uuid.NewV7()), article.Content{Title: "发票", Body: "退款 invoice", Language: "zh-CN"}, "staff:s", now)
	for _, x := range []*article.Article{a, b} {
		require.NoError(t, st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.InsertArticle(ctx, x) }))
	}
	require.Equal(t, map[string]int{"退款": 2, "到账": 1, "refund": 1, "发票": 1, "invoice": 1}, counts(t, db, "退款", "到账", "refund", "发票", "invoice", "absent"))

	require.NoError(t, st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		cur, err := tx.LockArticle(ctx, a.ID)
		if err != nil {
			return err
		}
		changed, err := cur.Edit(article.Content{Title: "退款时效", Body: "invoice"}, []string{"title", "body"}, "staff:s", now)
		require.True(t, changed)
		if err != nil {
			return err
		}
		return tx.SaveArticle(ctx, cur, true)
	}))
	require.Equal(t, map[string]int{"退款": 2, "时效": 1, "invoice": 2}, counts(t, db, "退款", "到账", "refund", "时效", "invoice"),
		"到账 and refund were lost, 时效 gained; 退款 is still in both")

	require.NoError(t, st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		cur, err := tx.LockArticle(ctx, a.ID)
		if err != nil {
			return err
		}
		if err := cur.Publish("staff:s", now); err != nil {
			return err
		}
		return tx.SaveArticle(ctx, cur, false)
	}))
	require.Equal(t, map[string]int{"退款": 2, "时效": 1, "invoice": 2}, counts(t, db, "退款", "时效", "invoice"))
	v, err := st.GetVersion(ctx, a.ID, 1)
	require.NoError(t, err)
	require.Equal(t, "退款到账", v.Title)
}

// TestLoadArticlesWritesWhatInsertWrites keeps the benchmark's loader true to the service: an article
// loaded in bulk has the same vectors, version row and term counts as one created.
func TestLoadArticlesWritesWhatInsertWrites(t *testing.T) {
	t.Parallel()
	st, db := newStore(t)
	c := article.Content{Title: "退款到账时间", Body: "## 银行卡\n退款3到7个工作日到账。Refunds take days.", Tags: []string{"退款"},
		Subcategories: []string{"request.refund"}, Language: "zh-CN"}
	created := article.New(uuid.Must(uuid.NewV7()), c, "bench", now)
	require.NoError(t, st.InTx(t.Context(), func(ctx context.Context, tx *store.Tx) error { return tx.InsertArticle(ctx, created) }))
	var loaded []*article.Article
	for range 3 {
		loaded = append(loaded, article.New(uuid.Must(uuid.NewV7()), c, "bench", now))
	}
	require.NoError(t, st.LoadArticles(t.Context(), loaded))

	require.Equal(t, map[string]int{"退款": 4, "到账": 4, "refund": 4, "银行": 4}, counts(t, db, "退款", "到账", "refund", "银行"))
	vectors := func(id uuid.UUID) (string, string) {
		var head, doc string
		require.NoError(t, db.Pool.QueryRow(t.Context(), `SELECT head::text, document::text FROM articles WHERE id = $1`, id).Scan(&head, &doc))
		return head, doc
	}
	wantHead, wantDoc := vectors(created.ID)
	require.Contains(t, wantDoc, "'退款'")
	for _, a := range loaded {
		head, doc := vectors(a.ID)
		require.Equal(t, wantHead, head)
		require.Equal(t, wantDoc, doc)
		v, err := st.GetVersion(t.Context(), a.ID, 1)
		require.NoError(t, err)
		require.Equal(t, c.Body, v.Body)
	}
}

// TestApplyTicketKeepsTheNewestClassification proves the projection is order independent: an older event
// arriving late changes nothing, an update arriving before the creation keeps its subcategory, and the
// creation time once known stays.
func TestApplyTicketKeepsTheNewestClassification(t *testing.T) {
	t.Parallel()
	st, db := newStore(t)
	ctx := t.Context()
	id := uuid.New()
	apply := func(sub string, seq int64, created *time.Time) {
		require.NoError(t, st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error { return tx.ApplyTicket(ctx, id, sub, seq, created) }))
	}
	read := func() (string, *time.Time) {
		var sub string
		var created *time.Time
		require.NoError(t, db.Pool.QueryRow(ctx, `SELECT subcategory, created_at FROM tickets WHERE ticket_id = $1`, id).Scan(&sub, &created))
		return sub, created
	}
	apply("complaint.product_quality", 3, nil)
	sub, created := read()
	require.Equal(t, "complaint.product_quality", sub)
	require.Nil(t, created)

	at := now
	apply("complaint.logistics", 1, &at)
	sub, created = read()
	require.Equal(t, "complaint.product_quality", sub, "the creation's older classification does not win")
	require.Equal(t, now, created.UTC())

	apply("request.refund", 2, nil)
	sub, _ = read()
	require.Equal(t, "complaint.product_quality", sub)
	apply("request.refund", 4, nil)
	sub, created = read()
	require.Equal(t, "request.refund", sub)
	require.Equal(t, now, created.UTC())
}
