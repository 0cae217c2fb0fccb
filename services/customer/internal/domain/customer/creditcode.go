package customer

import (
	"strings"

	"kefu.dev/pkg/apierr"
)

// creditCodeCharset is the GB 32100-2015 alphabet in value order: digits, then capitals without I, O, Z, S
// and V, which are left out because they are easily confused with 1, 0, 2, 5 and U.
const creditCodeCharset = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// creditCodeWeights are the GB 32100-2015 weights for the first 17 characters: 3^i mod 31.
var creditCodeWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// ValidateCreditCode checks a unified social credit code (统一社会信用代码, GB 32100-2015) and returns it in
// canonical form: surrounding spaces trimmed and letters upper-cased. field is the request path the error
// names. Only the alphabet, length and check character are verified; the embedded division and
// organization codes are not, because registries issue codes whose parts do not follow their own standards.
func ValidateCreditCode(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", apierr.InvalidField(field, "is required")
	}
	if len(s) != 18 {
		return "", apierr.InvalidField(field, "must be 18 characters")
	}
	s = upperASCII(s)
	sum := 0
	for i := range 17 {
		v := strings.IndexByte(creditCodeCharset, s[i])
		if v < 0 {
			return "", apierr.InvalidField(field, "may contain only digits and capital letters other than I, O, Z, S and V")
		}
		sum += v * creditCodeWeights[i]
	}
	if strings.IndexByte(creditCodeCharset, s[17]) < 0 {
		return "", apierr.InvalidField(field, "may contain only digits and capital letters other than I, O, Z, S and V")
	}
	if creditCodeCharset[(31-sum%31)%31] != s[17] {
		return "", apierr.InvalidField(field, "check character does not match")
	}
	return s, nil
}

// IsSoleProprietor reports whether a validated credit code belongs to an individual business (个体工商户):
// registration authority 9 (market regulation) and entity kind 2. Such customers are people in law, so
// their records get the personal-data treatment an individual's do.
func IsSoleProprietor(code string) bool {
	return len(code) >= 2 && code[0] == '9' && code[1] == '2'
}

// upperASCII upper-cases ASCII letters only: strings.ToUpper also maps some non-ASCII letters onto ASCII
// (ſ becomes S), which would let a look-alike change the length and slip past the alphabet check.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
