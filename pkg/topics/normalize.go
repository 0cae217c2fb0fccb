package topics

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"kefu.dev/pkg/keyword"
)

// normalize gives the form Chinese terms are matched in: widths and punctuation folded (see fold), then
// keyword.Normalize (lower case, one space for any run of white space), then the spaces next to Han or kana
// dropped. Customers put stray spaces into Chinese ("快递 没到"), and as Chinese has no spaces between words,
// such a space never separates anything a term could mean.
func normalize(s string) string {
	s = keyword.Normalize(strings.Map(fold, s))
	if !strings.Contains(s, " ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	prev := rune(-1)
	for i, r := range s {
		if r == ' ' {
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			if noSpaceScript(prev) || noSpaceScript(next) {
				continue
			}
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

// fold maps a rune to the form matching uses. Chinese input methods type full-width ASCII (U+FF01–U+FF5E)
// in full-width mode, so "Ｒｅｆｕｎｄ" must read as "refund"; Chinese punctuation becomes its ASCII
// counterpart so that neither the width nor the style of punctuation matters, and in particular the
// typographic apostrophe of "hasn’t" is the same as "hasn't".
func fold(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFEE0
	case r == 0x3000: // ideographic space
		return ' '
	}
	switch r {
	case '‘', '’', '‛', '′', '＇':
		return '\''
	case '“', '”', '„', '「', '」', '『', '』', '〝', '〞':
		return '"'
	case '。', '｡', '…':
		return '.'
	case '、', '､':
		return ','
	case '【', '〔', '〖', '〘':
		return '['
	case '】', '〕', '〗', '〙':
		return ']'
	case '《', '〈':
		return '<'
	case '》', '〉':
		return '>'
	case '—', '–', '―', '‐', '‑':
		return '-'
	case '·', '・', '•':
		return ' '
	}
	return r
}

// englishView turns normalized text into the form English terms are matched in: its words (runs of letters,
// digits and apostrophes, see wordRune), each stemmed, joined by single spaces. Everything else, Chinese
// included, only separates words, so a multi-word term matches the same words in a row even across
// punctuation.
func englishView(norm string) string {
	var b strings.Builder
	b.Grow(len(norm))
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		if w := stem(norm[start:end]); w != "" {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(w)
		}
		start = -1
	}
	for i, r := range norm {
		if wordRune(r) || r == '\'' {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
	}
	flush(len(norm))
	return b.String()
}

// stem reduces an English word to the stem both terms and text are matched by, so that a term matches the
// simple inflections of its words. The rules are few on purpose, so that anyone can predict a match:
//
//  1. A final "'s" is dropped, then every apostrophe: "package's" → "package", "hasn't" → "hasnt".
//  2. At most one suffix is removed, and only if at least three letters remain: "-ies"/"-ied" become "-y"
//     (replies, replied → reply), else "-ing", else "-ed", else "-s" (but not after s, u or i, so that
//     "miss", "status" and "this" keep theirs).
//  3. A final "e" is dropped (arrive, arrives, arrived, arriving → arriv).
//  4. A final doubled consonant is halved (shipped → shipp → ship, bill → bil).
//
// Steps 3 and 4 apply whatever step 2 did, which is what makes a word and its inflections agree. The
// result need not be an English word, and irregular forms (paid, broke, got) are not related to their base:
// the lexicon lists them. A word with a non-ASCII letter is only stripped of apostrophes.
func stem(w string) string {
	w = strings.TrimSuffix(w, "'s")
	w = strings.ReplaceAll(w, "'", "")
	if !isASCII(w) {
		return w
	}
	const minStem = 3
	switch n := len(w); {
	case n > minStem+1 && (strings.HasSuffix(w, "ies") || strings.HasSuffix(w, "ied")):
		w = w[:n-3] + "y"
	case n-3 >= minStem && strings.HasSuffix(w, "ing"):
		w = w[:n-3]
	case n-2 >= minStem && strings.HasSuffix(w, "ed"):
		w = w[:n-2]
	case n-1 >= minStem && w[n-1] == 's' && !strings.ContainsRune("siu", rune(w[n-2])):
		w = w[:n-1]
	}
	if n := len(w); n-1 >= minStem && w[n-1] == 'e' {
		w = w[:n-1]
	}
	if n := len(w); n-1 >= minStem && w[n-1] == w[n-2] && consonant(w[n-1]) {
		w = w[:n-1]
	}
	return w
}

func consonant(c byte) bool {
	return c >= 'a' && c <= 'z' && !strings.ContainsRune("aeiou", rune(c))
}

// wordRune reports whether r continues a word. It agrees with package keyword: letters and digits, except
// the scripts written without spaces, so "我要refund" holds the word "refund".
func wordRune(r rune) bool {
	return !noSpaceScript(r) && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

// noSpaceScript reports whether r belongs to a script written without spaces between words.
func noSpaceScript(r rune) bool {
	return r >= 0 && unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
