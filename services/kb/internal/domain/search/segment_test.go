package search

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func terms(ts []Token) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Term
	}
	return out
}

func TestTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"a Chinese run becomes its overlapping bigrams", "退款多久到账", []string{"退款", "款多", "多久", "久到", "到账"}},
		{"punctuation ends a run", "发票，抬头", []string{"发票", "抬头"}},
		{"a lone Chinese character stays one term", "退 款", []string{"退", "款"}},
		{"stop bigrams and lone particles are left out", "请问怎么开发票呢", []string{"问怎", "么开", "开发", "发票", "票呢"}},
		{"English words are folded, stop words dropped and plurals stemmed", "How long do Refunds take?", []string{"long", "refund", "take"}},
		{"plural endings come off without breaking words", "addresses boxes replies changes status process", []string{"address", "box", "reply", "change", "status", "process"}},
		{"an apostrophe inside a word joins it", "I can't log in to my customer’s account", []string{"cant", "log", "customer", "account"}},
		{"full-width letters and digits are folded (NFKC)", "ＩＰＨＯＮＥ１５退货", []string{"iphone15", "退货"}},
		{"Chinese and Latin runs split where the script changes", "iPhone15退货7天", []string{"iphone15", "退货", "7", "天"}},
		{"single letters are dropped, single digits kept", "a b 7 x", []string{"7"}},
		{"a circled digit folds to a digit", "第①步", []string{"第", "1", "步"}},
		{"kana are bigrams like Han", "パスワード", []string{"パス", "スワ", "ワー", "ード"}},
		{"empty text has no terms", "", nil},
		{"only punctuation has no terms", "？！…—", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, nilIfEmpty(terms(Tokens(tc.text))))
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestTokenOffsetsPointAtTheOriginalText(t *testing.T) {
	t.Parallel()
	text := "Ｒｅｆｕｎｄ：退款到账"
	toks := Tokens(text)
	require.Len(t, toks, 4)
	require.Equal(t, "Ｒｅｆｕｎｄ", text[toks[0].Start:toks[0].End], "full-width letters map back to themselves")
	require.Equal(t, "refund", toks[0].Term)
	require.Equal(t, "退款", text[toks[1].Start:toks[1].End])
	require.Equal(t, "到账", text[toks[3].Start:toks[3].End])
}

func TestChars(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"修", "改", "收", "货", "地", "址"}, terms(Chars("修改收货地址 address")))
	require.Equal(t, []string{"改", "地", "址"}, terms(Chars("怎么改地址")), "stop characters are left out")
}

func TestTermsAreDistinctInOrder(t *testing.T) {
	t.Parallel()
	require.Equal(t, []string{"退款", "款退"}, Terms(Tokens("退款退款")))
}

func TestStem(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"refunds": "refund", "passwords": "password", "deliveries": "delivery", "addresses": "address",
		"boxes": "box", "watches": "watch", "invoices": "invoice", "status": "status", "bus": "bus",
		"analysis": "analysis", "glass": "glass", "gas": "gas", "ties": "tie", "shipping": "shipping",
		"café": "café",
	}
	for in, want := range tests {
		require.Equal(t, want, stem(in), in)
	}
}
