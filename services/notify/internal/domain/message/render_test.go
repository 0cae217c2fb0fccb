package message

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRender(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"ticket_number": "GD202512050001", "after_hours": "1", "expected_reply": "次日9:00前", "agent_name": ""}
	tests := []struct {
		name string
		body string
		vars map[string]string
		want string
	}{
		{"a variable is replaced", "工单号{{ticket_number}}", vars, "工单号GD202512050001"},
		{"white space inside the braces is allowed", "工单号{{ ticket_number }}", vars, "工单号GD202512050001"},
		{"a missing variable is empty", "[{{subject}}]", vars, "[]"},
		{"a nil map renders every variable empty", "[{{subject}}]", nil, "[]"},
		{"a variable may repeat", "{{ticket_number}}/{{ticket_number}}", vars, "GD202512050001/GD202512050001"},
		{"a section is kept when its variable is set", "a{{#after_hours}}b{{expected_reply}}{{/after_hours}}c", vars, "ab次日9:00前c"},
		{"a section is dropped when its variable is empty", "a{{#agent_name}}b{{/agent_name}}c", vars, "ac"},
		{"a section is dropped when its variable is missing", "a{{#subject}}b{{/subject}}c", vars, "ac"},
		{"an inverted section is kept when its variable is empty", "a{{^agent_name}}b{{/agent_name}}c", vars, "abc"},
		{"an inverted section is dropped when its variable is set", "a{{^after_hours}}b{{/after_hours}}c", vars, "ac"},
		{"section tags allow white space too", "{{ # after_hours }}x{{/ after_hours }}{{ ^after_hours}}y{{ /after_hours}}", vars, "x"},
		{"a section and its inverse pick exactly one", "{{#agent_name}}by {{agent_name}}{{/agent_name}}{{^agent_name}}unassigned{{/agent_name}}", vars, "unassigned"},
		{"a value is inserted once and not expanded again", "{{body}}", map[string]string{"body": "{{ticket_number}}", "ticket_number": "x"}, "{{ticket_number}}"},
		{"a value is not html-escaped", "{{body}}", map[string]string{"body": "<b>&</b>"}, "<b>&</b>"},
		{"text without tags is unchanged", "您好，world", vars, "您好，world"},
		{"single braces are text", "{ticket_number}", vars, "{ticket_number}"},
		{"an unterminated tag is kept as text", "a{{ticket_number", vars, "a{{ticket_number"},
		{"an unbalanced close is dropped", "a{{/after_hours}}b", vars, "ab"},
		{"an unclosed section runs to the end", "a{{#agent_name}}b", vars, "a"},
		{"an empty body renders empty", "", vars, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Render(tc.body, tc.vars))
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	allowed := []string{"ticket_number", "after_hours", "expected_reply"}
	tests := []struct {
		name    string
		body    string
		allowed []string
		wantErr string // "" for no error
	}{
		{"known variables and sections pass", "{{ticket_number}}{{#after_hours}}{{expected_reply}}{{/after_hours}}{{^after_hours}}soon{{/after_hours}}", allowed, ""},
		{"white space inside the braces passes", "{{ ticket_number }}{{ #after_hours }}{{/after_hours }}", allowed, ""},
		{"text without tags passes", "您好", allowed, ""},
		{"an empty body passes", "", allowed, ""},
		{"an unknown variable is named with the allowed list", "您好{{agent}}", allowed, "invalid template: unknown variable {{agent}}; allowed: ticket_number, after_hours, expected_reply"},
		{"an unknown section variable is named", "{{#vip}}x{{/vip}}", allowed, "invalid template: unknown variable {{vip}}; allowed: ticket_number, after_hours, expected_reply"},
		{"the first unknown variable is the one named", "{{a}}{{b}}", allowed, "unknown variable {{a}};"},
		{"variables are case sensitive", "{{Ticket_Number}}", allowed, "unknown variable {{Ticket_Number}}"},
		{"no allowed variables says none", "{{ticket_number}}", nil, "unknown variable {{ticket_number}}; allowed: none"},
		{"a nested section is rejected", "{{#after_hours}}{{^ticket_number}}x{{/ticket_number}}{{/after_hours}}", allowed, "section {{^ticket_number}} opened inside section {{#after_hours}}; sections do not nest"},
		{"a close without an open is rejected", "x{{/after_hours}}", allowed, "{{/after_hours}} closes no open section"},
		{"a close under another name is rejected", "{{#after_hours}}x{{/ticket_number}}", allowed, "{{/ticket_number}} closes section {{#after_hours}}"},
		{"an unclosed section is rejected", "{{^after_hours}}x", allowed, "section {{^after_hours}} is not closed"},
		{"an unterminated tag is rejected", "工单号{{ticket_number", allowed, `"{{ticket_number" has no closing }}`},
		{"an empty tag is rejected", "a{{ }}b", allowed, "empty tag {{}}"},
		{"an empty section tag is rejected", "a{{#}}b", allowed, "empty tag {{#}}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Check(tc.body, tc.allowed)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidTemplate)
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}
