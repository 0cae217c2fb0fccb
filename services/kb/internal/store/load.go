package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"kefu.dev/services/kb/internal/domain/article"
)

// LoadArticles writes many new articles at once (the benchmark's corpus) by COPY, with their version 1,
// their vectors made by the same code as InsertArticle's and their terms' counts, in one transaction.
// The articles' content must be normalized already.
func (s *Store) LoadArticles(ctx context.Context, as []*article.Article) error {
	return s.InTx(ctx, func(ctx context.Context, tx *Tx) error {
		rows := make([][]any, len(as))
		versions := make([][]any, len(as))
		deltas := map[string]int{}
		for i, a := range as {
			v := vectorsOf(a.Content)
			for _, t := range v.terms {
				deltas[t]++
			}
			rows[i] = []any{a.ID, a.Title, a.Body, nonNil(a.Tags), nonNil(a.Subcategories), a.Language, string(a.Status), a.Author, a.Version,
				a.Revision, a.CreatedAt, a.UpdatedAt, a.UpdateActor, nullTime(a.PublishedAt), nullTime(a.ArchivedAt), v.head, v.document}
			versions[i] = []any{a.ID, a.Version, a.Title, a.Body, nonNil(a.Tags), nonNil(a.Subcategories), a.Language, a.UpdateActor, a.UpdatedAt}
		}
		if _, err := tx.tx.CopyFrom(ctx, pgx.Identifier{"articles"}, []string{"id", "title", "body", "tags", "subcategories",
			"language", "status", "author", "version", "revision", "created_at", "updated_at", "update_actor", "published_at",
			"archived_at", "head", "document"}, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("copy articles: %w", err)
		}
		if _, err := tx.tx.CopyFrom(ctx, pgx.Identifier{"article_versions"}, []string{"article_id", "version", "title", "body",
			"tags", "subcategories", "language", "editor", "created_at"}, pgx.CopyFromRows(versions)); err != nil {
			return fmt.Errorf("copy article versions: %w", err)
		}
		return tx.countTerms(ctx, deltas)
	})
}
