package search

import (
	"strings"
	"testing"
)

// BenchmarkSnippet is a search hit's snippet work: a Chinese body of about 800 characters, its plain
// text and the snippet for a five-term query.
func BenchmarkSnippet(b *testing.B) {
	body := strings.Repeat("## 退款到账时间\n\n退款审核通过后，款项将按**原支付方式**退回。银行卡退款一般需要3到7个工作日到账，具体以银行处理时间为准；微信、支付宝退款通常在24小时内到账。", 8)
	q := ParseQuery("退款多久到账")
	for b.Loop() {
		Snippet(PlainText(body), q, 120)
	}
}
