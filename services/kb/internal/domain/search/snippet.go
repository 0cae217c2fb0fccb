package search

import (
	"html"
	"math/bits"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Highlight marks: snippets are HTML, escaped everywhere but these tags.
const (
	MarkOpen  = "<mark>"
	MarkClose = "</mark>"
	ellipsis  = "…"
)

// maxSpans bounds the matches a snippet looks at: enough to find the best window of any real article.
const maxSpans = 512

// span is a run of text matched by one or more query terms.
type span struct {
	start, end int // bytes
	// terms has bit i set for the i-th query term matched here (terms past the 63rd share bit 63).
	terms uint64
}

// Snippet returns the part of text (plain text, see PlainText) of about width characters that holds the
// most distinct query terms (then the most matches, then the earliest), HTML-escaped, with each match
// wrapped in <mark>…</mark> and "…" where text was cut. Adjacent matches share one mark (退款 and 到账 in
// "退款到账" mark the four characters once). width <= 0 keeps the whole text. With no match it is the
// text's start.
func Snippet(text string, q Query, width int) string {
	spans := matchSpans(text, q)
	if width <= 0 || len(text) <= width {
		return render(text, 0, len(text), spans)
	}
	runes := runeStarts(text)
	if len(runes) <= width {
		return render(text, 0, len(text), spans)
	}
	from, to := window(text, runes, spans, width)
	out := render(text, from, to, spans)
	if from > 0 {
		out = ellipsis + out
	}
	if to < len(text) {
		out += ellipsis
	}
	return out
}

// cjkKey packs one or two CJK characters into a map key (no string per bigram: this runs for every
// character of every hit's body).
func cjkKey(a, b rune) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

const noRune = -1

// matchSpans finds the query's terms in text and merges overlapping and adjacent matches.
func matchSpans(text string, q Query) []span {
	all := q.All()
	if len(all) == 0 {
		return nil
	}
	words := map[string]uint64{}
	cjk := map[uint64]uint64{}
	for i, t := range all {
		bit := uint64(1) << min(i, 63)
		switch rs := []rune(t); {
		case len(rs) == 1 && isCJK(rs[0]):
			cjk[cjkKey(rs[0], noRune)] = bit
		case len(rs) == 2 && isCJK(rs[0]) && isCJK(rs[1]):
			cjk[cjkKey(rs[0], rs[1])] = bit
		default:
			words[t] = bit
		}
	}
	chars := len(q.Chars) > 0
	var out []span
	add := func(bit uint64, start, end int) {
		if n := len(out); n > 0 && start <= out[n-1].end {
			last := &out[n-1]
			last.end = max(last.end, end)
			last.terms |= bit
			return
		}
		if len(out) < maxSpans {
			out = append(out, span{start: start, end: end, terms: bit})
		}
	}
	scan(text, func(class runClass, run []folded) {
		switch class {
		case latinRun:
			if len(words) == 0 {
				return
			}
			if t, ok := word(run); ok {
				if bit, ok := words[t.Term]; ok {
					add(bit, t.Start, t.End)
				}
			}
		case cjkRun:
			for i := range run {
				// A character starts here: it, or the bigram it starts, may match (both in text order).
				if chars || len(run) == 1 {
					if bit, ok := cjk[cjkKey(run[i].r, noRune)]; ok {
						add(bit, run[i].start, run[i].end)
					}
				}
				if i+1 < len(run) {
					if bit, ok := cjk[cjkKey(run[i].r, run[i+1].r)]; ok {
						add(bit, run[i].start, run[i+1].end)
					}
				}
			}
		}
	})
	return out
}

// runeStarts returns the byte offset of each character of text.
func runeStarts(text string) []int {
	out := make([]int, 0, len(text))
	for i := range text {
		out = append(out, i)
	}
	return out
}

// window chooses the byte range of about width characters to show: each match in turn opens a window
// (with a fifth of it as context before the match), scored by distinct terms, then matches inside.
func window(text string, runes []int, spans []span, width int) (int, int) {
	runeAt := func(b int) int { return sort.SearchInts(runes, b) }
	byteAt := func(r int) int {
		if r >= len(runes) {
			return len(text)
		}
		return runes[max(r, 0)]
	}
	if len(spans) == 0 {
		return 0, trimEnd(text, byteAt(width))
	}
	bestFrom, bestScore := 0, -1
	lead := width / 5
	for i, s := range spans {
		from := max(runeAt(s.start)-lead, 0)
		if from+width > len(runes) {
			from = max(len(runes)-width, 0)
		}
		to := byteAt(from + width)
		var seen uint64
		n := 0
		for _, o := range spans[i:] {
			if o.end > to {
				break
			}
			n++
			seen |= o.terms
		}
		if score := bits.OnesCount64(seen)*1000 + n; score > bestScore {
			bestFrom, bestScore = from, score
		}
	}
	from, to := byteAt(bestFrom), byteAt(bestFrom+width)
	return trimStart(text, from, spans), trimEnd(text, to)
}

// trimStart moves a cut that falls inside a word forward to the word's end (at most 20 bytes), unless that
// would skip a match.
func trimStart(text string, from int, spans []span) int {
	if from == 0 || !inWord(text, from) {
		return from
	}
	for i := from; i < len(text) && i < from+20; i++ {
		if text[i] == ' ' {
			for _, s := range spans {
				if s.start >= from && s.start <= i {
					return from
				}
			}
			return i + 1
		}
	}
	return from
}

// trimEnd moves a cut that falls inside a word back to the word's start (at most 20 bytes).
func trimEnd(text string, to int) int {
	if to >= len(text) || !inWord(text, to) {
		return to
	}
	for i := to - 1; i > 0 && i > to-20; i-- {
		if text[i] == ' ' {
			return i
		}
	}
	return to
}

// inWord reports whether the bytes around offset i are both Latin letters or digits (a cut there splits
// a word; between CJK characters it does not).
func inWord(text string, i int) bool {
	before, _ := utf8.DecodeLastRuneInString(text[:i])
	after, _ := utf8.DecodeRuneInString(text[i:])
	latin := func(r rune) bool { return (unicode.IsLetter(r) || unicode.IsDigit(r)) && !isCJK(r) }
	return latin(before) && latin(after)
}

// render escapes text[from:to] and marks the spans inside it.
func render(text string, from, to int, spans []span) string {
	var b strings.Builder
	at := from
	for _, s := range spans {
		start, end := max(s.start, from), min(s.end, to)
		if start >= end {
			continue
		}
		b.WriteString(html.EscapeString(text[at:start]))
		b.WriteString(MarkOpen)
		b.WriteString(html.EscapeString(text[start:end]))
		b.WriteString(MarkClose)
		at = end
	}
	b.WriteString(html.EscapeString(text[at:to]))
	return b.String()
}
