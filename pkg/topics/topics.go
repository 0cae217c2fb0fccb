// Package topics groups what a customer writes on a ticket (subject and description, Chinese, English or
// both) into complaint topics from a fixed lexicon, so that analytics can report the commonest complaints in
// the customers' own words: 物流延迟, 快递三天了还没到 and "my package hasn't arrived" are all
// delivery_delay. Only topic ids leave the package, never the text, which is what keeps names and phone
// numbers out of events: a topic id from a fixed list cannot carry them.
//
// A Topic has one or more rules; a rule is a list of concepts and a concept a list of alternative terms. A
// rule matches when every one of its concepts has a term somewhere in the text (co-occurrence, not
// adjacency: 快递 … 还没到), and a topic matches when any of its rules does. A rule of one concept is a
// phrase strong enough on its own (发错货).
//
// Matching, in both text and terms:
//   - Full-width ASCII and Chinese punctuation are folded to ASCII (Ｒｅｆｕｎｄ → refund, ’ → '), then case
//     and runs of white space are folded as by keyword.Normalize, then spaces next to Chinese are dropped.
//   - A term with any non-ASCII character (Chinese) matches as a substring, as in keyword.Match.
//   - An ASCII term (English) matches whole words, in a row, after both sides are reduced to light stems
//     (see stem): a final 's and apostrophes go (hasn't → hasnt), then one of -ies/-ied (→ y), -ing, -ed
//     or -s, then a final e, then a doubled final consonant. So "refund" matches "refunded" and "refunds",
//     "arrive" matches "arrived", but "refund" does not match "refundable". Punctuation between words does
//     not stop a multi-word term.
//
// There is no negation or sentiment handling: "hasn't arrived" and "never arrived" are simply terms of
// their own, and a text that praises the service's attitude (服务态度很好) still mentions attitude.
// Traditional Chinese characters are not folded to simplified ones; a lexicon that wants them lists them.
package topics

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"kefu.dev/pkg/keyword"
)

// MaxTopics is the most topic ids Match returns for one text, so that one long ticket listing every
// grievance does not weigh more in the counts than the tickets that each report one.
const MaxTopics = 5

// ErrInvalidLexicon is wrapped by every error New returns.
var ErrInvalidLexicon = errors.New("invalid topic lexicon")

// Rule is a list of concepts, each a list of alternative terms. It matches a text when every concept has at
// least one of its terms in the text.
type Rule [][]string

// Topic is one complaint topic: a stable id for events and reports, labels for display, and the rules that
// recognise it.
type Topic struct {
	ID    string // snake_case, stable: it is what events and reports carry
	Zh    string // Chinese label, such as 物流延迟
	En    string // English label, such as "Delivery delayed"
	Rules []Rule
}

// Lexicon is a validated set of topics with its terms normalized once. It is immutable, so one value can be
// shared by any number of goroutines.
type Lexicon struct {
	topics []Topic          // in lexicon order, deep copies of what New was given
	byID   map[string]int   // id → index in topics
	rules  [][]compiledRule // per topic
	terms  []term           // distinct normalized terms, referred to by index
}

// compiledRule is a Rule with its terms replaced by indexes into Lexicon.terms.
type compiledRule [][]int

type term struct {
	text    string // normalized; for English, stemmed words joined by single spaces
	english bool   // matched as whole words in the English view, else as a substring
	first   uint64 // key of the first rune or word (see textIndex), to skip terms that cannot occur
}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// Default returns the built-in lexicon (see lexicon.go). Each call builds a new value; build it once and keep
// it.
func Default() *Lexicon {
	l, err := New(defaultTopics())
	if err != nil {
		// The built-in table is a constant of the program; a test builds it, so this cannot ship.
		panic(fmt.Sprintf("topics: built-in lexicon: %v", err))
	}
	return l
}

// New validates topics and builds a Lexicon from them. Ids must be snake_case and unique, both labels
// present, every topic must have a rule, every rule a concept, every concept a term, and no term may be
// empty once normalized (an English term must hold at least one word). The lexicon keeps its own copy of
// topics. Errors wrap ErrInvalidLexicon.
func New(topics []Topic) (*Lexicon, error) {
	if len(topics) == 0 {
		return nil, fmt.Errorf("%w: no topics", ErrInvalidLexicon)
	}
	l := &Lexicon{
		topics: make([]Topic, 0, len(topics)),
		byID:   make(map[string]int, len(topics)),
		rules:  make([][]compiledRule, 0, len(topics)),
	}
	termIndex := make(map[term]int)
	for _, t := range topics {
		if !idPattern.MatchString(t.ID) {
			return nil, fmt.Errorf("%w: topic id %q is not snake_case", ErrInvalidLexicon, t.ID)
		}
		if _, dup := l.byID[t.ID]; dup {
			return nil, fmt.Errorf("%w: topic id %q appears twice", ErrInvalidLexicon, t.ID)
		}
		if strings.TrimSpace(t.Zh) == "" || strings.TrimSpace(t.En) == "" {
			return nil, fmt.Errorf("%w: topic %q needs both a Chinese and an English label", ErrInvalidLexicon, t.ID)
		}
		if len(t.Rules) == 0 {
			return nil, fmt.Errorf("%w: topic %q has no rules", ErrInvalidLexicon, t.ID)
		}
		rules := make([]compiledRule, len(t.Rules))
		for ri, r := range t.Rules {
			if len(r) == 0 {
				return nil, fmt.Errorf("%w: topic %q rule %d has no concepts", ErrInvalidLexicon, t.ID, ri)
			}
			rules[ri] = make(compiledRule, len(r))
			for ci, concept := range r {
				if len(concept) == 0 {
					return nil, fmt.Errorf("%w: topic %q rule %d concept %d has no terms", ErrInvalidLexicon, t.ID, ri, ci)
				}
				rules[ri][ci] = make([]int, len(concept))
				for wi, raw := range concept {
					tm, ok := compileTerm(raw)
					if !ok {
						return nil, fmt.Errorf("%w: topic %q rule %d concept %d: term %q is empty once normalized",
							ErrInvalidLexicon, t.ID, ri, ci, raw)
					}
					i, seen := termIndex[tm]
					if !seen {
						i = len(l.terms)
						termIndex[tm] = i
						l.terms = append(l.terms, tm)
					}
					rules[ri][ci][wi] = i
				}
			}
		}
		l.byID[t.ID] = len(l.topics)
		l.topics = append(l.topics, cloneTopic(t))
		l.rules = append(l.rules, rules)
	}
	return l, nil
}

