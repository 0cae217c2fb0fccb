package app

import (
	"cmp"
	"context"
	"slices"
	"time"

	"kefu.dev/pkg/apierr"
	"kefu.dev/services/analytics/internal/store"
)

// IssueCount is a subcategory's place in a ranking.
type IssueCount struct {
	Type, Subcategory string
	Tickets, Breached int64
}

// TopicCount is a complaint topic's place in the ranking, with its labels.
type TopicCount struct {
	Topic, Zh, En string
	Tickets       int64
}

// TopIssues ranks subcategories and complaint topics over a whole range.
type TopIssues struct {
	Tickets              int64
	ByVolume, ByBreaches []IssueCount
	Topics               []TopicCount
}

// DefaultTopLimit is how many of each ranking a report gives when the request names no number.
const DefaultTopLimit = 10

// TopIssues ranks, over q's whole range (its granularity and breakdown are ignored), the subcategories
// by tickets received and by tickets that breached an SLA target, and the complaint topics by tickets;
// limit (0 for DefaultTopLimit) of each. Ties go by code, so the ranking is stable.
func (a *App) TopIssues(ctx context.Context, q ReportQuery, limit int) (TopIssues, error) {
	if limit < 0 || limit > 100 {
		return TopIssues{}, apierr.InvalidField("limit", "must be between 0 and 100")
	}
	if limit == 0 {
		limit = DefaultTopLimit
	}
	q.Dimension = ""
	sq, err := a.prepare(q, false)
	if err != nil {
		return TopIssues{}, err
	}
	sq.Granularity = store.All
	rows, err := a.store.Aggregate(ctx, "ticket_rollup", sq, []string{"type", "subcategory"}, "tickets", "breached")
	if err != nil {
		return TopIssues{}, err
	}
	var out TopIssues
	var all []IssueCount
	for _, r := range rows {
		if r.Sums[0] == 0 {
			continue
		}
		out.Tickets += r.Sums[0]
		if r.Extra[1] == "" {
			continue // not yet classified below its type
		}
		all = append(all, IssueCount{Type: r.Extra[0], Subcategory: r.Extra[1], Tickets: r.Sums[0], Breached: r.Sums[1]})
	}
	byCode := func(x, y IssueCount) int {
		return cmp.Or(cmp.Compare(x.Type, y.Type), cmp.Compare(x.Subcategory, y.Subcategory))
	}
	out.ByVolume = top(all, limit, func(x, y IssueCount) int { return cmp.Or(cmp.Compare(y.Tickets, x.Tickets), byCode(x, y)) })
	breached := slices.DeleteFunc(slices.Clone(all), func(c IssueCount) bool { return c.Breached == 0 })
	out.ByBreaches = top(breached, limit, func(x, y IssueCount) int {
		return cmp.Or(cmp.Compare(y.Breached, x.Breached), cmp.Compare(y.Tickets, x.Tickets), byCode(x, y))
	})
	trows, err := a.store.Aggregate(ctx, "topic_rollup", sq, []string{"topic"}, "tickets")
	if err != nil {
		return TopIssues{}, err
	}
	var topics []TopicCount
	for _, r := range trows {
		if r.Sums[0] == 0 {
			continue
		}
		tc := TopicCount{Topic: r.Extra[0], Tickets: r.Sums[0]}
		if t, ok := a.lexicon.Topic(tc.Topic); ok {
			tc.Zh, tc.En = t.Zh, t.En
		}
		topics = append(topics, tc)
	}
	out.Topics = top(topics, limit, func(x, y TopicCount) int {
		return cmp.Or(cmp.Compare(y.Tickets, x.Tickets), cmp.Compare(x.Topic, y.Topic))
	})
	return out, nil
}

// top sorts s by order and keeps the first n.
func top[T any](s []T, n int, order func(a, b T) int) []T {
	slices.SortFunc(s, order)
	return s[:min(n, len(s))]
}

// CollaborationRow is a line of the collaboration report.
type CollaborationRow struct {
	RowKey
	Tickets, Transfers, Transferred, TransfersAccepted int64
	AverageAcceptanceWait                              time.Duration
	Escalations, Escalated, Reopens                    int64
}

// GroupTimeRow is the time tickets spent in one group in one period.
type GroupTimeRow struct {
	RowKey
	Stays          int64
	Average, Total time.Duration
}

// Collaboration gives per period and key the transfers, their acceptance wait, escalations and reopens,
// and per period and group the time tickets spent there (completed stays, see facts.Ticket.Stays).
func (a *App) Collaboration(ctx context.Context, q ReportQuery) ([]CollaborationRow, []GroupTimeRow, error) {
	sq, err := a.prepare(q, false)
	if err != nil {
		return nil, nil, err
	}
	rows, err := a.store.Aggregate(ctx, "ticket_rollup", sq, nil, "tickets", "transfers", "transferred",
		"transfers_accepted", "accept_wait_ms", "escalations", "escalated", "reopens")
	if err != nil {
		return nil, nil, err
	}
	var out []CollaborationRow
	for _, r := range rows {
		if r.Sums[0] == 0 {
			continue
		}
		c := CollaborationRow{RowKey: RowKey{r.Period, r.Key}, Tickets: r.Sums[0], Transfers: r.Sums[1], Transferred: r.Sums[2],
			TransfersAccepted: r.Sums[3], Escalations: r.Sums[5], Escalated: r.Sums[6], Reopens: r.Sums[7]}
		if c.TransfersAccepted > 0 {
			c.AverageAcceptanceWait = time.Duration(r.Sums[4]/c.TransfersAccepted) * time.Millisecond
		}
		out = append(out, c)
	}
	gq := sq
	gq.GroupBy = "group_id"
	stays, err := a.store.Aggregate(ctx, "group_time_rollup", gq, nil, "stays", "stay_ms")
	if err != nil {
		return nil, nil, err
	}
	var groups []GroupTimeRow
	for _, r := range stays {
		if r.Sums[0] == 0 {
			continue
		}
		total := time.Duration(r.Sums[1]) * time.Millisecond
		groups = append(groups, GroupTimeRow{RowKey: RowKey{r.Period, r.Key}, Stays: r.Sums[0], Total: total,
			Average: total / time.Duration(r.Sums[0])})
	}
	return out, groups, nil
}
