package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/routing/internal/app"
	"kefu.dev/services/routing/internal/domain/routing"
	"kefu.dev/services/routing/internal/store"
)

type noRelay struct{}

func (noRelay) Notify() {}

// noIntake answers as intake would for tickets without text; the scenario has no keyword rule and its
// dispatches are only read, never sent.
type noIntake struct{}

func (noIntake) TicketText(context.Context, uuid.UUID) (string, error) { return "", nil }
func (noIntake) Assign(context.Context, uuid.UUID, uuid.UUID, uuid.UUID, bool, uuid.UUID, string) error {
	return nil
}

// world is a routing database with groups that share agents, each strategy, an L1 complaints group and an
// emergency team, and rules to them.
type world struct {
	db     *testkit.DB
	app    *app.App
	groups map[string]uuid.UUID
	agents map[string]uuid.UUID
	names  map[uuid.UUID]string // group and agent ids to names, to print outcomes
}

func newWorld(t *testing.T) *world {
	t.Helper()
	db := testkit.NewDB(t, store.Schema, store.Migrations()...)
	ctx := t.Context()
	w := &world{db: db, groups: map[string]uuid.UUID{}, agents: map[string]uuid.UUID{}, names: map[uuid.UUID]string{}}
	w.app = app.New(store.New(db.Pool), clock.NewFake(time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)), noRelay{}, noIntake{},
		app.Config{}, logging.Discard())
	for _, g := range []struct {
		code     string
		strategy routing.Strategy
	}{
		{"orders", routing.StrategyLeastLoaded}, {"refunds", routing.StrategyRoundRobin},
		{"vip", routing.StrategySkillsThenLeastLoaded}, {"complaints", routing.StrategyLeastLoaded},
		{"emergency", routing.StrategyLeastLoaded},
	} {
		out, err := w.app.CreateGroup(ctx, app.Request{}, routing.Group{Code: g.code, DisplayName: g.code, Strategy: g.strategy})
		require.NoError(t, err)
		w.groups[g.code], w.names[out.ID] = out.ID, g.code
	}
	for _, a := range []struct {
		name      string
		groups    []string
		capacity  int
		skills    []string
		seniority routing.Seniority
	}{
		{"shared", []string{"orders", "refunds"}, 3, nil, ""},
		{"o1", []string{"orders"}, 2, nil, ""}, {"o2", []string{"orders"}, 3, nil, ""},
		{"r1", []string{"refunds"}, 2, nil, ""}, {"r2", []string{"refunds", "vip"}, 2, nil, ""},
		{"v1", []string{"vip"}, 2, []string{"english"}, ""}, {"v2", []string{"vip"}, 3, nil, ""},
		{"c1", []string{"complaints"}, 1, nil, routing.SenioritySenior},
		{"e1", []string{"emergency"}, 4, nil, ""},
		{"off", []string{"orders", "emergency"}, 9, nil, ""}, // stays offline
	} {
		// Ids in this order: ties between agents go the same way in every run (shared first).
		ag := routing.Agent{ID: uuid.MustParse(fmt.Sprintf("00000000-0000-4000-8000-%012d", len(w.agents)+1)), DisplayName: a.name, Capacity: a.capacity, Skills: a.skills, Seniority: a.seniority}
		for _, g := range a.groups {
			ag.GroupIDs = append(ag.GroupIDs, w.groups[g])
		}
		_, err := w.app.CreateAgent(ctx, app.Request{}, ag)
		require.NoError(t, err)
		w.names[ag.ID], w.agents[a.name] = a.name, ag.ID
		if a.name != "off" {
			_, err = w.app.SetPresence(ctx, ag.ID, routing.PresenceOnline)
			require.NoError(t, err)
		}
	}
	for i, r := range []struct {
		cond   routing.Condition
		group  string
		skills []string
	}{
		{routing.Condition{Channels: []string{"app"}}, "vip", []string{"english"}},
		{routing.Condition{Subcategories: []string{"refund"}}, "refunds", nil},
		{routing.Condition{Types: []string{routing.TypeComplaint}}, "complaints", nil},
		{routing.Condition{}, "orders", nil},
	} {
		_, err := w.app.CreateRule(ctx, app.Request{}, routing.Rule{Position: 10 * (i + 1), DisplayName: r.group, Condition: r.cond,
			TargetGroupID: w.groups[r.group], RequiredSkills: r.skills, Enabled: true})
		require.NoError(t, err)
	}
	// A ticket left queued in orders while its agents have room: the state a replica leaves when it dies
	// between committing a presence change and draining (DrainAll sweeps it up later). A new ticket for
	// orders then queues behind it rather than going straight to an agent.
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	require.NoError(t, pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		return store.Wrap(tx).SaveTicket(ctx, store.TicketRow{ID: uuid.New(), GroupID: w.groups["orders"], State: store.StateQueued,
			Priority: 1, Facts: routing.Facts{Type: "inquiry"}, Seq: 1, EnqueuedAt: now, CreatedAt: now, UpdatedAt: now})
	}))
	return w
}