// compileTerm normalizes a term the way Match normalizes text.
func compileTerm(raw string) (term, bool) {
	norm := normalize(raw)
	if isASCII(norm) {
		words := englishView(norm)
		if words == "" {
			return term{}, false
		}
		first, _, _ := strings.Cut(words, " ")
		return term{text: words, english: true, first: wordKey(first)}, true
	}
	r1, size := utf8.DecodeRuneInString(norm)
	r2, _ := utf8.DecodeRuneInString(norm[size:])
	if size == len(norm) {
		r2 = 0
	}
	return term{text: norm, first: runeKey(r1, r2)}, true
}

// Match returns the ids of the topics whose rules match text, sorted and without duplicates. A text
// matching more than MaxTopics topics gets the first MaxTopics in lexicon order (so the order of the
// lexicon is its priority), still returned sorted. It returns nil when nothing matches.
func (l *Lexicon) Match(text string) []string {
	norm := normalize(text)
	if norm == "" {
		return nil
	}
	idx := newTextIndex(norm)
	// Terms recur across topics (没到, refund), so each is looked up at most once per text.
	const (
		unknown = iota
		found
		absent
	)
	state := make([]uint8, len(l.terms))
	has := func(i int) bool {
		if state[i] == unknown {
			state[i] = absent
			if idx.has(l.terms[i]) {
				state[i] = found
			}
		}
		return state[i] == found
	}
	var ids []string
	for ti, rules := range l.rules {
		if slices.ContainsFunc(rules, func(r compiledRule) bool {
			for _, concept := range r {
				if !slices.ContainsFunc(concept, has) {
					return false
				}
			}
			return true
		}) {
			ids = append(ids, l.topics[ti].ID)
			if len(ids) == MaxTopics {
				break
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// Topic returns the topic with the given id, for its labels.
func (l *Lexicon) Topic(id string) (Topic, bool) {
	i, ok := l.byID[id]
	if !ok {
		return Topic{}, false
	}
	return cloneTopic(l.topics[i]), true
}

// Topics returns every topic in lexicon order. The result is a copy the caller may change.
func (l *Lexicon) Topics() []Topic {
	out := make([]Topic, len(l.topics))
	for i, t := range l.topics {
		out[i] = cloneTopic(t)
	}
	return out
}

// cloneTopic copies t down to its terms, so that neither the caller's table nor a caller of Topics can
// change a Lexicon after New.
func cloneTopic(t Topic) Topic {
	rules := make([]Rule, len(t.Rules))
	for i, r := range t.Rules {
		rules[i] = make(Rule, len(r))
		for j, concept := range r {
			rules[i][j] = slices.Clone(concept)
		}
	}
	t.Rules = rules
	return t
}

// textIndex holds one text, normalized, in both views, with the keys of every rune pair and every English
// word in it. A term whose first key is absent cannot occur, and most terms of a lexicon are absent from any
// one ticket, so Match scans the text for few of them: its cost grows with the text and the lexicon, not
// their product.
type textIndex struct {
	norm  string // Chinese view
	words string // English view
	keys  map[uint64]struct{}
}

func newTextIndex(norm string) textIndex {
	idx := textIndex{norm: norm, words: englishView(norm), keys: make(map[uint64]struct{}, 2*len(norm)/3)}
	prev := rune(-1)
	for _, r := range norm {
		idx.keys[runeKey(r, 0)] = struct{}{}
		if prev >= 0 {
			idx.keys[runeKey(prev, r)] = struct{}{}
		}
		prev = r
	}
	for w := range strings.SplitSeq(idx.words, " ") {
		idx.keys[wordKey(w)] = struct{}{}
	}
	return idx
}

func (idx textIndex) has(t term) bool {
	if _, ok := idx.keys[t.first]; !ok {
		return false
	}
	if t.english {
		return keyword.Match(idx.words, t.text)
	}
	return keyword.Match(idx.norm, t.text)
}

// runeKey packs a rune pair (b = 0 for a lone rune) into a key; the top bit is clear, unlike wordKey's.
func runeKey(a, b rune) uint64 {
	return uint64(a)<<32 | uint64(b)
}

// wordKey hashes a word (FNV-1a) into a key with the top bit set, so it never equals a runeKey. A collision
// only costs a needless scan.
func wordKey(w string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(w); i++ {
		h ^= uint64(w[i])
		h *= 1099511628211
	}
	return h | 1<<63
}
