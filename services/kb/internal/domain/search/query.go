package search

import (
	"cmp"
	"slices"
	"strings"
)

// MaxQueryTerms caps the distinct terms a search query keeps (the first ones): a pasted paragraph must not
// turn into a query of hundreds of terms. MaxRankTerms caps the terms a plan ranks with (the rarest ones),
// for texts analysed whole, such as a ticket's description.
const (
	MaxQueryTerms = 24
	MaxRankTerms  = 24
)

// Query is a search text analysed: its terms (words and bigrams, as indexed) and its single CJK characters
// (matched against titles only).
type Query struct {
	Terms []string
	Chars []string
}

// ParseQuery analyses text as a search query: at most MaxQueryTerms terms and as many characters.
func ParseQuery(text string) Query { return ParseText(text, MaxQueryTerms) }

// ParseText analyses text as a query of at most limit terms and limit characters (the first ones).
func ParseText(text string, limit int) Query {
	q := Query{Terms: Terms(Tokens(text))}
	if len(q.Terms) > limit {
		q.Terms = q.Terms[:limit]
	}
	for _, c := range Terms(Chars(text)) {
		if !slices.Contains(q.Terms, c) && len(q.Chars) < limit {
			q.Chars = append(q.Chars, c)
		}
	}
	return q
}

// Empty reports a query with nothing to search for (only stop words, punctuation or spaces).
func (q Query) Empty() bool { return len(q.Terms) == 0 && len(q.Chars) == 0 }

// All returns the terms followed by the characters.
func (q Query) All() []string { return append(slices.Clone(q.Terms), q.Chars...) }

// Plan is how the store runs a query: which terms pick candidate articles through the GIN indexes, and
// which terms rank them. Ranking reads every candidate's document vector, so the planner keeps the
// candidates few and good, in two ways:
//
//   - By title and tags (Head): articles whose title or tags have all the Head terms come first, then those
//     with any; the store ranks a bounded number of them by the title alone and keeps the best.
//   - By the whole text (Select): the query's rare terms, taken rarest first while their document
//     frequencies add up to at most the budget. An article that has only the query's common terms
//     ("订单", "order") in its body is not a candidate when rarer terms matched others, since it could not
//     rank above them anyway (the MaxScore idea). When even the rarest term is common, candidates must
//     have every Head term (AND).
//
// Single characters (Query.Chars) only rank titles; they pick candidates only when the query has
// nothing else.
type Plan struct {
	// Head are the terms titles and tags are matched with.
	Head []string
	// Select are the terms whose articles are candidates by their whole text.
	Select []string
	// SelectAll says those candidates must have every Select term; otherwise any one.
	SelectAll bool
	// Rank are the terms the rank counts: every term some article has, except terms in more than
	// CommonShare of the articles when rarer ones are left (they would only add noise), at most
	// MaxRankTerms of them (the rarest).
	Rank []string
}

// CommonShare is the share of articles above which a term stops counting in the rank when the query has
// rarer ones: it says as little as a stop word.
const CommonShare = 0.2

// Empty reports a plan that can match nothing.
func (p Plan) Empty() bool { return len(p.Rank) == 0 }

// MakePlan plans q given each term's document frequency (absent: no article has it) among n articles
// (0 when unknown: no term counts as common), with at most budget candidates by whole text wherever term
// frequencies allow.
func MakePlan(q Query, df map[string]int, n, budget int) Plan {
	type stat struct {
		term string
		df   int
		char bool
	}
	var known []stat
	words := 0
	for _, t := range q.All() {
		if d := df[t]; d > 0 {
			char := slices.Contains(q.Chars, t)
			known = append(known, stat{t, d, char})
			if !char {
				words++
			}
		}
	}
	if len(known) == 0 {
		return Plan{}
	}
	var p Plan
	common := int(float64(n) * CommonShare)
	rank := slices.DeleteFunc(slices.Clone(known), func(s stat) bool { return n > 0 && s.df > common })
	if len(rank) == 0 {
		rank = known
	}
	if len(rank) > MaxRankTerms {
		byDF := slices.SortedStableFunc(slices.Values(rank), func(a, b stat) int { return cmp.Compare(a.df, b.df) })
		keep := map[string]bool{}
		for _, s := range byDF[:MaxRankTerms] {
			keep[s.term] = true
		}
		rank = slices.DeleteFunc(rank, func(s stat) bool { return !keep[s.term] })
	}
	// Words and bigrams select; characters only when there is nothing else.
	selecting := func(s stat) bool { return !s.char || words == 0 }
	for _, s := range rank {
		p.Rank = append(p.Rank, s.term)
		if selecting(s) {
			p.Head = append(p.Head, s.term)
		}
	}
	if len(p.Head) == 0 {
		// Every word is common and was left out of the rank: select by characters.
		for _, s := range rank {
			p.Head = append(p.Head, s.term)
		}
	}
	base := slices.DeleteFunc(slices.Clone(known), func(s stat) bool { return !selecting(s) })
	byDF := slices.SortedStableFunc(slices.Values(base), func(a, b stat) int { return cmp.Compare(a.df, b.df) })
	if byDF[0].df > budget {
		p.Select, p.SelectAll = p.Head, true
		return p
	}
	sum := 0
	for _, s := range byDF {
		if sum+s.df > budget {
			break
		}
		sum += s.df
		p.Select = append(p.Select, s.term)
	}
	return p
}

// TSQuery renders terms as a tsquery literal joined by op ("|" or "&"): 'a' | 'b'. Empty for no terms.
func TSQuery(terms []string, op string) string {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = Quote(t)
	}
	return strings.Join(quoted, " "+op+" ")
}
