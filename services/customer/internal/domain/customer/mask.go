package customer

import (
	"strings"
	"unicode"
)

// The maskers below turn a stored value into what an agent without the "reveal" permission sees. They work
// on runes (never bytes), so a Chinese or emoji value is never cut in half and invalid UTF-8 comes out as
// U+FFFD rather than as a stray byte; they never panic. An empty (or all-space) value masks to "", so an
// absent field still reads as absent; anything else masks to at least one "*". Contact values (phones,
// e-mail, WeChat ids) are masked by kefu.dev/pkg/mask under the same rules (ContactKind.Mask), because other
// services show contacts too and must mask them alike.

// MaskNationalID keeps the region code (first 6) and the last 4 of an 18-character resident ID:
// "110105199001011234" → "110105********1234", hiding the birth date. Any other length keeps only the last 4
// when longer than 8 runes, else masks everything.
func MaskNationalID(s string) string {
	r := []rune(strings.TrimSpace(s))
	n := len(r)
	switch {
	case n == 0:
		return ""
	case n == 18:
		return string(r[:6]) + stars(8) + string(r[14:])
	case n > 8:
		return stars(n-4) + string(r[n-4:])
	default:
		return stars(n)
	}
}

// MaskCreditCode keeps the first 2 (registration authority and kind, which say what sort of entity it is)
// and the last 4 runes: "91110000600037341L" → "91************341L". Values of 8 runes or fewer, which would
// show most of themselves that way, are masked entirely.
func MaskCreditCode(s string) string {
	r := []rune(strings.TrimSpace(s))
	n := len(r)
	switch {
	case n == 0:
		return ""
	case n > 8:
		return string(r[:2]) + stars(n-6) + string(r[n-4:])
	default:
		return stars(n)
	}
}

// MaskName keeps what an agent needs to address the customer politely. A name containing Chinese
// characters keeps its first rune (usually the surname) and masks the rest: "张三" → "张*",
// "欧阳娜娜" → "欧***". Other names keep the first letter of each word: "John Smith" → "J*** S****". A single
// rune, or a one-rune word, masks to "*", since keeping it would show it all.
func MaskName(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0 {
		return maskWord([]rune(strings.Join(strings.Fields(s), "")))
	}
	words := strings.Fields(s)
	for i, w := range words {
		words[i] = maskWord([]rune(w))
	}
	return strings.Join(words, " ")
}

// maskWord keeps the first rune and stars the rest, or stars a single rune.
func maskWord(r []rune) string {
	if len(r) <= 1 {
		return stars(len(r))
	}
	return string(r[0]) + stars(len(r)-1)
}

// MaskText masks free-form sensitive text such as an address: the first 3 runes (for an address, the
// province or city) and then "***"; 3 runes or fewer mask to "***".
func MaskText(s string) string {
	r := []rune(strings.TrimSpace(s))
	n := len(r)
	switch {
	case n == 0:
		return ""
	case n <= 3:
		return "***"
	default:
		return string(r[:3]) + "***"
	}
}

func stars(n int) string { return strings.Repeat("*", max(n, 0)) }
