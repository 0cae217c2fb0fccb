package customer

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

func TestMaskNationalID(t *testing.T) {
	t.Parallel()
	runMaskCases(t, MaskNationalID, []maskCase{
		{"an 18-character number keeps region and last 4, hiding the birth date", "110105199001011234", "110105********1234"},
		{"an X check character is kept as the last of 4", "11010519491231002X", "110105********002X"},
		{"a 15-digit number keeps only the last 4", "110105491231002", "***********1002"},
		{"9 characters keep the last 4", "123456789", "*****6789"},
		{"8 characters are hidden entirely", "12345678", "********"},
		{"one rune is hidden", "1", "*"},
		{"an emoji is hidden", "🪪", "*"},
		{"an empty value stays empty", "", ""},
	})
}

func TestMaskCreditCode(t *testing.T) {
	t.Parallel()
	runMaskCases(t, MaskCreditCode, []maskCase{
		{"a credit code keeps its first 2 and last 4", "91110000600037341L", "91************341L"},
		{"9 characters keep 2 and 4", "ABCDEFGHJ", "AB***FGHJ"},
		{"8 characters are hidden entirely", "ABCDEFGH", "********"},
		{"one rune is hidden", "9", "*"},
		{"an empty value stays empty", "", ""},
	})
}

func TestMaskName(t *testing.T) {
	t.Parallel()
	runMaskCases(t, MaskName, []maskCase{
		{"a two-character Chinese name keeps the surname", "张三", "张*"},
		{"a four-character Chinese name keeps the first character", "欧阳娜娜", "欧***"},
		{"a Chinese name with a middle dot masks the dot too", "阿沛·阿旺晋美", "阿******"},
		{"spaces inside a Chinese name are dropped", "张 三", "张*"},
		{"a Latin name keeps the first letter of each word", "John Smith", "J*** S****"},
		{"extra spaces between words collapse", "  John   Smith ", "J*** S****"},
		{"a one-letter middle initial is hidden", "John Q Public", "J*** * P*****"},
		{"an accented name is masked by rune", "Zoë Ærø", "Z** Æ**"},
		{"a single Chinese character is hidden", "张", "*"},
		{"a single letter is hidden", "J", "*"},
		{"an emoji is hidden", "🙂", "*"},
		{"an empty value stays empty", "", ""},
	})
}

func TestMaskText(t *testing.T) {
	t.Parallel()
	runMaskCases(t, MaskText, []maskCase{
		{"an address keeps its first 3 runes", "北京市朝阳区建国路88号", "北京市***"},
		{"a Latin address keeps its first 3 letters", "221B Baker Street", "221***"},
		{"4 runes keep 3", "abcd", "abc***"},
		{"3 runes are hidden entirely", "abc", "***"},
		{"one rune is hidden", "a", "***"},
		{"emoji are kept whole", "🏠🏠🏠🏠", "🏠🏠🏠***"},
		{"an empty value stays empty", "", ""},
	})
}
