package keyword

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
		{"upper case is lowered", "Where is my DELIVERY?", "where is my delivery?"},
		{"runs of spaces, tabs and newlines become one space", "as  soon\t\tas\npossible", "as soon as possible"},
		{"leading and trailing space is dropped", "  refund  ", "refund"},
		{"chinese is kept as it is", "我要 退款", "我要 退款"},
		{"full-width space counts as white space", "退款\u3000申请", "退款 申请"},
		{"empty stays empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Normalize(tc.in))
		})
	}
}

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		text    string
		keyword string
		want    bool
	}{
		{"a chinese keyword matches inside a sentence", "快递员态度很差我要投诉", "投诉", true},
		{"a chinese phrase must appear whole", "质量很差", "质量差", false},
		{"an english keyword matches a whole word", "I want a refund", "refund", true},
		{"an english keyword does not match inside a longer word", "I was refunded twice", "refund", false},
		{"an english keyword does not match the end of a longer word", "nonrefund policy", "refund", false},
		{"case does not matter", "Where is my DELIVERY?", "Delivery", true},
		{"extra spaces do not matter", "I need it as  soon   as possible", "as soon as  possible", true},
		{"an english word right after chinese still matches", "我要refund", "refund", true},
		{"upper-case english right after chinese is lowered", "申请REFUND", "Refund", true},
		{"punctuation bounds a word", "refund, please!", "refund", true},
		{"a keyword with a non-ascii letter matches inside a word", "two cafés nearby", "café", true},
		{"an accented letter continues an english word", "café", "caf", false},
		{"a keyword ending in punctuation may be followed by a letter", "c++11 support", "c++", true},
		{"digits continue a word", "order2 status", "order", false},
		{"a later occurrence can match when an earlier one is inside a word", "returned items, return label", "return", true},
		{"a multi-word keyword matches across words", "my phone is not working at all", "not working", true},
		{"japanese kana does not continue an english word", "これはrefundです", "refund", true},
		{"an empty keyword matches nothing", "anything", "", false},
		{"nothing matches in empty text", "", "refund", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Match(Normalize(tc.text), Normalize(tc.keyword)))
		})
	}
}

func TestMatcher(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		keywords []string
		text     string
		want     bool
	}{
		{"any one keyword is enough", []string{"退款", "Refund"}, "I want a REFUND", true},
		{"keywords are normalized once when the matcher is built", []string{"Not  Working"}, "it is not working", true},
		{"no keyword occurring is no match", []string{"退款", "refund"}, "refunded already", false},
		{"a matcher without keywords matches nothing", nil, "refund", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, NewMatcher(tc.keywords...).Match(Normalize(tc.text)))
		})
	}
}
