package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/pkg/apierr"
	"kefu.dev/services/kb/internal/domain/article"
	"kefu.dev/services/kb/internal/domain/search"
)

// articleColumns are an article's columns in scanArticle's order; summaryColumns the same without the
// body, which lists and search hits leave out (it lives out of line: not reading it saves a fetch).
const (
	articleColumns = `id, title, body, tags, subcategories, language, status, author, version, revision, created_at,
		updated_at, update_actor, published_at, archived_at`
	summaryColumns = `id, title, '', tags, subcategories, language, status, author, version, revision, created_at,
		updated_at, update_actor, published_at, archived_at`
)

func scanArticle(r pgx.Row, extra ...any) (*article.Article, error) {
	a := &article.Article{}
	var published, archived *time.Time
	dest := append([]any{&a.ID, &a.Title, &a.Body, &a.Tags, &a.Subcategories, &a.Language, &a.Status, &a.Author,
		&a.Version, &a.Revision, &a.CreatedAt, &a.UpdatedAt, &a.UpdateActor, &published, &archived}, extra...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	if published != nil {
		a.PublishedAt = published.UTC()
	}
	if archived != nil {
		a.ArchivedAt = archived.UTC()
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, nil
}

// NotFoundArticle is the error of an article that does not exist (or that the caller may not see).
func NotFoundArticle(id uuid.UUID) error {
	return apierr.NotFound("kefu.kb.v1.Article", id.String()).WithCause(ErrNotFound)
}

// vectors are an article's search vectors as tsvector literals and the distinct terms of its document.
type vectors struct {
	head, document string
	terms          []string
}

func vectorsOf(c article.Content) vectors {
	doc := search.Document(c.Title, c.Tags, c.Body)
	return vectors{head: search.Head(c.Title, c.Tags).String(), document: doc.String(), terms: doc.Terms()}
}

// InsertArticle writes a new article with its version 1, its vectors and its terms' counts.
func (t *Tx) InsertArticle(ctx context.Context, a *article.Article) error {
	v := vectorsOf(a.Content)
	_, err := t.tx.Exec(ctx, `INSERT INTO articles (id, title, body, tags, subcategories, language, status, author, version,
		revision, created_at, updated_at, update_actor, published_at, archived_at, head, document)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::tsvector, $17::tsvector)`,
		a.ID, a.Title, a.Body, nonNil(a.Tags), nonNil(a.Subcategories), a.Language, a.Status, a.Author, a.Version, a.Revision,
		a.CreatedAt, a.UpdatedAt, a.UpdateActor, nullTime(a.PublishedAt), nullTime(a.ArchivedAt), v.head, v.document)
	if err != nil {
		return fmt.Errorf("insert article: %w", err)
	}
	if err := t.insertVersion(ctx, a); err != nil {
		return err
	}
	return t.countTerms(ctx, termDeltas(v.terms, 1))
}

func (t *Tx) insertVersion(ctx context.Context, a *article.Article) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO article_versions (article_id, version, title, body, tags, subcategories, language,
		editor, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.ID, a.Version, a.Title, a.Body, nonNil(a.Tags), nonNil(a.Subcategories), a.Language, a.UpdateActor, a.UpdatedAt)
	if err != nil {
		return fmt.Errorf("insert article version: %w", err)
	}
	return nil
}

// LockArticle reads an article and locks its row until the transaction ends.
func (t *Tx) LockArticle(ctx context.Context, id uuid.UUID) (*article.Article, error) {
	a, err := scanArticle(t.tx.QueryRow(ctx, `SELECT `+articleColumns+` FROM articles WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, NotFoundArticle(id)
	}
	if err != nil {
		return nil, fmt.Errorf("lock article: %w", err)
	}
	return a, nil
}

// SaveArticle writes a locked article's status and bookkeeping; with content changed, also its content,
// vectors, a row for its new version, and the counts of the terms it gained and lost.
func (t *Tx) SaveArticle(ctx context.Context, a *article.Article, contentChanged bool) error {
	if !contentChanged {
		_, err := t.tx.Exec(ctx, `UPDATE articles SET status = $2, revision = $3, updated_at = $4, update_actor = $5,
			published_at = $6, archived_at = $7 WHERE id = $1`,
			a.ID, a.Status, a.Revision, a.UpdatedAt, a.UpdateActor, nullTime(a.PublishedAt), nullTime(a.ArchivedAt))
		if err != nil {
			return fmt.Errorf("save article: %w", err)
		}
		return nil
	}
	var old []string
	if err := t.tx.QueryRow(ctx, `SELECT tsvector_to_array(document) FROM articles WHERE id = $1`, a.ID).Scan(&old); err != nil {
		return fmt.Errorf("read article terms: %w", err)
	}
	v := vectorsOf(a.Content)
	_, err := t.tx.Exec(ctx, `UPDATE articles SET title = $2, body = $3, tags = $4, subcategories = $5, language = $6,
		status = $7, version = $8, revision = $9, updated_at = $10, update_actor = $11, published_at = $12,
		archived_at = $13, head = $14::tsvector, document = $15::tsvector WHERE id = $1`,
		a.ID, a.Title, a.Body, nonNil(a.Tags), nonNil(a.Subcategories), a.Language, a.Status, a.Version, a.Revision, a.UpdatedAt,
		a.UpdateActor, nullTime(a.PublishedAt), nullTime(a.ArchivedAt), v.head, v.document)
	if err != nil {
		return fmt.Errorf("save article: %w", err)
	}
	if err := t.insertVersion(ctx, a); err != nil {
		return err
	}
	deltas := map[string]int{}
	for _, term := range v.terms {
		deltas[term]++
	}
	for _, term := range old {
		deltas[term]--
	}
	return t.countTerms(ctx, deltas)
}

func termDeltas(terms []string, d int) map[string]int {
	m := make(map[string]int, len(terms))
	for _, t := range terms {
		m[t] += d
	}
	return m
}

// countTerms adds deltas to the terms' article counts in one statement, terms in sorted order, so two
// writers sharing terms lock their rows in the same order and never deadlock. Common terms' rows are
// shared by every article write: concurrent writes of articles queue on them until commit, which the
// knowledge base's write rate (people editing) affords.
func (t *Tx) countTerms(ctx context.Context, deltas map[string]int) error {
	terms := make([]string, 0, len(deltas))
	for term, d := range deltas {
		if d != 0 {
			terms = append(terms, term)
		}
	}
	if len(terms) == 0 {
		return nil
	}
	slices.Sort(terms)
	ds := make([]int32, len(terms))
	for i, term := range terms {
		ds[i] = int32(deltas[term])
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO search_terms (term, articles)
		SELECT term, delta FROM unnest($1::text[], $2::integer[]) AS d(term, delta) ORDER BY term
		ON CONFLICT ON CONSTRAINT search_terms_pkey DO UPDATE SET articles = search_terms.articles + EXCLUDED.articles`,
		terms, ds)
	if err != nil {
		return fmt.Errorf("count terms: %w", err)
	}
	return nil
}

// GetArticle reads an article.
func (s *Store) GetArticle(ctx context.Context, id uuid.UUID) (*article.Article, error) {
	a, err := scanArticle(s.pool.QueryRow(ctx, `SELECT `+articleColumns+` FROM articles WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, NotFoundArticle(id)
	}
	if err != nil {
		return nil, fmt.Errorf("get article: %w", err)
	}
	return a, nil
}

// ArticleFilter selects articles to list.
type ArticleFilter struct {
	// Statuses are the statuses listed (at least one).
	Statuses              []article.Status
	Language, Tag, Subcat string
}

// ListArticles reads up to limit articles matching f without their bodies, newest first (ids are UUIDv7),
// after the id before when it is not Nil.
func (s *Store) ListArticles(ctx context.Context, f ArticleFilter, before uuid.UUID, limit int) ([]*article.Article, error) {
	statuses := make([]string, len(f.Statuses))
	for i, st := range f.Statuses {
		statuses[i] = string(st)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+summaryColumns+` FROM articles
		WHERE status = ANY($1) AND ($2 = '' OR language = $2) AND ($3 = '' OR tags @> ARRAY[$3]::text[])
		AND ($4 = '' OR subcategories @> ARRAY[$4]::text[]) AND ($5 = '00000000-0000-0000-0000-000000000000'::uuid OR id < $5)
		ORDER BY id DESC LIMIT $6`, statuses, f.Language, f.Tag, f.Subcat, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list articles: %w", err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*article.Article, error) { return scanArticle(r) })
	if err != nil {
		return nil, fmt.Errorf("list articles: %w", err)
	}
	return as, nil
}

// Version is one content version of an article.
type Version struct {
	ArticleID uuid.UUID
	Version   int
	article.Content
	Editor    string
	CreatedAt time.Time
}

const versionColumns = `article_id, version, title, body, tags, subcategories, language, editor, created_at`

func scanVersion(r pgx.Row) (Version, error) {
	var v Version
	err := r.Scan(&v.ArticleID, &v.Version, &v.Title, &v.Body, &v.Tags, &v.Subcategories, &v.Language, &v.Editor, &v.CreatedAt)
	v.CreatedAt = v.CreatedAt.UTC()
	return v, err
}

// ListVersions reads up to limit versions of an article without their bodies, newest first, below
// version before when it is positive.
func (s *Store) ListVersions(ctx context.Context, id uuid.UUID, before, limit int) ([]Version, error) {
	rows, err := s.pool.Query(ctx, `SELECT article_id, version, title, '', tags, subcategories, language, editor, created_at
		FROM article_versions WHERE article_id = $1 AND ($2 <= 0 OR version < $2) ORDER BY version DESC LIMIT $3`,
		id, before, limit)
	if err != nil {
		return nil, fmt.Errorf("list article versions: %w", err)
	}
	vs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Version, error) { return scanVersion(r) })
	if err != nil {
		return nil, fmt.Errorf("list article versions: %w", err)
	}
	return vs, nil
}

// GetVersion reads one version of an article.
func (s *Store) GetVersion(ctx context.Context, id uuid.UUID, version int) (Version, error) {
	v, err := scanVersion(s.pool.QueryRow(ctx, `SELECT `+versionColumns+` FROM article_versions
		WHERE article_id = $1 AND version = $2`, id, version))
	if errors.Is(err, pgx.ErrNoRows) {
		return Version{}, apierr.NotFound("kefu.kb.v1.ArticleVersion", fmt.Sprintf("%s/versions/%d", id, version)).WithCause(ErrNotFound)
	}
	if err != nil {
		return Version{}, fmt.Errorf("get article version: %w", err)
	}
	return v, nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// nonNil makes an absent list an empty one: the columns are NOT NULL.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
