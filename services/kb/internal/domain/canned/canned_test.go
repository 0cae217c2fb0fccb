package canned

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		err  string
	}{
		{"plain text is fine", "您好，我们已收到您的反馈。", ""},
		{"known variables are fine", "工单{{ticket_number}}：{{ subject }}", ""},
		{"an unknown variable is refused and named", "您好，{{customer_name}}", "unknown variable {{customer_name}}"},
		{"an unclosed variable is refused", "工单{{ticket_number", "without a closing }}"},
		{"a lone closing brace pair is text", "a }} b", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Check(tc.body)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"ticket_number": "GD202610010001", "subject": "退款没到账"}
	require.Equal(t, "您的工单GD202610010001（退款没到账）已受理。", Render("您的工单{{ticket_number}}（{{ subject }}）已受理。", vars))
	require.Equal(t, "工单：", Render("工单：{{subject}}", nil), "a variable without a value is empty")
	require.Equal(t, "主题：{{ticket_number}}", Render("主题：{{subject}}", map[string]string{"subject": "{{ticket_number}}", "ticket_number": "GD1"}),
		"values are inserted once: a customer's braces are never expanded")
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	r, err := Response{Title: "  收到反馈  ", Body: "工单{{ticket_number}}"}.Normalize("canned_response.")
	require.NoError(t, err)
	require.Equal(t, "收到反馈", r.Title)

	_, err = Response{Title: "", Body: "{{name}}"}.Normalize("canned_response.")
	e, ok := apierr.As(err)
	require.True(t, ok)
	require.Equal(t, apierr.KindInvalidArgument, e.Kind)
	require.Len(t, e.Fields, 2)
	require.Equal(t, "canned_response.title", e.Fields[0].Field)
	require.Equal(t, "canned_response.body", e.Fields[1].Field)

	_, err = Response{Title: "t", Body: strings.Repeat("字", MaxBodyRunes+1)}.Normalize("canned_response.")
	require.ErrorContains(t, err, "longer than 4000")
}
