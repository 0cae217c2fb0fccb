package incident

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Action is one line of an incident's timeline.
type Action struct {
	At    time.Time
	Actor string
	Kind  string
	Text  string
}

// Impact is what an incident touched, as counted from its linked tickets.
type Impact struct {
	Tickets   int64
	Customers int64
	// Channels counts linked tickets by channel code.
	Channels map[string]int64
	Breaches int64
	// Resolved and Open count linked tickets by where they stand now.
	Resolved, Open int64
}

// Postmortem renders an incident's post-mortem in Markdown, its times in loc: summary, cause, impact,
// timeline of actions, compensations and follow-ups. An incident still active says so, with its impact so
// far.
func Postmortem(i Incident, im Impact, actions []Action, comps []Compensation, loc *time.Location, now time.Time) string {
	var b strings.Builder
	ts := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04") }
	fmt.Fprintf(&b, "# Post-mortem %s: %s\n\n", i.Number, oneLine(i.Title))
	end := i.ClosedAt
	state := "closed " + ts(end)
	if i.Status != Closed {
		end, state = now, "still active"
	}
	fmt.Fprintf(&b, "- Kind: %s\n- Severity: %s\n- Declared: %s by %s\n- Status: %s\n- Duration: %s\n",
		strings.ReplaceAll(string(i.Kind), "_", " "), strings.ToUpper(string(i.Severity)), ts(i.DeclaredAt), i.DeclaredBy, state,
		duration(end.Sub(i.DeclaredAt)))
	fmt.Fprintf(&b, "- Commander: %s\n- Emergency team (group): %s\n\n", i.CommanderID, i.TeamGroupID)

	b.WriteString("## Cause\n\n")
	if i.Cause == "" {
		b.WriteString("_Not written yet._\n\n")
	} else {
		b.WriteString(strings.TrimSpace(i.Cause) + "\n\n")
	}

	b.WriteString("## Impact\n\n")
	fmt.Fprintf(&b, "| measure | value |\n|---|---:|\n| tickets | %d |\n| customers | %d |\n| SLA breaches | %d |\n"+
		"| resolved | %d |\n| still open | %d |\n| duration | %s |\n\n",
		im.Tickets, im.Customers, im.Breaches, im.Resolved, im.Open, duration(end.Sub(i.DeclaredAt)))
	if len(im.Channels) > 0 {
		b.WriteString("| channel | tickets |\n|---|---:|\n")
		type kv struct {
			k string
			v int64
		}
		var cs []kv
		for k, v := range im.Channels {
			cs = append(cs, kv{k, v})
		}
		slices.SortFunc(cs, func(a, b kv) int { return cmp.Or(cmp.Compare(b.v, a.v), cmp.Compare(a.k, b.k)) })
		for _, c := range cs {
			fmt.Fprintf(&b, "| %s | %d |\n", c.k, c.v)
		}
		b.WriteString("\n")
	}

	b.WriteString("## Scope\n\n")
	if len(i.Scope.Channels) > 0 {
		fmt.Fprintf(&b, "- Channels: %s\n", strings.Join(i.Scope.Channels, ", "))
	}
	if len(i.Scope.Subcategories) > 0 {
		fmt.Fprintf(&b, "- Subcategories: %s\n", strings.Join(i.Scope.Subcategories, ", "))
	}
	if len(i.Scope.Keywords) > 0 {
		fmt.Fprintf(&b, "- Keywords: %s\n", strings.Join(i.Scope.Keywords, ", "))
	}
	if !i.Scope.Start.IsZero() {
		fmt.Fprintf(&b, "- From: %s\n", ts(i.Scope.Start))
	}
	if !i.Scope.End.IsZero() {
		fmt.Fprintf(&b, "- Until: %s\n", ts(i.Scope.End))
	}
	b.WriteString("\n## Timeline\n\n")
	for _, a := range actions {
		line := fmt.Sprintf("- %s %s — %s", ts(a.At), a.Actor, strings.ReplaceAll(a.Kind, "_", " "))
		if a.Text != "" {
			line += ": " + oneLine(a.Text)
		}
		b.WriteString(line + "\n")
	}
	if len(comps) > 0 {
		b.WriteString("\n## Compensations\n\n| ticket | kind | amount | state | proposed by | decided by |\n|---|---|---:|---|---|---|\n")
		for _, c := range comps {
			fmt.Fprintf(&b, "| %s | %s | %d %s | %s | %s | %s |\n", c.TicketID, c.Kind, c.Amount, c.Currency, c.State, c.ProposedBy,
				cmp.Or(c.DecidedBy, "—"))
		}
	}
	b.WriteString("\n## Follow-ups\n\n")
	if len(i.FollowUps) == 0 {
		b.WriteString("_None recorded._\n")
	}
	for _, f := range i.FollowUps {
		fmt.Fprintf(&b, "- [ ] %s\n", oneLine(f))
	}
	return b.String()
}

// oneLine keeps a text on one Markdown line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "|", "/")), " ")
}

// duration renders d as "3 h 20 min" or "2 d 4 h".
func duration(d time.Duration) string {
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%d d %d h", days, hours)
	case hours > 0:
		return fmt.Sprintf("%d h %d min", hours, mins)
	default:
		return fmt.Sprintf("%d min", mins)
	}
}
