package customer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Check characters were computed by hand from GB 32100-2015 (alphabet 0-9 A-H J-N P-R T U W-Y valued 0–30,
// weights 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28, check = 31 − sum mod 31, 31 → 0). For
// 91110000600037341L the non-zero terms are 9·1+1·3+1·9+1·27+6·20+3·8+7·24+3·10+4·30+1·28 = 538;
// 538 mod 31 = 11; 31 − 11 = 20, and the character valued 20 is L.

func TestValidateCreditCodeAcceptsValidCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"a company code with a letter check character is valid", "91110000600037341L", "91110000600037341L"},
		{"a code with letters in the organization part is valid", "91350100M000100Y43", "91350100M000100Y43"},
		{"a sole proprietor's code is valid", "92440300MA5EXXXX06", "92440300MA5EXXXX06"},
		{"lower-case letters are accepted and upper-cased", "91110000600037341l", "91110000600037341L"},
		{"lower case throughout is accepted", "91350100m000100y43", "91350100M000100Y43"},
		{"surrounding spaces are trimmed", " 91110000600037341L ", "91110000600037341L"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ValidateCreditCode("enterprise.credit_code", tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestValidateCreditCodeRejectsInvalidCodes(t *testing.T) {
	t.Parallel()
	const (
		alphabet = "may contain only digits and capital letters other than I, O, Z, S and V"
		length   = "must be 18 characters"
		check    = "check character does not match"
	)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"an empty value is missing", "", "is required"},
		{"17 characters are too few", "91110000600037341", length},
		{"19 characters are too many", "91110000600037341LL", length},
		{"a wrong check character is caught", "91110000600037341K", check},
		{"a digit where the letter check belongs is caught", "911100006000373410", check},
		{"swapping two characters is caught", "91110000600073341L", check},
		{"the letter I is never used", "91110000I00037341L", alphabet},
		{"the letter O is never used", "91110000O00037341L", alphabet},
		{"the letter Z is never used", "91110000Z00037341L", alphabet},
		{"the letter S is never used", "91110000S00037341L", alphabet},
		{"the letter V is never used", "91110000V00037341L", alphabet},
		{"a forbidden letter in the check position is refused", "91110000600037341O", alphabet},
		{"punctuation is refused", "91110000-00037341L", alphabet},
		{"a long s that upper-cases to S does not sneak in", "9111000060003734ſ", alphabet},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ValidateCreditCode("enterprise.credit_code", tc.in)
			require.Empty(t, got)
			requireFieldViolation(t, err, "enterprise.credit_code", tc.want)
			requireNoEcho(t, err, tc.in)
		})
	}
}

func TestIsSoleProprietor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		code string
		want bool
	}{
		{"authority 9 kind 2 is an individual business", "92440300MA5EXXXX06", true},
		{"authority 9 kind 1 is a company", "91110000600037341L", false},
		{"authority 5 kind 2 is not market regulation", "52110000500000000X", false},
		{"an empty code is nothing", "", false},
		{"a single character cannot say", "9", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, IsSoleProprietor(tc.code))
		})
	}
}
