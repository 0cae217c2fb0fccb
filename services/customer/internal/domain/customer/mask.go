package customer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The maskers below turn a stored value into what an agent without the "reveal" permission sees. They work
// on runes (never bytes), so a Chinese or emoji value is never cut in half and invalid UTF-8 comes out as
// U+FFFD rather than as a stray byte; they never panic. An empty (or all-space) value masks to "", so an
// absent field still reads as absent; anything else masks to at least one "*".

// MaskPhone keeps the first 3 and last 4 digits of the national number and replaces each digit between
// with "*": "13812345678" → "138****5678". A country code written as "+cc" followed by a separator (or
// "+86" directly followed by a mainland mobile) is kept and the national part is written without
// separators: "+86 138 1234 5678" → "+86 138****5678". Numbers of 7 or fewer digits keep only the last 2,
// since 3+4 would show all of them.
func MaskPhone(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	prefix := ""
	national := s
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		prefix = "+"
		if cc, nat, ok := splitCountryCode(rest); ok {
			prefix = "+" + cc + " "
			national = nat
		} else {
			national = rest
		}
	}
	d := digitsOf(national)
	n := len(d)
	switch {
	case n == 0:
		return "***"
	case n > 7:
		return prefix + d[:3] + stars(n-7) + d[n-4:]
	case n > 2:
		return prefix + stars(n-2) + d[n-2:]
	default:
		return prefix + stars(n)
	}
}

// splitCountryCode separates "cc<sep>national" (after the "+"). Without a separator the length of the
// country code is unknowable short of a full numbering-plan table, so only China's is recognized there.
func splitCountryCode(s string) (cc, national string, ok bool) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	if i < len(s) && i >= 1 && i <= 3 {
		return s[:i], s[i:], true
	}
	if i == len(s) && i == 13 && strings.HasPrefix(s, "861") {
		return "86", s[2:], true
	}
	return "", "", false
}

// MaskEmail keeps the first rune of the local part and the whole domain, which support needs to tell a
// company mailbox from a webmail one: "zhang@example.com" → "z***@example.com". The "***" has a fixed
// width so the local part's length is not revealed. A value without "@" masks to "***".
func MaskEmail(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	// The last "@" separates the domain: a quoted local part may itself contain "@".
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return "***"
	}
	first := ""
	if i > 0 {
		r, _ := utf8.DecodeRuneInString(s[:i])
		first = string(r)
	}
	return first + "***@" + strings.ToValidUTF8(s[i+1:], string(utf8.RuneError))
}

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

// MaskWeChat keeps the first 2 and last 2 runes of a WeChat id longer than 6 runes ("wxid_abc123" →
// "wx***23"), else only the first ("zhang" → "z***"). The "***" has a fixed width so the length is hidden.
func MaskWeChat(s string) string {
	r := []rune(strings.TrimSpace(s))
	n := len(r)
	switch {
	case n == 0:
		return ""
	case n > 6:
		return string(r[:2]) + "***" + string(r[n-2:])
	default:
		return string(r[0]) + "***"
	}
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

// digitsOf returns the ASCII digits of s in order, with full-width digits (as typed by Chinese input
// methods) converted to ASCII; everything else is dropped.
func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		if d, ok := asciiDigit(r); ok {
			b.WriteByte(d)
		}
	}
	return b.String()
}

// asciiDigit maps '0'–'9' and full-width '０'–'９' to an ASCII digit.
func asciiDigit(r rune) (byte, bool) {
	switch {
	case r >= '0' && r <= '9':
		return byte(r), true
	case r >= '０' && r <= '９':
		return byte(r-'０') + '0', true
	}
	return 0, false
}

func stars(n int) string { return strings.Repeat("*", max(n, 0)) }
