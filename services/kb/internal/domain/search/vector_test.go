package search

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDocumentWeighsFields(t *testing.T) {
	t.Parallel()
	v := Document("退款到账", []string{"refund"}, "## 到账时间\n退款会在3天内到账。")
	got := v.String()
	require.Contains(t, got, "'退款':1A,")
	require.Contains(t, got, "'refund':")
	require.Contains(t, got, "B")
	require.Contains(t, got, "'退':1D", "title characters rank with D")
	require.Contains(t, got, "'时间':", "the body's headings are indexed as body text")
	require.NotContains(t, got, "##")
}

func TestVectorCapsPositions(t *testing.T) {
	t.Parallel()
	v := Document("", nil, strings.Repeat("refund ", 100))
	require.Equal(t, maxLexemePos, strings.Count(v.String(), "C"))
}

func TestVectorClampsPositions(t *testing.T) {
	t.Parallel()
	var v Vector
	toks := Tokens(strings.Repeat("退款 ", 20000))
	v.Add(toks[:1], WeightTitle)
	v.Add(Tokens(strings.Repeat("词语 ", 17000)+"结尾"), WeightBody)
	require.Contains(t, v.String(), "'结尾':16383C")
}

func TestQuote(t *testing.T) {
	t.Parallel()
	require.Equal(t, "'abc'", Quote("abc"))
	require.Equal(t, `'it''s'`, Quote("it's"))
}

func TestDetectLanguage(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"退款多久到账": LangZh, "我的iPhone 15退款": LangZh, "how long does a refund take": LangEn,
		"refund for order 订单": LangEn, "12345 ?!": "",
	} {
		require.Equal(t, want, DetectLanguage(text), text)
	}
}
