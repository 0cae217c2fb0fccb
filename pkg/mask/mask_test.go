package mask

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// maskCase is one input and the masked output expected from one masker.
type maskCase struct {
	name string
	in   string
	want string
}

// runMaskCases runs cases against mask and also checks the properties every masker promises: valid UTF-8
// out, and no panic (a panic fails the subtest).
func runMaskCases(t *testing.T, mask func(string) string, tests []maskCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := mask(tc.in)
			require.Equal(t, tc.want, got)
			require.True(t, utf8.ValidString(got), "masked output must be valid UTF-8")
		})
	}
}

func TestPhone(t *testing.T) {
	t.Parallel()
	runMaskCases(t, Phone, []maskCase{
		{"a mainland mobile keeps its first 3 and last 4 digits", "13812345678", "138****5678"},
		{"a +86 country code is kept and the national part loses its spaces", "+86 138 1234 5678", "+86 138****5678"},
		{"+86 written directly before the mobile is still recognized", "+8613812345678", "+86 138****5678"},
		{"a dashed landline keeps its area code's first 3 and last 4", "010-1234-5678", "010****5678"},
		{"another country's code is kept when separated", "+1 (415) 555-0100", "+1 415***0100"},
		{"an unseparated foreign number masks its middle digits", "+4915112345678", "+491******5678"},
		{"full-width digits are read as digits", "１３８１２３４５６７８", "138****5678"},
		{"an 8-digit number still keeps 3 and 4", "12345678", "123*5678"},
		{"a 7-digit number keeps only the last 2", "1234567", "*****67"},
		{"a 3-digit number keeps only the last 2", "110", "*10"},
		{"two digits show nothing", "12", "**"},
		{"one digit shows nothing", "1", "*"},
		{"a plus sign alone has no digits to show", "+", "***"},
		{"text without digits is hidden", "call me", "***"},
		{"an emoji is hidden", "📞", "***"},
		{"spaces alone are empty", "   ", ""},
		{"an empty value stays empty", "", ""},
		{"invalid UTF-8 does not break masking", "\xff\xfe138", "*38"},
	})
}

func TestEmail(t *testing.T) {
	t.Parallel()
	runMaskCases(t, Email, []maskCase{
		{"an address keeps the first letter and the domain", "zhang@example.com", "z***@example.com"},
		{"a one-letter local part still gets the fixed-width mask", "z@example.com", "z***@example.com"},
		{"a Chinese local part keeps its first rune whole", "张三@例子.中国", "张***@例子.中国"},
		{"an emoji local part keeps its first rune whole", "😀x@example.com", "😀***@example.com"},
		{"the last @ separates the domain", `"a@b"@example.com`, `"***@example.com`},
		{"an empty local part shows only the domain", "@example.com", "***@example.com"},
		{"a value without @ is hidden", "zhang.example.com", "***"},
		{"a single rune without @ is hidden", "z", "***"},
		{"an empty value stays empty", "", ""},
		{"invalid UTF-8 comes out as the replacement rune", "\xffa@ex\xfe.com", "\uFFFD***@ex\uFFFD.com"},
	})
}

func TestWeChat(t *testing.T) {
	t.Parallel()
	runMaskCases(t, WeChat, []maskCase{
		{"a long id keeps its first 2 and last 2", "wxid_abc123", "wx***23"},
		{"7 runes keep 2 and 2", "zhang_3", "zh***_3"},
		{"6 runes keep only the first", "zhang3", "z***"},
		{"a Chinese id keeps whole runes", "微信用户张三丰", "微信***三丰"},
		{"one rune keeps it behind a fixed mask", "z", "z***"},
		{"an emoji id keeps whole runes", "🐼🐼🐼🐼🐼🐼🐼", "🐼🐼***🐼🐼"},
		{"an empty value stays empty", "", ""},
	})
}
