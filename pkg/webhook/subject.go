package webhook

import "strings"

// Match reports whether subject matches pattern under NATS subject rules: both are split into tokens on
// ".", "*" matches exactly one token and ">" as the last token matches one or more remaining tokens. A
// wildcard character inside a longer token is literal, as in NATS. Subscriptions are written in NATS
// syntax because the events they select are NATS subjects (kefu.ticket.*, kefu.>).
//
// Invalid input matches nothing: an empty subject or pattern, an empty token (a leading, trailing or
// doubled "."), or ">" anywhere but last in the pattern.
func Match(pattern, subject string) bool {
	if pattern == "" || subject == "" {
		return false
	}
	pts := strings.Split(pattern, ".")
	sts := strings.Split(subject, ".")
	for _, t := range sts {
		if t == "" {
			return false
		}
	}
	for i, p := range pts {
		switch {
		case p == "":
			return false
		case p == ">":
			// Must be last and must have at least one token to match.
			return i == len(pts)-1 && len(sts) > i
		case i >= len(sts):
			return false
		case p != "*" && p != sts[i]:
			return false
		}
	}
	return len(pts) == len(sts)
}
