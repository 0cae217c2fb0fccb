package search

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSnippet(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("这是一段与问题无关的说明文字。", 20)
	tests := []struct {
		name  string
		text  string
		query string
		width int
		want  string
	}{
		{"adjacent bigrams share one mark", "退款到账时间", "退款多久到账", 0, "<mark>退款到账</mark>时间"},
		{"overlapping bigrams of a phrase mark it once", "银行卡退款多久到账", "退款多久到账", 0, "银行卡<mark>退款多久到账</mark>"},
		{"English matches are marked by their stem", "Refunds take 5 days; a refund is final.", "refund", 0, "<mark>Refunds</mark> take 5 days; a <mark>refund</mark> is final."},
		{"everything else is HTML-escaped", "<script>alert(1)</script> refund & more", "refund", 0, "&lt;script&gt;alert(1)&lt;/script&gt; <mark>refund</mark> &amp; more"},
		{"a marked term is escaped too", "a&b refund", "refund", 0, "a&amp;b <mark>refund</mark>"},
		{"no match gives the start", long, "发票", 10, "这是一段与问题无关的…"},
		{"the window goes where the matches are", long + "发票抬头可以修改。" + long, "发票抬头", 12, "…字。<mark>发票抬头</mark>可以修改。这…"},
		{"single characters of the query are marked", "修改收货地址", "改地址", 0, "修<mark>改</mark>收货<mark>地址</mark>"},
		{"a cut does not split an English word", "alpha beta gamma delta epsilon zeta eta theta iota kappa refund lambda mu nu xi omicron pi rho sigma", "refund", 30,
			"…kappa <mark>refund</mark> lambda mu nu xi…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Snippet(tc.text, ParseQuery(tc.query), tc.width))
		})
	}
}

func TestSnippetPrefersTheWindowWithMoreDistinctTerms(t *testing.T) {
	t.Parallel()
	filler := strings.Repeat("无关文字", 30)
	text := "发票发票发票" + filler + "发票抬头税号" + filler
	got := Snippet(text, ParseQuery("发票 抬头 税号"), 20)
	require.Contains(t, got, "<mark>发票抬头税号</mark>")
}
