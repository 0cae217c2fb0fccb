package customer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
)

// Check digits were computed by hand from GB 11643-1999 (weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, sum mod
// 11 indexes "10X98765432"). For 11010519491231002X the sum is
// 1·7+1·9+0·10+1·5+0·8+5·4+1·2+9·1+4·6+9·3+1·7+2·9+3·10+1·5+0·8+0·4+2·2 = 167, and 167 mod 11 = 2 → X.

func TestValidateNationalIDAcceptsValidNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"a number whose check character is X is valid", "11010519491231002X", "11010519491231002X"},
		{"a lower-case x check character is accepted and upper-cased", "11010519491231002x", "11010519491231002X"},
		{"surrounding spaces are trimmed", "  11010519491231002X\t", "11010519491231002X"},
		{"a number with a digit check character is valid", "110105199001011232", "110105199001011232"},
		{"29 february of a leap year is a real birth date", "320102198002291235", "320102198002291235"},
		{"29 february 2000 is a real birth date because 2000 is a leap year", "110105200002290013", "110105200002290013"},
		{"the first day of 1900 is inside the accepted range", "11010519000101001X", "11010519000101001X"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ValidateNationalID("individual.national_id", tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestValidateNationalIDRejectsInvalidNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string // the field violation's description
	}{
		{"an empty value is missing", "", "is required"},
		{"spaces alone are missing", "   ", "is required"},
		{"17 characters are too few", "11010519491231002", "must be 18 characters"},
		{"19 characters are too many", "11010519491231002X1", "must be 18 characters"},
		{"a 15-digit first-generation number is the wrong length", "110105491231002", "must be 18 characters"},
		{"full-width digits are the wrong length in bytes", "１１０１０５１９４９１２３１００２X", "must be 18 characters"},
		{"a letter among the first 17 is not a digit", "1101051949123100AX", "the first 17 characters must be digits"},
		{"a non-ASCII rune of the right byte length is not a digit", "1101051949123100é", "the first 17 characters must be digits"},
		{"a check character other than a digit or X is refused", "11010519491231002Y", "the last character must be a digit or X"},
		{"month 13 is not a birth date", "110105194913310023", "birth date is not a valid date between 1900 and 2100"},
		{"31 april is not a birth date", "110105194904310023", "birth date is not a valid date between 1900 and 2100"},
		{"29 february 1900 is not a birth date because 1900 is no leap year", "110105190002290011", "birth date is not a valid date between 1900 and 2100"},
		{"day zero is not a birth date", "110105194912000023", "birth date is not a valid date between 1900 and 2100"},
		{"a birth date in 1899 is out of range", "110105189912310023", "birth date is not a valid date between 1900 and 2100"},
		{"a birth date in 2101 is out of range", "110105210101010023", "birth date is not a valid date between 1900 and 2100"},
		{"a wrong check digit is caught", "110105194912310021", "check digit does not match"},
		{"an X where a digit belongs is caught", "11010519900101123X", "check digit does not match"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ValidateNationalID("individual.national_id", tc.in)
			require.Empty(t, got)
			requireFieldViolation(t, err, "individual.national_id", tc.want)
			requireNoEcho(t, err, tc.in)
		})
	}
}

// requireFieldViolation checks that err is InvalidArgument with one violation on field, described as want,
// and that the message names the field.
func requireFieldViolation(t *testing.T, err error, field, want string) {
	t.Helper()
	require.Error(t, err)
	ae, ok := apierr.As(err)
	require.True(t, ok, "want *apierr.Error, got %T", err)
	require.Equal(t, apierr.KindInvalidArgument, ae.Kind)
	require.Equal(t, []apierr.FieldViolation{{Field: field, Description: want}}, ae.Fields)
	require.Contains(t, ae.Message, field)
	require.Contains(t, ae.Message, want)
}

// requireNoEcho checks that err's message does not repeat the input, which is personal data. Inputs too
// short to identify anyone are skipped, since they could match the message's own words by chance.
func requireNoEcho(t *testing.T, err error, in string) {
	t.Helper()
	if in = strings.TrimSpace(in); len(in) >= 6 {
		require.NotContains(t, err.Error(), in, "the message must not echo personal data")
	}
}
