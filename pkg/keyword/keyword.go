// Package keyword matches admin-written keywords against ticket text, the same way wherever kefu does it
// (intake's classification rules, routing's rule conditions): case- and spacing-insensitive, Chinese (any
// non-ASCII keyword) as a substring, ASCII keywords as whole words.
package keyword

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Normalize lower-cases s and collapses every run of white space into one space, so keywords match whatever
// the case and spacing ("Not  Working" matches "not working"). Both the text and the keywords given to Match
// must be normalized.
func Normalize(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// Match reports whether keyword occurs in text, both already normalized (see Normalize). A keyword containing
// any non-ASCII character matches as a substring: Chinese is written without spaces, so there are no words to
// respect. An ASCII keyword must match whole words ("refund" does not match "refunded"), see wordRune. An
// empty keyword matches nothing.
func Match(text, keyword string) bool {
	if keyword == "" {
		return false
	}
	if !isASCII(keyword) {
		return strings.Contains(text, keyword)
	}
	first, _ := utf8.DecodeRuneInString(keyword)
	last, _ := utf8.DecodeLastRuneInString(keyword)
	for from := 0; from <= len(text)-len(keyword); {
		i := strings.Index(text[from:], keyword)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(keyword)
		before, _ := utf8.DecodeLastRuneInString(text[:start])
		after, _ := utf8.DecodeRuneInString(text[end:])
		// A boundary is needed only where the keyword itself starts or ends with a word character, as with
		// \b in regular expressions ("c++" may be followed by a letter).
		okBefore := start == 0 || !wordRune(first) || !wordRune(before)
		okAfter := end == len(text) || !wordRune(last) || !wordRune(after)
		if okBefore && okAfter {
			return true
		}
		_, size := utf8.DecodeRuneInString(text[start:])
		from = start + size
	}
	return false
}

// Matcher holds a set of keywords normalized once, for callers that match one set against many texts (a
// loaded rule table).
type Matcher struct {
	keywords []string // normalized
}

// NewMatcher normalizes keywords into a Matcher.
func NewMatcher(keywords ...string) Matcher {
	m := Matcher{keywords: make([]string, len(keywords))}
	for i, k := range keywords {
		m.keywords[i] = Normalize(k)
	}
	return m
}

// Match reports whether any of m's keywords occurs in normalizedText (see Normalize). A Matcher without
// keywords matches nothing.
func (m Matcher) Match(normalizedText string) bool {
	for _, k := range m.keywords {
		if Match(normalizedText, k) {
			return true
		}
	}
	return false
}

// wordRune reports whether r continues a word for whole-word matching: letters and digits do, except the
// scripts written without spaces (Han, Hiragana, Katakana), so "我要refund" still matches "refund" while
// "refunded" and "café" do not match "refund" and "caf".
func wordRune(r rune) bool {
	if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) {
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
