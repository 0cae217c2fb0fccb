package search

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlainText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		md   string
		want string
	}{
		{"headings lose their marks", "## 退款到账时间\n\n正文", "退款到账时间 正文"},
		{"links keep their text, not their target", "see [the refund page](https://example.com/refund?x=1) now", "see the refund page now"},
		{"images keep their alt text", "![退款流程图](img/refund.png)", "退款流程图"},
		{"emphasis and code marks go", "**important** and `code` and ~~old~~", "important and code and old"},
		{"snake_case keeps its underscores, emphasis underscores go", "_note_ the order_id field", "note the order_id field"},
		{"lists and quotes lose their markers", "- first\n* second\n1. third\n> quoted\n- [x] done", "first second third quoted done"},
		{"fences and rules go, code stays", "```\nrun this\n```\n---\nafter", "run this after"},
		{"tables become words", "| 方式 | 时间 |\n|---|:---:|\n| 银行卡 | 3天 |", "方式 时间 银行卡 3天"},
		{"HTML tags go, entities are decoded", "<b>bold</b> &amp; <br/>done &lt;tag&gt;", "bold & done <tag>"},
		{"a lone angle bracket is text", "a < b and c > d", "a < b and c > d"},
		{"autolinks keep their address", "<https://kefu.dev>", "https://kefu.dev"},
		{"escapes keep the character", `1\*2 \[x\]`, "1*2 [x]"},
		{"white space collapses", "a\t\tb\n\n\nc", "a b c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, PlainText(tc.md))
		})
	}
}
