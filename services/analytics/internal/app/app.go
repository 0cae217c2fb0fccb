// Package app is the analytics service's use cases: it folds batches of events into the ticket
// projection and the rollups, and answers the reports from the rollups.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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

// Ingest folds a batch's ticket events into the projection and the rollups inside tx; delivered counts
// every event of the batch, ticket events or not.
func (a *App) Ingest(ctx context.Context, tx *store.Tx, evs []TicketEvent, delivered int) error {
	ids := make([]uuid.UUID, 0, len(evs))
	for _, e := range evs {
		ids = append(ids, e.TicketID)
	}
	slices.SortFunc(ids, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
	ids = slices.Compact(ids)
	before, err := tx.LockTickets(ctx, ids)
	if err != nil {
		return err
	}
	after := make(map[uuid.UUID]facts.Ticket, len(ids))
	for _, e := range evs {
		t, ok := after[e.TicketID]
		if !ok {
			t = before[e.TicketID].Clone()
			t.ID = e.TicketID
		}
		t.Apply(e.Event)
		after[e.TicketID] = t
	}
	d := facts.NewDelta()
	changed := make([]facts.Ticket, 0, len(after))
	for _, id := range ids {
		d.Change(before[id], after[id])
		changed = append(changed, after[id])
	}
	d.Expand(a.store.Zone())
	return tx.Ingest(ctx, changed, d, delivered, a.clock.Now())
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

// MaxRange bounds a report's range.
const MaxRange = 400 * 24 * time.Hour

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
