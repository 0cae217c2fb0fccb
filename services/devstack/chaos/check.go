package chaos

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Verdict is what the checker found for one scenario's tickets.
type Verdict struct {
	// Acked counts acknowledged tickets.
	Acked int
	// Lost counts effects missing for acknowledged tickets: the ticket in intake, its created event in the
	// stream, its row in routing, slatimer and analytics. Missing lists a few, for the report.
	Lost    int
	Missing []string
	// Duplicated counts duplicate effects: a second ticket for one idempotency key, an event id twice in
	// the stream, or a second created, queued or SLA-applied event of one ticket.
	Duplicated int
	// OutOfOrder counts events whose per-aggregate sequence is below one already in the stream.
	OutOfOrder int
}

// consumerTables are where each consumer's effect of a new ticket lands (schema.table, ticket id column).
var consumerTables = []struct{ name, table, column string }{
	{"routing", "routing.routed_tickets", "ticket_id"},
	{"slatimer", "slatimer.tickets", "id"},
	{"analytics", "analytics.tickets", "id"},
}

// onceSubjects are the events a ticket has exactly one of while it is new: its creation, routing's
// queueing (the chaos stack has no agents online, so tickets wait in their group's queue) and the SLA
// policy's application.
var onceSubjects = []string{"kefu.ticket.created", "kefu.routing.ticket_queued", "kefu.sla.applied"}

// dueSubjects are the SLA timer events each ticket has a fixed number of once its first response target
// (SLATarget, with warnings at 50% and 80%) has passed: they must fire exactly that often, however the
// SLA service was stopped or restarted meanwhile.
var dueSubjects = map[string]int{"kefu.sla.warning": 2, "kefu.sla.breached": 1}

// dueSlack is how late a timer event may arrive after its due time before it counts as missing (the
// checker waits that long past the last due time).
const dueSlack = 4 * time.Second

