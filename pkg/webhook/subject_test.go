package webhook

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		pattern string
		subject string
		want    bool
	}{
		{"a literal pattern matches the same subject", "kefu.ticket.created", "kefu.ticket.created", true},
		{"a literal pattern does not match another subject", "kefu.ticket.created", "kefu.ticket.closed", false},
		{"a literal pattern does not match a longer subject", "kefu.ticket", "kefu.ticket.created", false},
		{"a literal pattern does not match a shorter subject", "kefu.ticket.created", "kefu.ticket", false},
		{"a star matches one token", "kefu.ticket.*", "kefu.ticket.created", true},
		{"a star does not match two tokens", "kefu.ticket.*", "kefu.ticket.status.changed", false},
		{"a star does not match zero tokens", "kefu.ticket.*", "kefu.ticket", false},
		{"a star may stand in the middle", "kefu.*.created", "kefu.ticket.created", true},
		{"a star in the middle still needs the rest to match", "kefu.*.created", "kefu.sla.breached", false},
		{"a lone star matches a one-token subject", "*", "kefu", true},
		{"a greater-than matches one remaining token", "kefu.>", "kefu.ticket", true},
		{"a greater-than matches many remaining tokens", "kefu.>", "kefu.ticket.status_changed", true},
		{"a greater-than does not match zero tokens", "kefu.>", "kefu", false},
		{"a lone greater-than matches everything", ">", "kefu.sla.breached", true},
		{"a greater-than not at the end is invalid and matches nothing", "kefu.>.created", "kefu.ticket.created", false},
		{"stars and a greater-than combine", "*.ticket.>", "kefu.ticket.created", true},
		{"a star inside a token is literal", "kefu.tick*", "kefu.ticket", false},
		{"a star inside a token matches itself literally", "kefu.tick*", "kefu.tick*", true},
		{"matching is case sensitive", "kefu.Ticket.*", "kefu.ticket.created", false},
		{"an empty pattern matches nothing", "", "kefu.ticket.created", false},
		{"an empty subject matches nothing", ">", "", false},
		{"a doubled dot in the subject matches nothing", ">", "kefu..created", false},
		{"a trailing dot in the pattern matches nothing", "kefu.ticket.", "kefu.ticket.", false},
		{"a leading dot in the subject matches nothing", "*.ticket", ".ticket", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Match(tc.pattern, tc.subject))
		})
	}
}
