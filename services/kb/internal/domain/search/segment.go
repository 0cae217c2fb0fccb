package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Kind is what a token is made of.
type Kind uint8

// Kinds of token.
const (
	// Word is a run of letters and digits outside the CJK scripts, folded and stemmed ("refunds" → refund).
	Word Kind = iota + 1
	// Bigram is two adjacent CJK characters.
	Bigram
	// Char is one CJK character: a run of one, or any character when Chars is asked.
	Char
)

// MaxTermBytes bounds a term. Longer letter runs (hashes, run-together URLs) are not worth indexing.
const MaxTermBytes = 64

// Token is one term and where it stands in the text it came from.
type Token struct {
	Term string
	Kind Kind
	// Start and End are the byte offsets of the characters it came from in the original text (before
	// folding), so a snippet can mark them.
	Start, End int
}

// folded is one character after folding, with the span of the original character it came from (one
// original character may fold to several: "①" → "1", "㍿" → "株式会社").
type folded struct {
	r          rune
	start, end int
}

// Tokens returns the index terms of text in order: words and CJK bigrams (a lone CJK character as a Char).
// Stop words and stop bigrams are left out.
func Tokens(text string) []Token {
	var out []Token
	scan(text, func(class runClass, run []folded) {
		switch class {
		case latinRun:
			if t, ok := word(run); ok {
				out = append(out, t)
			}
		case cjkRun:
			if len(run) == 1 {
				if t := string(run[0].r); !stopChars[t] {
					out = append(out, Token{Term: t, Kind: Char, Start: run[0].start, End: run[0].end})
				}
				return
			}
			for i := 0; i+1 < len(run); i++ {
				t := string([]rune{run[i].r, run[i+1].r})
				if stopBigrams[t] {
					continue
				}
				out = append(out, Token{Term: t, Kind: Bigram, Start: run[i].start, End: run[i+1].end})
			}
		}
	})
	return out
}

// Chars returns every CJK character of text as a Char token, stop characters left out.
func Chars(text string) []Token {
	var out []Token
	scan(text, func(class runClass, run []folded) {
		if class != cjkRun {
			return
		}
		for _, f := range run {
			if t := string(f.r); !stopChars[t] {
				out = append(out, Token{Term: t, Kind: Char, Start: f.start, End: f.end})
			}
		}
	})
	return out
}

// Terms returns the distinct terms of tokens in first-seen order.
func Terms(tokens []Token) []string {
	seen := make(map[string]bool, len(tokens))
	var out []string
	for _, t := range tokens {
		if !seen[t.Term] {
			seen[t.Term] = true
			out = append(out, t.Term)
		}
	}
	return out
}

type runClass uint8

const (
	latinRun runClass = iota + 1
	cjkRun
)

// scan folds text character by character and calls emit with each maximal run of one class. The run's
// slice is reused: emit must copy what it keeps.
func scan(text string, emit func(runClass, []folded)) {
	var run []folded
	var class runClass
	flush := func() {
		if len(run) > 0 {
			emit(class, run)
		}
		run, class = run[:0], 0
	}
	var scratch []rune
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		start, end := i, i+size
		i = end
		// An apostrophe between two letters joins them (don't → dont, customer’s → customers).
		if (r == '\'' || r == '’') && class == latinRun && i < len(text) {
			if next, _ := utf8.DecodeRuneInString(text[i:]); isLatin(foldRune(next, scratch[:0])) {
				continue
			}
		}
		scratch = foldRune(r, scratch[:0])
		for _, f := range scratch {
			c := classOf(f)
			if c == 0 {
				flush()
				continue
			}
			if c != class {
				flush()
				class = c
			}
			run = append(run, folded{r: f, start: start, end: end})
		}
	}
	flush()
}

// foldRune appends r after NFKC and lower-casing to out. ASCII, punctuation and spaces (full-width ones
// fold to ASCII punctuation: separators either way) and characters NFKC leaves alone (most Han) take the
// fast path, without allocating.
func foldRune(r rune, out []rune) []rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(out, r)
	}
	if isCommonHan(r) {
		return append(out, r)
	}
	if unicode.IsPunct(r) || unicode.IsSpace(r) {
		return append(out, ' ')
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	if norm.NFKC.Properties(buf[:n]).Decomposition() == nil {
		return append(out, unicode.ToLower(r))
	}
	return append(out, []rune(strings.ToLower(norm.NFKC.String(string(r))))...)
}

func classOf(r rune) runClass {
	switch {
	case r < utf8.RuneSelf:
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || 'A' <= r && r <= 'Z' {
			return latinRun
		}
		return 0
	case isCommonHan(r), isCJK(r):
		return cjkRun
	case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
		return latinRun
	}
	return 0
}

func isLatin(rs []rune) bool { return len(rs) > 0 && classOf(rs[0]) == latinRun }

// isCommonHan reports the CJK Unified Ideographs and their extension A, which hold nearly every
// character of Chinese text and fold to themselves: the fast path of folding and classing.
func isCommonHan(r rune) bool { return 0x4E00 <= r && r <= 0x9FFF || 0x3400 <= r && r <= 0x4DBF }

// isCJK reports the scripts written without spaces, which are indexed as bigrams (with the iteration
// mark 々 and the prolonged sound mark ー, which belong to no script but are part of words).
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		r == '々' || r == 'ー'
}

// word turns a letter-and-digit run into a Word token; false for a stop word, a single letter or a run
// too long to be a word.
func word(run []folded) (Token, bool) {
	rs := make([]rune, len(run))
	for i, f := range run {
		rs[i] = f.r
	}
	w := string(rs)
	if len(w) > MaxTermBytes || stopWords[w] || (len(rs) == 1 && !unicode.IsDigit(rs[0])) {
		return Token{}, false
	}
	return Token{Term: stem(w), Kind: Word, Start: run[0].start, End: run[len(run)-1].end}, true
}

// stem removes English plural endings (an S-stemmer with Porter's "sses"): refunds → refund, replies →
// reply, addresses → address, boxes → box, changes → change; status, process and analysis stay. Verb
// endings (-ed, -ing) are left alone: stripping them without a dictionary breaks more words than it joins.
func stem(w string) string {
	if len(w) <= 3 || !isASCIILetters(w) {
		return w
	}
	switch {
	case strings.HasSuffix(w, "sses"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "ies") && len(w) > 4 && !strings.HasSuffix(w, "eies") && !strings.HasSuffix(w, "aies"):
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "xes") || strings.HasSuffix(w, "ches") || strings.HasSuffix(w, "shes") || strings.HasSuffix(w, "zzes"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "ss") || strings.HasSuffix(w, "us") || strings.HasSuffix(w, "is"):
		return w
	case strings.HasSuffix(w, "s"):
		return w[:len(w)-1]
	}
	return w
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}
