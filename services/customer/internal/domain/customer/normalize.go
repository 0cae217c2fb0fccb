package customer

import "strings"

// The normalizers below produce the one spelling of a value that exact-match lookups and blind indexes use:
// the same value typed two ways must normalize equal, or a customer would not be found by what they said.
// Each returns ok=false when nothing is left, so callers never store or look up an empty key.

// NormalizePhone reduces a phone number to digits. A mainland mobile (11 digits starting with 1) loses its
// country prefix however it was written, so "138 1234-5678", "+86 13812345678", "86 13812345678" and
// "008613812345678" all become "13812345678". Any other number written internationally ("+" or the "00"
// international prefix) keeps its country code behind a "+": "+1 415 555 0100" → "+14155550100", so it
// cannot collide with a domestic number made of the same digits. Domestic numbers (landlines with their
// trunk 0) stay as their digits: "010-1234 5678" → "01012345678". Full-width digits count as digits.
func NormalizePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	international := strings.HasPrefix(s, "+") || strings.HasPrefix(s, "＋")
	d := digitsOf(s)
	if !international {
		if rest, ok := strings.CutPrefix(d, "00"); ok {
			international, d = true, rest
		}
	}
	if rest, ok := strings.CutPrefix(d, "86"); ok && isMainlandMobile(rest) {
		return rest, true
	}
	if d == "" {
		return "", false
	}
	if international {
		return "+" + d, true
	}
	return d, true
}

// isMainlandMobile reports whether d (ASCII digits) has the shape of a mainland mobile number.
func isMainlandMobile(d string) bool { return len(d) == 11 && d[0] == '1' }

// NormalizeEmail trims and lower-cases an e-mail address. The local part is case-sensitive in theory (RFC
// 5321) but no mainstream provider treats it so, and customers do not type it consistently.
func NormalizeEmail(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	return s, s != ""
}

// NormalizeWeChat trims a WeChat id but keeps its case: WeChat ids are case-sensitive, so folding would
// merge two different people.
func NormalizeWeChat(s string) (string, bool) {
	s = strings.TrimSpace(s)
	return s, s != ""
}

// NormalizeKey trims and upper-cases an order or membership number, which customers read off receipts and
// type in either case.
func NormalizeKey(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, s != ""
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
