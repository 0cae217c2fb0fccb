// Package mask hides most of a contact value (phone number, e-mail address, WeChat id) while keeping
// enough for a person to recognise it, for APIs and screens that show contacts to people without the right
// to see them in full. The functions work on runes (never bytes), so a Chinese or emoji value is never cut
// in half and invalid UTF-8 comes out as U+FFFD rather than as a stray byte; they never panic. An empty
// (or all-space) value masks to "", so an absent field still reads as absent; anything else masks to at
// least one "*".
//
// The package is plain Go with no generated protos, so a service's domain code can use it.
package mask

import (
	"strings"
	"unicode/utf8"
)

// Phone keeps the first 3 and last 4 digits of the national number and replaces each digit between with
// "*": "13812345678" → "138****5678". A country code written as "+cc" followed by a separator (or "+86"
// directly followed by a mainland mobile) is kept and the national part is written without separators:
// "+86 138 1234 5678" → "+86 138****5678". Numbers of 7 or fewer digits keep only the last 2, since 3+4
// would show all of them.
func Phone(s string) string {
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
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
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

// Email keeps the first rune of the local part and the whole domain, which support needs to tell a company
// mailbox from a webmail one: "zhang@example.com" → "z***@example.com". The "***" has a fixed width so the
// local part's length is not revealed. A value without "@" masks to "***".
func Email(s string) string {
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

// WeChat keeps the first 2 and last 2 runes of a WeChat id longer than 6 runes ("wxid_abc123" →
// "wx***23"), else only the first ("zhang" → "z***"). The "***" has a fixed width so the length is hidden.
func WeChat(s string) string {
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

// digitsOf returns the ASCII digits of s in order, with full-width digits (as typed by Chinese input
// methods) converted to ASCII; everything else is dropped.
func digitsOf(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteByte(byte(r-'０') + '0')
		}
	}
	return b.String()
}

func stars(n int) string { return strings.Repeat("*", max(n, 0)) }
