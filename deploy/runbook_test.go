package deploy

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAlertRunbooksExist: every alert's runbook link names a section of docs/operations.md (by its
// heading's anchor, as GitHub makes it), so an operator paged at night lands on the instructions.
func TestAlertRunbooksExist(t *testing.T) {
	rules, err := os.ReadFile("prometheus/rules/kefu.rules.yml")
	require.NoError(t, err)
	doc, err := os.ReadFile("../docs/operations.md")
	require.NoError(t, err)
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(string(doc), -1) {
		anchors[anchor(m[1])] = true
	}
	links := regexp.MustCompile(`runbook: docs/operations\.md#(\S+)`).FindAllStringSubmatch(string(rules), -1)
	require.NotEmpty(t, links)
	for _, l := range links {
		require.True(t, anchors[l[1]], "runbook #%s: no such section in docs/operations.md", l[1])
	}
}

// anchor is GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ' || r == '-':
			b.WriteRune('-')
		case r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}
