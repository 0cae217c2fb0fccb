package app

import (
	"context"
	"slices"
	"unicode/utf8"

	"github.com/google/uuid"

	"kefu.dev/services/kb/internal/domain/article"
	"kefu.dev/services/kb/internal/domain/search"
	"kefu.dev/services/kb/internal/store"
)

// Hit is a found article with its snippets.
type Hit struct {
	// Article is without its body.
	Article          *article.Article
	Score            float64
	TitleSnippet     string
	BodySnippet      string
	SubcategoryMatch bool
}

// SnippetWidth is about how many characters of the body a hit shows.
const SnippetWidth = 120

// maxSnippetSource bounds the bytes of a body's Markdown a snippet is cut from: matches past the first
// 32 KiB of a long article are not shown (the article still ranks by all of it), so one huge article
// cannot make a search slow.
const maxSnippetSource = 32 << 10

// Search limits.
const (
	DefaultSearchSize  = 10
	MaxSearchSize      = 50
	DefaultSuggestSize = 5
	MaxSuggestSize     = 20
	// maxSuggestTerms bounds the terms read from a ticket's words before the plan keeps the rarest.
	maxSuggestTerms = 256
)

// SearchInput is a search.
type SearchInput struct {
	Query string
	// Language and Subcategory, when set, filter the articles.
	Language, Subcategory string
	// IncludeDrafts searches drafts too (writers only; ignored for readers).
	IncludeDrafts bool
	Size          int
}

// Search finds the articles the caller may see that match in.Query, best first.
func (a *App) Search(ctx context.Context, in SearchInput) ([]Hit, error) {
	q := search.ParseQuery(in.Query)
	statuses := []article.Status{article.Published}
	if in.IncludeDrafts && writer(ctx) {
		statuses = append(statuses, article.Draft)
	}
	return a.search(ctx, q, store.SearchSpec{Statuses: statuses, Language: in.Language, Subcategory: in.Subcategory,
		Limit: size(in.Size, DefaultSearchSize, MaxSearchSize)})
}

func size(n, def, limit int) int {
	switch {
	case n <= 0:
		return def
	case n > limit:
		return limit
	}
	return n
}

// search plans q over the term counts and runs it with spec's filters. A query no article can match
// (only stop words, or terms no article has) finds nothing without asking the index.
func (a *App) search(ctx context.Context, q search.Query, spec store.SearchSpec) ([]Hit, error) {
	if q.Empty() {
		return nil, nil
	}
	df, err := a.st.TermCounts(ctx, q.All())
	if err != nil {
		return nil, err
	}
	n, err := a.articleCount(ctx)
	if err != nil {
		return nil, err
	}
	plan := search.MakePlan(q, df, n, a.cfg.SearchBudget)
	if plan.Empty() {
		return nil, nil
	}
	spec.HeadAny, spec.HeadCap, spec.HeadKeep = search.TSQuery(plan.Head, "|"), a.cfg.HeadCap, a.cfg.HeadKeep
	if len(plan.Head) > 1 {
		spec.HeadAll = search.TSQuery(plan.Head, "&")
	}
	op := "|"
	if plan.SelectAll {
		op = "&"
	}
	spec.DocumentQuery, spec.DocumentCap = search.TSQuery(plan.Select, op), a.cfg.DocumentCap
	spec.RankQuery = search.TSQuery(plan.Rank, "|")
	found, err := a.st.Search(ctx, spec)
	if err != nil {
		return nil, err
	}
	return hits(found, q), nil
}

// hits cuts the snippets: titles mark the query's words, bigrams and single characters; bodies its words
// and bigrams only (single characters rank titles only, and marking each 退 or 款 of a body is noise),
// unless the query has nothing else.
func hits(found []store.Hit, q search.Query) []Hit {
	bodyQ := q
	if len(q.Terms) > 0 {
		bodyQ = search.Query{Terms: q.Terms}
	}
	out := make([]Hit, len(found))
	for i, h := range found {
		out[i] = Hit{Article: h.Article, Score: h.Score, SubcategoryMatch: h.Boosted,
			TitleSnippet: search.Snippet(h.Article.Title, q, 0),
			BodySnippet:  search.Snippet(search.PlainText(prefix(h.Body, maxSnippetSource)), bodyQ, SnippetWidth)}
	}
	return out
}

// prefix returns s cut to at most n bytes, at a character boundary.
func prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Suggestion is what SuggestArticles proposes for a ticket.
type Suggestion struct {
	Hits []Hit
	// Subcategory is the ticket's full subcategory code; Language the one guessed from the customer's
	// words.
	Subcategory, Language string
}

// Suggest proposes published articles for a ticket the caller may see: ranked by the customer's words,
// articles linked to the ticket's subcategory boosted, the customer's language first; filled up with the
// subcategory's most helpful articles when the words match too few.
func (a *App) Suggest(ctx context.Context, ticketID uuid.UUID, n int) (Suggestion, error) {
	t, err := a.ticket(ctx, ticketID)
	if err != nil {
		return Suggestion{}, err
	}
	n = size(n, DefaultSuggestSize, MaxSuggestSize)
	words := t.Subject + "\n" + t.Description
	out := Suggestion{Subcategory: t.Subcategory, Language: search.DetectLanguage(words)}
	q := search.ParseText(words, maxSuggestTerms)
	out.Hits, err = a.search(ctx, q, store.SearchSpec{Statuses: []article.Status{article.Published},
		Boost: t.Subcategory, BoostWeight: a.cfg.SuggestBoost, PreferLanguage: out.Language, Limit: n})
	if err != nil {
		return Suggestion{}, err
	}
	if len(out.Hits) >= n || t.Subcategory == "" {
		return out, nil
	}
	linked, err := a.st.LinkedArticles(ctx, t.Subcategory, out.Language, n)
	if err != nil {
		return Suggestion{}, err
	}
	for _, h := range hits(linked, q) {
		if len(out.Hits) == n {
			break
		}
		if !slices.ContainsFunc(out.Hits, func(o Hit) bool { return o.Article.ID == h.Article.ID }) {
			out.Hits = append(out.Hits, h)
		}
	}
	return out, nil
}
