package store

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"kefu.dev/services/kb/internal/domain/article"
)

// TermCounts returns how many articles hold each of terms (terms no article holds are absent).
func (s *Store) TermCounts(ctx context.Context, terms []string) (map[string]int, error) {
	out := make(map[string]int, len(terms))
	if len(terms) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT term, articles FROM search_terms WHERE term = ANY($1) AND articles > 0`, terms)
	if err != nil {
		return nil, fmt.Errorf("term counts: %w", err)
	}
	var term string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&term, &n}, func() error {
		out[term] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("term counts: %w", err)
	}
	return out, nil
}

// ArticleCount estimates how many articles there are from the planner's statistics (kept by autovacuum's
// ANALYZE), 0 before the table was first analysed. Exactness does not matter: it only tells which terms
// are in most articles.
func (s *Store) ArticleCount(ctx context.Context) (int, error) {
	var n float64
	if err := s.pool.QueryRow(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'articles'::regclass`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count articles: %w", err)
	}
	return max(int(n), 0), nil
}

// SearchSpec is one search, planned by the app (search.MakePlan) and rendered as tsquery literals.
type SearchSpec struct {
	// HeadAll and HeadAny select candidates by title and tags: the ones matching HeadAll (every term)
	// first, then HeadAny (any term), at most HeadCap of them; the best HeadKeep by the title's rank are
	// kept. HeadAll is empty for a single term.
	HeadAll, HeadAny  string
	HeadCap, HeadKeep int
	// DocumentQuery selects candidates by the whole document (title, tags, body): at most DocumentCap.
	// Empty: none.
	DocumentQuery string
	DocumentCap   int
	// RankQuery ranks the candidates.
	RankQuery string
	// Statuses filters the articles (at least one).
	Statuses []article.Status
	// Language and Subcategory, when set, filter the articles.
	Language, Subcategory string
	// Boost, when set, is a subcategory whose articles get BoostWeight added to their rank.
	Boost       string
	BoostWeight float64
	// PreferLanguage, when set, puts articles in that language before the others.
	PreferLanguage string
	// Limit is how many hits to return.
	Limit int
}

// Hit is a search result: the article without its body, the body to cut a snippet from, the rank, and
// whether the article links the boosted subcategory.
type Hit struct {
	Article *article.Article
	Body    string
	Score   float64
	Boosted bool
}

// rankWeights are ts_rank's weights of D, C, B and A: title characters, body, tags, title.
const rankWeights = `'{0.05, 0.2, 0.5, 1.0}'`

// Search runs spec. The candidates are few by construction (the app's plan and the caps), so ranking reads
// only their vectors: the head's in the row for title matches, the document's out of line for the final
// rank.
//
// Sequential scans are off for the statement (SET LOCAL, in the same batch: one round trip, one implicit
// transaction). Every candidate set here comes from a GIN index and is capped by a LIMIT; given a LIMIT
// and a common term, the planner prefers to scan the table until enough rows match, because its cost model
// does not see that testing a row means reading its document vector out of line: that scan was the
// slowest part of the slowest searches (13 ms of 18 for "account" over 100,000 articles). With scans off,
// the plan no longer depends on the terms, so the prepared statement's generic plan is as good as a
// custom one.
func (s *Store) Search(ctx context.Context, spec SearchSpec) ([]Hit, error) {
	statuses := make([]string, len(spec.Statuses))
	for i, st := range spec.Statuses {
		statuses[i] = string(st)
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	filters := ` AND status = ANY(` + arg(statuses) + `)`
	if spec.Language != "" {
		filters += ` AND language = ` + arg(spec.Language)
	}
	if spec.Subcategory != "" {
		filters += ` AND subcategories @> ARRAY[` + arg(spec.Subcategory) + `]::text[]`
	}
	rank := arg(spec.RankQuery) + `::tsquery`
	// Title candidates: those with every term, then (only when they are fewer than the cap: a LIMIT over
	// UNION ALL stops pulling from the first branch that fills it) those with any.
	heads := `SELECT id, head FROM articles WHERE head @@ ` + arg(spec.HeadAny) + `::tsquery` + filters
	if spec.HeadAll != "" {
		heads = `(SELECT id, head FROM articles WHERE head @@ ` + arg(spec.HeadAll) + `::tsquery` + filters + `) UNION ALL (` + heads + `)`
	}
	candidates := `SELECT id FROM (SELECT id, head FROM (` + heads + `) a LIMIT ` + arg(spec.HeadCap) + `) h
		ORDER BY ts_rank(` + rankWeights + `, head, ` + rank + `) DESC LIMIT ` + arg(spec.HeadKeep)
	if spec.DocumentQuery != "" {
		candidates = `(` + candidates + `) UNION (SELECT id FROM articles WHERE document @@ ` + arg(spec.DocumentQuery) + `::tsquery` +
			filters + ` LIMIT ` + arg(spec.DocumentCap) + `)`
	}
	score, boosted := `ts_rank(`+rankWeights+`, document, `+rank+`)`, `false`
	if spec.Boost != "" {
		boosted = `subcategories @> ARRAY[` + arg(spec.Boost) + `]::text[]`
		score += ` + CASE WHEN ` + boosted + ` THEN ` + arg(spec.BoostWeight) + `::float8 ELSE 0 END`
	}
	order := `score DESC, id DESC`
	if spec.PreferLanguage != "" {
		order = `language = ` + arg(spec.PreferLanguage) + ` DESC, ` + order
	}
	sql := `WITH c AS (` + candidates + `)
		SELECT ` + summaryColumns + `, body, ` + score + ` AS score, ` + boosted + ` AS boosted
		FROM articles WHERE id IN (SELECT id FROM c) ORDER BY ` + order + ` LIMIT ` + arg(spec.Limit)
	b := &pgx.Batch{}
	b.Queue(`SET LOCAL enable_seqscan = off`)
	b.Queue(sql, args...)
	br := s.pool.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("search articles: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("search articles: %w", err)
	}
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Hit, error) {
		var h Hit
		a, err := scanArticle(r, &h.Body, &h.Score, &h.Boosted)
		h.Article = a
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("search articles: %w", err)
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("search articles: %w", err)
	}
	return hits, nil
}

// LinkedArticles reads up to limit published articles linked to subcategory, most often marked helpful
// first (then most inserted, newest): suggestions for a ticket whose words match nothing. Language, when
// set, comes first.
func (s *Store) LinkedArticles(ctx context.Context, subcategory, preferLanguage string, limit int) ([]Hit, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+summaryColumns+`, body FROM articles
		WHERE status = 'published' AND subcategories @> ARRAY[$1]::text[]
		ORDER BY ($2 <> '' AND language = $2) DESC, helped_count DESC, inserted_count DESC, id DESC LIMIT $3`,
		subcategory, preferLanguage, limit)
	if err != nil {
		return nil, fmt.Errorf("linked articles: %w", err)
	}
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Hit, error) {
		h := Hit{Boosted: true}
		a, err := scanArticle(r, &h.Body)
		h.Article = a
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("linked articles: %w", err)
	}
	return hits, nil
}
