package topics

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"full-width ascii becomes ascii", "Ｒｅｆｕｎｄ ＡＰＰ", "refund app"},
		{"chinese punctuation becomes ascii", "快递，没到！【急】", "快递,没到![急]"},
		{"a typographic apostrophe is an apostrophe", "hasn’t arrived", "hasn't arrived"},
		{"the ideographic space is a space", "my\u3000order", "my order"},
		{"spaces next to chinese are dropped", "快 递 没 到", "快递没到"},
		{"a space between chinese and english is dropped too", "APP 闪退", "app闪退"},
		{"spaces between english words stay, one each", "not   ARRIVED", "not arrived"},
		{"empty stays empty", "  ", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, normalize(tc.in))
		})
	}
}

func TestStem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		words []string
		want  string
	}{
		{"-s, -es, -ed and -ing and a final e agree", []string{"arrive", "arrives", "arrived", "arriving"}, "arriv"},
		{"a word ending in e keeps agreeing with -es", []string{"charge", "charges", "charged", "charging"}, "charg"},
		{"-es after a consonant cluster", []string{"crash", "crashes", "crashed", "crashing"}, "crash"},
		{"-ies and -ied become y", []string{"reply", "replies", "replied", "replying"}, "reply"},
		{"a doubled consonant is halved", []string{"ship", "ships", "shipped", "shipping"}, "ship"},
		{"a base ending in a double consonant agrees", []string{"miss", "misses", "missed", "missing"}, "mis"},
		{"no suffix is plain", []string{"refund", "refunds", "refunded", "refunding"}, "refund"},
		{"possessive 's goes", []string{"package's", "packages", "package"}, "packag"},
		{"apostrophes inside a word go", []string{"hasn't", "hasnt"}, "hasnt"},
		{"-s stays after s, u or i", []string{"status"}, "status"},
		{"-s stays after i", []string{"this"}, "this"},
		{"at least three letters remain", []string{"being"}, "being"},
		{"short words stay", []string{"was"}, "was"},
		{"-able is no inflection", []string{"refundable"}, "refundabl"},
		{"non-ascii words are only stripped of apostrophes", []string{"café's"}, "café"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, w := range tc.words {
				require.Equal(t, tc.want, stem(w), "stem(%q)", w)
			}
		})
	}
}

func TestEnglishView(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"words are stemmed and joined by one space", "my packages haven't arrived", "my packag havent arriv"},
		{"punctuation only separates words", "late... (very) late!", "lat very lat"},
		{"chinese separates english words", "我的package还没arrived", "packag arriv"},
		{"digits are words", "3 days", "3 day"},
		{"no words is empty", "快递没到!", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, englishView(normalize(tc.in)))
		})
	}
}
