package auth_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/auth"
)

// policyMarkdown renders the policy table as docs/security.md shows it: each role's permissions, and each
// method's permission, scope and audit mark.
func policyMarkdown() string {
	var b strings.Builder
	b.WriteString("| role | permissions |\n|---|---|\n")
	for _, r := range auth.Roles() {
		ps := auth.Grants(r)
		names := make([]string, len(ps))
		for i, p := range ps {
			names[i] = "`" + string(p) + "`"
		}
		slices.Sort(names)
		fmt.Fprintf(&b, "| %s | %s |\n", r, strings.Join(names, ", "))
	}
	b.WriteString("\n| method | permission | object scope | audited |\n|---|---|---|---|\n")
	scopes := map[auth.Scope]string{auth.ScopeNone: "—", auth.ScopeTicket: "the ticket", auth.ScopeTicketList: "filters the list"}
	audits := map[auth.Audit]string{auth.AuditNone: "no", auth.AuditChange: "change", auth.AuditRead: "personal-data read"}
	for _, m := range auth.Methods() {
		r, _ := auth.RuleFor(m)
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s |\n", m, r.Permission, scopes[r.Scope], audits[r.Audit])
	}
	return b.String()
}

// TestSecurityDocShowsThePolicyTable keeps docs/security.md's tables equal to the code's. Run with
// KEFU_UPDATE_DOCS=1 to rewrite them after changing the policy.
func TestSecurityDocShowsThePolicyTable(t *testing.T) {
	t.Parallel()
	path := filepath.Join("..", "..", "docs", "security.md")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	re := regexp.MustCompile(`(?s)(<!-- policy:begin -->\n).*?(<!-- policy:end -->)`)
	require.True(t, re.Match(b), "docs/security.md has no policy:begin/end block")
	want := re.ReplaceAllString(string(b), "${1}"+strings.ReplaceAll(policyMarkdown(), "$", "$$")+"${2}")
	if os.Getenv("KEFU_UPDATE_DOCS") == "1" {
		require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
		return
	}
	require.Equal(t, want, string(b), "docs/security.md's policy tables are out of date: run KEFU_UPDATE_DOCS=1 go test kefu.dev/pkg/auth")
}
