package customer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// normalizeCase is one input and what a normalizer should return for it.
type normalizeCase struct {
	name   string
	in     string
	want   string
	wantOK bool
}

func runNormalizeCases(t *testing.T, normalize func(string) (string, bool), tests []normalizeCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := normalize(tc.in)
			require.Equal(t, tc.wantOK, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	runNormalizeCases(t, NormalizePhone, []normalizeCase{
		{"a bare mobile stays as it is", "13812345678", "13812345678", true},
		{"spaces and dashes are dropped", "138 1234-5678", "13812345678", true},
		{"a +86 prefix is dropped from a mobile", "+86 13812345678", "13812345678", true},
		{"a 0086 prefix is dropped from a mobile", "008613812345678", "13812345678", true},
		{"an 86 prefix without a plus is dropped from a mobile", "86 138 1234 5678", "13812345678", true},
		{"a bracketed +86 is dropped from a mobile", "(+86) 138-1234-5678", "13812345678", true},
		{"full-width digits and plus are read", "＋８６１３８１２３４５６７８", "13812345678", true},
		{"a domestic landline keeps its trunk 0", "010-1234 5678", "01012345678", true},
		{"a +86 landline keeps its country code", "+86 10 1234 5678", "+861012345678", true},
		{"a foreign number keeps its country code behind a plus", "+1 415 555 0100", "+14155550100", true},
		{"a foreign number dialled with 00 matches its + spelling", "001 415 555 0100", "+14155550100", true},
		{"86 before something that is not a mobile is kept", "8601012345678", "8601012345678", true},
		{"a short number is kept", "110", "110", true},
		{"a plus alone is empty", "+", "", false},
		{"letters alone are empty", "n/a", "", false},
		{"an empty value is empty", "", "", false},
	})
}

func TestNormalizePhoneSpellingsMatch(t *testing.T) {
	t.Parallel()
	want, ok := NormalizePhone("13812345678")
	require.True(t, ok)
	for _, in := range []string{"138 1234-5678", "+86 13812345678", "008613812345678", "+86-138-1234-5678", " 86 13812345678 "} {
		t.Run(in+" normalizes like the bare mobile", func(t *testing.T) {
			t.Parallel()
			got, ok := NormalizePhone(in)
			require.True(t, ok)
			require.Equal(t, want, got)
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	runNormalizeCases(t, NormalizeEmail, []normalizeCase{
		{"an address is trimmed and lower-cased", "  Zhang.San@Example.COM ", "zhang.san@example.com", true},
		{"a lower-case address stays as it is", "z@example.com", "z@example.com", true},
		{"spaces alone are empty", "  ", "", false},
		{"an empty value is empty", "", "", false},
	})
}

func TestNormalizeWeChat(t *testing.T) {
	t.Parallel()
	runNormalizeCases(t, NormalizeWeChat, []normalizeCase{
		{"an id is trimmed but keeps its case", " WXid_Abc ", "WXid_Abc", true},
		{"spaces alone are empty", "\t ", "", false},
		{"an empty value is empty", "", "", false},
	})
}

func TestNormalizeKey(t *testing.T) {
	t.Parallel()
	runNormalizeCases(t, NormalizeKey, []normalizeCase{
		{"an order number is trimmed and upper-cased", " jd2023-0001 ", "JD2023-0001", true},
		{"a member number already in upper case stays", "VIP0001", "VIP0001", true},
		{"spaces alone are empty", " ", "", false},
		{"an empty value is empty", "", "", false},
	})
}
