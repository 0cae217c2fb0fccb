package customer

import (
	"strings"
	"time"

	"kefu.dev/pkg/apierr"
)

// nationalIDWeights are the GB 11643-1999 weights for the first 17 digits: 2^(18-i) mod 11 for position i.
var nationalIDWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// nationalIDCheck maps the weighted sum mod 11 to the check character (ISO 7064 MOD 11-2, 10 written as X).
const nationalIDCheck = "10X98765432"

// Birth dates outside this range are typing errors rather than people: the second-generation card was
// issued from 2004 to people born in the 20th century onwards, and the format has room until 2100.
var (
	minBirthDate = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxBirthDate = time.Date(2100, 12, 31, 0, 0, 0, 0, time.UTC)
)

// ValidateNationalID checks a mainland resident identity number (GB 11643-1999, 18 characters) and returns
// it in canonical form: surrounding spaces trimmed and a lower-case check character x upper-cased, so the
// result can be stored, indexed and compared as is. field is the request path the error names. The
// 15-digit first-generation numbers are not accepted: those cards stopped being valid in 2013.
func ValidateNationalID(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", apierr.InvalidField(field, "is required")
	}
	// Counting bytes is enough: any non-ASCII rune makes a valid number impossible, and it is reported as
	// a wrong length or a non-digit, never by slicing through it.
	if len(s) != 18 {
		return "", apierr.InvalidField(field, "must be 18 characters")
	}
	if !allDigits(s[:17]) {
		return "", apierr.InvalidField(field, "the first 17 characters must be digits")
	}
	last := s[17]
	if last == 'x' {
		last = 'X'
		s = s[:17] + "X"
	}
	if !isDigit(last) && last != 'X' {
		return "", apierr.InvalidField(field, "the last character must be a digit or X")
	}
	if !validBirthDate(s[6:14]) {
		return "", apierr.InvalidField(field, "birth date is not a valid date between 1900 and 2100")
	}
	if nationalIDCheckChar(s[:17]) != last {
		return "", apierr.InvalidField(field, "check digit does not match")
	}
	return s, nil
}

// nationalIDCheckChar computes the check character of 17 ASCII digits.
func nationalIDCheckChar(digits string) byte {
	sum := 0
	for i := range 17 {
		sum += int(digits[i]-'0') * nationalIDWeights[i]
	}
	return nationalIDCheck[sum%11]
}

// validBirthDate reports whether yyyymmdd (8 ASCII digits) is a real calendar date in the accepted range.
// time.Date normalizes overflow (Feb 30 → Mar 2), so the round trip rejects impossible days and months.
func validBirthDate(yyyymmdd string) bool {
	y := atoi(yyyymmdd[0:4])
	m := atoi(yyyymmdd[4:6])
	d := atoi(yyyymmdd[6:8])
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return false
	}
	return !t.Before(minBirthDate) && !t.After(maxBirthDate)
}

// atoi parses a short string of ASCII digits already checked by allDigits.
func atoi(s string) int {
	n := 0
	for i := range len(s) {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func allDigits(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
