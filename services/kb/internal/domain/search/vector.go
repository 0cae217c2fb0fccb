package search

import (
	"slices"
	"strconv"
	"strings"
)

// Weight is a Postgres tsvector weight label. ts_rank_cd weighs A (title) over B (tags) over C (body) over
// D (title characters).
type Weight byte

// Weights by field.
const (
	WeightTitle     Weight = 'A'
	WeightTags      Weight = 'B'
	WeightBody      Weight = 'C'
	WeightTitleChar Weight = 'D'
)

// Postgres limits: a position is at most 16383 (larger ones would be clamped there) and a lexeme keeps
// at most 256 positions. Fewer are kept here: ranking saturates long before, and small vectors rank fast.
const (
	maxPosition      = 16383
	maxLexemePos     = 16
	fieldGapPosition = 8 // between fields, so a cover never spans a title and a body
)

type pos struct {
	at int
	w  Weight
}

// Vector collects an article's terms with positions and weights and renders them as a tsvector literal.
// The zero value is empty and ready.
type Vector struct {
	entries map[string][]pos
	next    int
}

// Add appends tokens as the next field with weight w.
func (v *Vector) Add(tokens []Token, w Weight) {
	if v.entries == nil {
		v.entries = map[string][]pos{}
	}
	if v.next > 0 {
		v.next += fieldGapPosition
	}
	for _, t := range tokens {
		v.next++
		ps := v.entries[t.Term]
		if len(ps) >= maxLexemePos {
			continue
		}
		v.entries[t.Term] = append(ps, pos{at: min(v.next, maxPosition), w: w})
	}
}

// AddChars adds CJK characters with weight w at the positions of the field added last, without moving
// on: they rank a title's single characters and need no positions of their own.
func (v *Vector) AddChars(tokens []Token, w Weight) {
	if v.entries == nil {
		v.entries = map[string][]pos{}
	}
	for _, t := range tokens {
		if ps := v.entries[t.Term]; len(ps) == 0 {
			v.entries[t.Term] = []pos{{at: 1, w: w}}
		}
	}
}

// Len is the number of distinct terms.
func (v *Vector) Len() int { return len(v.entries) }

// Terms returns the distinct terms, sorted.
func (v *Vector) Terms() []string {
	out := make([]string, 0, len(v.entries))
	for t := range v.entries {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// String renders the tsvector literal: 'term':1A,5C 'other':3B. Postgres sorts and merges it again; the
// order here only makes the output stable.
func (v *Vector) String() string {
	var b strings.Builder
	for i, t := range v.Terms() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(Quote(t))
		for j, p := range v.entries[t] {
			if j == 0 {
				b.WriteByte(':')
			} else {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(p.at))
			b.WriteByte(byte(p.w))
		}
	}
	return b.String()
}

// Quote renders a term as a tsvector or tsquery lexeme: in single quotes, quotes and backslashes doubled.
// Terms from Tokens hold only letters and digits; quoting keeps any other text a plain lexeme, never syntax.
func Quote(term string) string {
	if !strings.ContainsAny(term, `'\`) {
		return "'" + term + "'"
	}
	return "'" + strings.NewReplacer(`'`, `''`, `\`, `\\`).Replace(term) + "'"
}

// Document returns an article's vector: its title's terms (A) and characters (D), its tags (B) and its
// body's plain text (C).
func Document(title string, tags []string, body string) *Vector {
	v := &Vector{}
	v.Add(Tokens(title), WeightTitle)
	v.AddChars(Chars(title), WeightTitleChar)
	v.Add(Tokens(strings.Join(tags, " ")), WeightTags)
	v.Add(Tokens(PlainText(body)), WeightBody)
	return v
}

// Head returns the vector of an article's title (A, characters D) and tags (B): small enough to stay in
// the row, so candidates are ranked by it without reading the body's vector.
func Head(title string, tags []string) *Vector {
	v := &Vector{}
	v.Add(Tokens(title), WeightTitle)
	v.AddChars(Chars(title), WeightTitleChar)
	v.Add(Tokens(strings.Join(tags, " ")), WeightTags)
	return v
}