// step is a ticket event or, when agent is set, that agent's presence changing without a drain after it:
// what a replica that died between committing the change and draining leaves, so a group has a queue while
// one of its agents has room, until the next decision in the group drains it.
type step struct {
	ev     app.TicketEvent
	agent  uuid.UUID
	online bool
}

// scenario is a stream of ticket events as the consumer would see it: tickets created over time, routing's
// assignments coming back, resolves that free agents (and drain queues), reclassifications, escalations,
// L1 complaints and incident tickets, each ticket's events in order; and agents going offline and online.
func (w *world) scenario(seed uint64, tickets int) []step {
	rng := rand.New(rand.NewPCG(seed, 1))
	type timed struct {
		at int
		step
	}
	var all []timed
	toggled := []string{"shared", "o1", "r1", "v2"}
	for at := 10; at < 3*tickets; at += 10 + rng.IntN(20) {
		all = append(all, timed{at, step{agent: w.agents[toggled[rng.IntN(len(toggled))]], online: rng.IntN(2) == 0}})
	}
	channels := []string{"web_chat", "phone", "app", "email"}
	for i := range tickets {
		id := uuid.New()
		f := routing.Facts{Type: "inquiry", Channel: channels[rng.IntN(len(channels))], Subcategory: "order_status"}
		switch rng.IntN(8) {
		case 0:
			f.Subcategory = "refund"
		case 1:
			f.Type, f.Level = routing.TypeComplaint, routing.LevelL1
		case 2:
			f.Type, f.Level = routing.TypeComplaint, "l2"
		}
		created := app.TicketEvent{Kind: app.EventCreated, TicketID: id, Seq: 1, Facts: f, Priority: 1 + rng.IntN(4)}
		switch rng.IntN(12) {
		case 0:
			created.IncidentGroupID = w.groups["emergency"]
		case 1:
			created.IncidentGroupID = uuid.New() // a team routing does not know: the rules decide
		}
		at := 3*i + rng.IntN(3)
		all = append(all, timed{at, step{ev: created}})
		seq := int64(1)
		next := func(kind app.EventKind, after int) app.TicketEvent {
			seq++
			at += after
			return app.TicketEvent{Kind: kind, TicketID: id, Seq: seq}
		}
		echo := next(app.EventAssigned, 1+rng.IntN(6))
		echo.ByRouting = true
		all = append(all, timed{at, step{ev: echo}})
		if rng.IntN(6) == 0 {
			up := next(app.EventUpdated, 1+rng.IntN(10))
			up.Facts, up.Priority = routing.Facts{Type: "inquiry", Subcategory: "refund"}, 2
			all = append(all, timed{at, step{ev: up}})
		}
		if rng.IntN(10) == 0 {
			all = append(all, timed{at, step{ev: next(app.EventEscalated, 1+rng.IntN(10))}})
		}
		if rng.IntN(3) > 0 {
			all = append(all, timed{at, step{ev: next(app.EventResolved, 2+rng.IntN(40))}})
		}
	}
	slices.SortStableFunc(all, func(a, b timed) int { return a.at - b.at })
	out := make([]step, len(all))
	for i, t := range all {
		out[i] = t.step
	}
	return out
}

