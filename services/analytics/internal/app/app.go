// Package app is the analytics service's use cases: it folds batches of events into the ticket
// projection and the rollups, and answers the reports from the rollups.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/topics"
	"kefu.dev/services/analytics/internal/domain/facts"
	"kefu.dev/services/analytics/internal/store"
)

// App is the service's application layer.
type App struct {
	store   *store.Store
	clock   clock.Clock
	js      jetstream.JetStream
	durable string
	log     *slog.Logger
	// lexicon labels the complaint topics events carry.
	lexicon *topics.Lexicon
	// inflight is what the batches being ingested will write (Ingest).
	inflight inflight
	// replans counts batches planned again because a ticket was not at the revision expected.
	replans atomic.Int64
}

// New returns the app; js and durable name the consumer whose lag GetIngestionStatus reports.
func New(st *store.Store, clk clock.Clock, js jetstream.JetStream, durable string, log *slog.Logger) *App {
	return &App{store: st, clock: clk, js: js, durable: durable, log: log, lexicon: topics.Default()}
}

// TicketEvent is one event about a ticket, as the projection reads it.
type TicketEvent struct {
	TicketID uuid.UUID
	facts.Event
}

// Ingest folds a batch's ticket events into the projection and the rollups inside tx, and counts as
// ingested the events it applied (a ticket event applied before, by its sequence, is not) and others
// more: the batch's events the projection does not read.
//
// Batches may be ingested concurrently (events.BatchConfig.Concurrency), and the work is split so that
// the next batch's planning overlaps this one's writing: a batch first plans without locks, on the states
// it expects (what the batches in flight in this process will write, else what is stored), then locks its
// tickets and checks their revisions. The plan stands if they are as expected; otherwise (a batch it
// planned on failed, or another replica wrote first) it is made again from the stored states, now locked.
// Either way every ticket's change is computed from its state as committed before it.
func (a *App) Ingest(ctx context.Context, tx *store.Tx, evs []TicketEvent, others int) error {
	ids := make([]uuid.UUID, 0, len(evs))
	for _, e := range evs {
		ids = append(ids, e.TicketID)
	}
	slices.SortFunc(ids, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
	ids = slices.Compact(ids)
	now := a.clock.Now()

	p, expected, token, err := a.planAndAnnounce(ctx, tx, ids, evs, others, now)
	if err != nil {
		return err
	}
	defer a.inflight.retract(token, ids)

	revs, err := tx.LockTickets(ctx, ids, now)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if revs[id] != expected[id].Rev {
			a.replans.Add(1)
			a.log.DebugContext(ctx, "a ticket was not at the revision expected; batch planned again", "tickets", len(ids))
			if p, err = a.replan(ctx, tx, ids, evs, others, now, token); err != nil {
				return err
			}
			break
		}
	}
	return tx.Write(ctx, p.write)
}

// planAndAnnounce plans a batch on the states its tickets are expected to have and announces the states
// it will write, for the next batch to plan on.
func (a *App) planAndAnnounce(ctx context.Context, tx *store.Tx, ids []uuid.UUID, evs []TicketEvent, others int,
	now time.Time) (plan, map[uuid.UUID]store.Stored, uint64, error) {
	a.inflight.mu.Lock()
	defer a.inflight.mu.Unlock()
	expected, err := a.inflight.expected(ctx, tx, ids)
	if err != nil {
		return plan{}, nil, 0, err
	}
	p, err := a.plan(ids, expected, evs, others, now)
	if err != nil {
		return plan{}, nil, 0, err
	}
	a.inflight.next++
	a.inflight.announce(a.inflight.next, p.after)
	return p, expected, a.inflight.next, nil
}

// replan plans a batch again on its tickets as stored (locked by now) and announces the new states in
// place of the old. It holds the planning lock throughout, so a batch that would otherwise plan on the
// withdrawn states waits for the new ones instead of having to plan again in its turn.
func (a *App) replan(ctx context.Context, tx *store.Tx, ids []uuid.UUID, evs []TicketEvent, others int, now time.Time,
	token uint64) (plan, error) {
	a.inflight.mu.Lock()
	defer a.inflight.mu.Unlock()
	stored, err := tx.ReadTickets(ctx, ids)
	if err != nil {
		return plan{}, err
	}
	p, err := a.plan(ids, stored, evs, others, now)
	if err != nil {
		return plan{}, err
	}
	a.inflight.announce(token, p.after)
	return p, nil
}

// plan is a batch's new ticket states and prepared writes.
type plan struct {
	after []store.Stored
	write *store.Write
}

// plan folds evs into the states before (a ticket absent never seen) and prepares the writes, which
// count others and the events applied as ingested.
func (a *App) plan(ids []uuid.UUID, before map[uuid.UUID]store.Stored, evs []TicketEvent, others int, now time.Time) (plan, error) {
	after := make(map[uuid.UUID]facts.Ticket, len(ids))
	changed := make(map[uuid.UUID]bool, len(ids))
	ingested := others
	for _, e := range evs {
		t, ok := after[e.TicketID]
		if !ok {
			t = before[e.TicketID].Ticket.Clone()
			t.ID = e.TicketID
		}
		if t.Apply(e.Event) {
			ingested++
			changed[e.TicketID] = true
		}
		after[e.TicketID] = t
	}
	d := facts.NewDelta()
	p := plan{after: make([]store.Stored, 0, len(ids))}
	for _, id := range ids {
		if !changed[id] {
			continue // every event of it applied before (redeliveries): nothing to write
		}
		d.Change(before[id].Ticket, after[id])
		p.after = append(p.after, store.Stored{Ticket: after[id], Rev: store.NewRev()})
	}
	d.Expand(a.store.Zone())
	var err error
	p.write, err = store.Prepare(p.after, d, ingested, now)
	return p, err
}