// Check waits up to settle for every acknowledged ticket's effects to appear, then counts. prefix selects
// the scenario's tickets (their subjects begin with it).
func Check(ctx context.Context, st *Stack, rec *Recorder, out *Outcome, prefix string, settle time.Duration) (Verdict, error) {
	conn, err := pgx.Connect(ctx, st.AdminURL)
	if err != nil {
		return Verdict{}, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	acked := map[string]bool{}
	for _, id := range out.Acked {
		acked[id] = true
	}
	// Every acknowledged ticket's breach must have had time to fire.
	var lastDue time.Time
	for _, at := range out.AckedAt {
		if due := at.Add(SLATarget + dueSlack); due.After(lastDue) {
			lastDue = due
		}
	}
	sleep(ctx, time.Until(lastDue))
	deadline := time.Now().Add(settle)
	for whole := false; ; {
		v, err := check(ctx, conn, rec.Events(), out.Conflicts, acked, prefix, dueSubjects)
		if err != nil || time.Now().After(deadline) {
			return v, err
		}
		if v.Lost == 0 && v.Duplicated == 0 && v.OutOfOrder == 0 {
			if whole {
				return v, nil
			}
			// Everything is there: look once more a little later, for late redeliveries and duplicates.
			whole, deadline = true, time.Now().Add(2*time.Second)
			sleep(ctx, 2*time.Second)
			continue
		}
		whole = false
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func check(ctx context.Context, conn *pgx.Conn, evs []Event, conflicts int, acked map[string]bool, prefix string, due map[string]int) (Verdict, error) {
	// Timer counts and the global analytics count are final checks; without due, neither is made.
	final := due != nil
	v := Verdict{Acked: len(acked), Duplicated: conflicts}
	ids := make([]string, 0, len(acked))
	for id := range acked {
		ids = append(ids, id)
	}
	miss := func(what string, n int, sample []string) {
		v.Lost += n
		for _, id := range sample {
			if len(v.Missing) < 5 {
				v.Missing = append(v.Missing, strings.TrimSpace(what+" "+id))
			}
		}
	}
	var absent []string
	if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id::text FROM unnest($1::uuid[]) AS id
			WHERE NOT EXISTS (SELECT 1 FROM intake.tickets t WHERE t.ticket_id = id)`, ids)
		if err != nil {
			return err
		}
		if absent, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		miss("intake ticket", len(absent), absent)
		for _, c := range consumerTables {
			rows, err := tx.Query(ctx, fmt.Sprintf(`SELECT id::text FROM unnest($1::uuid[]) AS id
				WHERE NOT EXISTS (SELECT 1 FROM %s t WHERE t.%s = id)`, c.table, c.column), ids)
			if err != nil {
				return err
			}
			absent, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			miss(c.name+" row for", len(absent), absent)
		}
		var dup int
		if err := tx.QueryRow(ctx, `SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM intake.tickets
			WHERE subject LIKE $1 || '-%' GROUP BY subject HAVING count(*) > 1) d`, prefix).Scan(&dup); err != nil {
			return err
		}
		v.Duplicated += dup
		// Analytics counts each ticket once: its finest rollups' (grain 0: by hour, every dimension) ticket
		// count is intake's ticket count (over the whole run, so a miscount shows in the scenario where it
		// happened and every one after).
		if !final {
			return nil
		}
		var counted, tickets int64
		if err := tx.QueryRow(ctx, `SELECT (SELECT coalesce(sum(tickets), 0) FROM analytics.ticket_rollup WHERE grain = 0),
			(SELECT count(*) FROM intake.tickets)`).Scan(&counted, &tickets); err != nil {
			return err
		}
		switch {
		case counted > tickets:
			v.Duplicated += int(counted - tickets)
		case counted < tickets:
			miss("analytics counted", int(tickets-counted), []string{fmt.Sprintf("%d of %d tickets", counted, tickets)})
		}
		return nil
	}); err != nil {
		return v, err
	}

	sv := streamVerdict(evs, acked, due)
	v.Duplicated += sv.Duplicated
	v.OutOfOrder += sv.OutOfOrder
	miss("", sv.Lost, sv.Missing)
	return v, nil
}

// streamVerdict checks the stream: every acknowledged ticket's once-events exactly once, no event id
// twice, and per producer and aggregate the sequence never going back. Missing lists "<subject> <id>".
func streamVerdict(evs []Event, acked map[string]bool, due map[string]int) Verdict {
	var v Verdict
	want := map[string]int{}
	for _, s := range onceSubjects {
		want[s] = 1
	}
	maps.Copy(want, due)
	seenID := map[string]bool{}
	maxSeq := map[string]int64{}
	once := map[string]map[string]int{}
	for s := range want {
		once[s] = map[string]int{}
	}
	for _, e := range evs {
		if !acked[e.AggregateID] {
			continue // another scenario's, or not a ticket's
		}
		if seenID[e.EventID] {
			v.Duplicated++
			continue
		}
		seenID[e.EventID] = true
		if e.Seq > 0 {
			// Each producer numbers its own events of an aggregate (kefu.<producer>.<event>).
			k := producer(e.Subject) + " " + e.AggregateID
			if e.Seq <= maxSeq[k] { // equal: two events share a sequence number
				v.OutOfOrder++
			}
			maxSeq[k] = max(maxSeq[k], e.Seq)
		}
		if m, ok := once[e.Subject]; ok {
			m[e.AggregateID]++
		}
	}
	for _, s := range slices.Sorted(maps.Keys(want)) {
		var missing []string
		for id := range acked {
			switch n := once[s][id]; {
			case n < want[s]:
				missing = append(missing, id)
			case n > want[s]:
				v.Duplicated += n - want[s]
			}
		}
		slices.Sort(missing)
		v.Lost += len(missing)
		for _, id := range missing {
			v.Missing = append(v.Missing, s+" "+id)
		}
	}
	return v
}

// producer is the aggregate kind of a subject, kefu.<kind>.<event>.
func producer(subject string) string {
	parts := strings.SplitN(subject, ".", 3)
	if len(parts) < 2 {
		return subject
	}
	return parts[1]
}

// WaitWhole polls until every ticket in acked (ids) has its effects (the once-events and each service's
// row; timer events are not awaited) and returns when that happened, or the zero time if ctx ended first.
func WaitWhole(ctx context.Context, st *Stack, rec *Recorder, acked map[string]bool, prefix string) time.Time {
	conn, err := pgx.Connect(ctx, st.AdminURL)
	if err != nil {
		return time.Time{}
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for ctx.Err() == nil {
		if v, err := check(ctx, conn, rec.Events(), 0, acked, prefix, nil); err == nil && v.Lost == 0 {
			return time.Now()
		}
		sleep(ctx, 250*time.Millisecond)
	}
	return time.Time{}
}