// outcome applies the steps in one transaction: the events in batches of size, each one HandleTicketEvents
// call (a presence change ends a batch), or, with size 0, each event in one HandleTicketEvent call (the
// engine without the set-wise steps). It reads what routing decided and rolls back, so every run starts
// from the same world.
func (w *world) outcome(t *testing.T, steps []step, size int) string {
	t.Helper()
	ctx := t.Context()
	var lines []string
	err := pgx.BeginFunc(ctx, w.db.Pool, func(tx pgx.Tx) error {
		var batch []app.TicketEvent
		apply := func() error {
			defer func() { batch = nil }()
			if size == 0 {
				for _, ev := range batch {
					if err := w.app.HandleTicketEvent(ctx, store.Wrap(tx), ev); err != nil {
						return err
					}
				}
				return nil
			}
			if len(batch) == 0 {
				return nil
			}
			return w.app.HandleTicketEvents(ctx, store.Wrap(tx), batch)
		}
		for _, s := range steps {
			if s.agent == uuid.Nil {
				if batch = append(batch, s.ev); len(batch) >= size && size > 0 {
					if err := apply(); err != nil {
						return err
					}
				}
				continue
			}
			if err := apply(); err != nil {
				return err
			}
			presence := routing.PresenceOffline
			if s.online {
				presence = routing.PresenceOnline
			}
			if _, err := tx.Exec(ctx, `UPDATE agents SET presence = $2 WHERE id = $1`, s.agent, string(presence)); err != nil {
				return err
			}
		}
		if err := apply(); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT r.ticket_id, r.state, r.group_id, r.assignee_id, r.bypass, r.intake_assignee, r.seq,
				r.event_seq, r.priority, d.group_id, d.agent_id, d.unassign
			FROM routed_tickets r LEFT JOIN dispatches d USING (ticket_id) ORDER BY r.ticket_id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				id                                  uuid.UUID
				state                               string
				group, assignee, intake, dg, dagent *uuid.UUID
				bypass                              bool
				unassign                            *bool
				seq, eventSeq                       int64
				priority                            int
			)
			if err := rows.Scan(&id, &state, &group, &assignee, &bypass, &intake, &seq, &eventSeq, &priority, &dg, &dagent, &unassign); err != nil {
				return err
			}
			lines = append(lines, fmt.Sprintf("ticket %s: %s in %s to %s bypass=%v intake=%s seq=%d/%d p%d; dispatch %s/%s unassign=%v",
				id, state, w.name(group), w.name(assignee), bypass, w.name(intake), seq, eventSeq, priority, w.name(dg), w.name(dagent),
				unassign != nil && *unassign))
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT subject, count(*) FROM outbox GROUP BY subject ORDER BY subject`)
		if err != nil {
			return err
		}
		counts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
			var (
				s string
				n int
			)
			err := r.Scan(&s, &n)
			return fmt.Sprintf("events %s: %d", s, n), err
		})
		lines = append(lines, counts...)
		return pgx.ErrTxClosed // roll back: the next run starts from the same world
	})
	require.ErrorIs(t, err, pgx.ErrTxClosed)
	return strings.Join(lines, "\n")
}

func (w *world) name(id *uuid.UUID) string {
	if id == nil {
		return "-"
	}
	if n, ok := w.names[*id]; ok {
		return n
	}
	return id.String()[:8]
}

// TestABatchDecidesAsItsEventsOneByOne: HandleTicketEvents places a batch's new tickets set-wise and
// records routing's own assignments in one step; whatever the batches, every ticket ends in the same state,
// group and agent, with the same dispatch and the same events, as applying the events one at a time. The
// scenario has queues (more tickets than capacity), agents in two groups, round robin, skills, L1 bypasses,
// incident teams, reclassifications, escalations, resolves that drain queues, and agents coming online
// without a drain (a group with a queue and an agent with room).
func TestABatchDecidesAsItsEventsOneByOne(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, seed := range []uint64{1, 2, 3} {
		steps := w.scenario(seed, 120)
		want := w.outcome(t, steps, 0)
		require.Contains(t, want, "queued", "seed %d: the scenario must leave tickets queued", seed)
		require.Contains(t, want, "bypass=true", "seed %d: the scenario must bypass", seed)
		for _, size := range []int{len(steps), 128, 17, 5, 1} {
			if diff := diffLines(want, w.outcome(t, steps, size)); diff != "" {
				t.Fatalf("seed %d, batches of %d: one at a time (-) and in batches (+) differ:\n%s", seed, size, diff)
			}
		}
	}
}

// diffLines returns the lines of want and got that differ, position by position.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out []string
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			out = append(out, "- "+a, "+ "+b)
		}
	}
	return strings.Join(out, "\n")
}