// inflight is what the batches being ingested by this process will write: the next batch plans on it.
type inflight struct {
	// mu is held while a batch plans, so that the next one plans on what it announced.
	mu      sync.Mutex
	tickets map[uuid.UUID]announced
	next    uint64
}

type announced struct {
	store.Stored
	// by is the announcing batch's token.
	by uint64
}

// expected returns the states ids are expected to have when locked: as the batches in flight will write
// them, else as stored now. The caller holds mu.
func (f *inflight) expected(ctx context.Context, tx *store.Tx, ids []uuid.UUID) (map[uuid.UUID]store.Stored, error) {
	out := make(map[uuid.UUID]store.Stored, len(ids))
	var unknown []uuid.UUID
	for _, id := range ids {
		if an, ok := f.tickets[id]; ok {
			out[id] = an.Stored
		} else {
			unknown = append(unknown, id)
		}
	}
	stored, err := tx.ReadTickets(ctx, unknown)
	if err != nil {
		return nil, err
	}
	maps.Copy(out, stored)
	return out, nil
}

// announce records the states batch token will write, replacing what it announced before but not what
// a later batch announced since. The caller holds mu.
func (f *inflight) announce(token uint64, after []store.Stored) {
	if f.tickets == nil {
		f.tickets = map[uuid.UUID]announced{}
	}
	for _, st := range after {
		if an, ok := f.tickets[st.ID]; !ok || an.by <= token {
			f.tickets[st.ID] = announced{st, token}
		}
	}
}

// retract forgets the states batch token announced for ids that no later batch has announced anew.
func (f *inflight) retract(token uint64, ids []uuid.UUID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range ids {
		if f.tickets[id].by == token {
			delete(f.tickets, id)
		}
	}
}

// Status is how far ingestion is.
type Status struct {
	store.Stats
	Behind       int64
	OldestBehind time.Duration
}

// IngestionStatus reads the consumer's lag from JetStream and the counters from Postgres.
func (a *App) IngestionStatus(ctx context.Context) (Status, error) {
	st, err := a.store.Stats(ctx)
	if err != nil {
		return Status{}, err
	}
	out := Status{Stats: st}
	cons, err := a.js.Consumer(ctx, events.StreamName, a.durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return out, nil // not started yet
	}
	if err != nil {
		return out, fmt.Errorf("read consumer %s: %w", a.durable, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return out, fmt.Errorf("read consumer %s: %w", a.durable, err)
	}
	out.Behind = int64(info.NumPending) + int64(info.NumAckPending)
	if out.Behind > 0 {
		stream, err := a.js.Stream(ctx, events.StreamName)
		if err != nil {
			return out, fmt.Errorf("read stream: %w", err)
		}
		if m, err := stream.GetMsg(ctx, info.AckFloor.Stream+1); err == nil {
			out.OldestBehind = max(a.clock.Now().Sub(m.Time), 0)
		}
	}
	return out, nil
}

// ReportQuery is a report's request as the app reads it.
type ReportQuery struct {
	store.Query
	// Dimension is the breakdown's name ("", "channel", "group", "type", "subcategory", "urgency", "level",
	// "agent").
	Dimension string
}

// MaxRange bounds a report's range, and MaxHourlyRange an hourly report's: 168 periods is as much as an
// hourly chart shows, and an hourly report filtered by group or subcategory, or per agent, reads the
// hourly rows of every dimension (facts.Family.DaySlots), whose count grows with the tickets.
const (
	MaxRange       = 400 * 24 * time.Hour
	MaxHourlyRange = 7 * 24 * time.Hour
)

// dimensionColumns maps a breakdown to its rollup column.
var dimensionColumns = map[string]string{"": "", "channel": "channel", "group": "group_id", "type": "type",
	"subcategory": "subcategory", "urgency": "urgency", "level": "level", "agent": "agent"}

// prepare validates q and fills its defaults (periods in the business zone).
func (a *App) prepare(q ReportQuery, agentAllowed bool) (store.Query, error) {
	out := q.Query
	switch {
	case out.Start.IsZero():
		return out, apierr.InvalidField("start_time", "is required")
	case out.End.IsZero():
		return out, apierr.InvalidField("end_time", "is required")
	case !out.End.After(out.Start):
		return out, apierr.InvalidField("end_time", "must be after start_time")
	case out.End.Sub(out.Start) > MaxRange:
		return out, apierr.InvalidField("end_time", "the range may span at most 400 days")
	}
	if out.Granularity == "" {
		out.Granularity = "day"
	}
	if out.Granularity == "hour" && out.End.Sub(out.Start) > MaxHourlyRange {
		return out, apierr.InvalidField("end_time", "by hour, the range may span at most 7 days")
	}
	if out.Zone == "" {
		out.Zone = a.Zone()
	}
	if _, err := time.LoadLocation(out.Zone); err != nil {
		return out, apierr.InvalidField("time_zone", fmt.Sprintf("unknown time zone %q", out.Zone))
	}
	col, ok := dimensionColumns[q.Dimension]
	if !ok || col == "agent" && !agentAllowed {
		return out, apierr.InvalidField("group_by", fmt.Sprintf("this report cannot be broken down by %s", q.Dimension))
	}
	out.GroupBy = col
	return out, nil
}

// Zone names the business zone: where periods are cut when a request names no zone.
func (a *App) Zone() string { return a.store.Zone().String() }
