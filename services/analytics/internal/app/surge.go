package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/analytics/internal/domain/surge"
	"kefu.dev/services/analytics/internal/store"
)

// surgeSource names the service in the meta of the surge events.
const surgeSource = "analytics"

// Notifier wakes the outbox relay after a commit with events.
type Notifier interface{ Notify() }

// SurgeConfig tunes volume-surge detection (see surge.Config).
type SurgeConfig struct {
	// Factor: an hour is over when its tickets exceed Factor × its baseline and MinTickets.
	Factor     float64
	MinTickets int64
	// BaselineWeeks is how many previous weeks the baseline averages.
	BaselineWeeks int
}

// SurgeDetector evaluates volume surges on the app's rollups and announces them through the outbox.
type SurgeDetector struct {
	app    *App
	rule   surge.Config
	notify Notifier
}

// Surges returns the app's surge detector; notify is woken after an evaluation wrote events.
func (a *App) Surges(cfg SurgeConfig, notify Notifier) *SurgeDetector {
	return &SurgeDetector{app: a, notify: notify,
		rule: surge.Config{Factor: cfg.Factor, MinTickets: cfg.MinTickets, BaselineWeeks: cfg.BaselineWeeks}}
}

// Run evaluates (Detect) at once and then every interval until ctx ends. An evaluation that fails is logged
// and the next one runs as planned: a lost evaluation delays a surge by one interval, nothing more.
func (d *SurgeDetector) Run(ctx context.Context, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if err := d.Detect(ctx); err != nil && ctx.Err() == nil {
			d.app.log.ErrorContext(ctx, "surge evaluation failed", logging.KeyError, err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// SurgeMaxLag is how far behind the stream ingestion may be for an evaluation to run: the age of the
// oldest event not yet ingested. Rollups that lag (a replay after a rebuild, a consumer that fell behind)
// under-count the current and previous hours, and would clear active surges that are not over.
const SurgeMaxLag = 2 * time.Minute

// Detect runs one evaluation at the clock's now, unless ingestion is behind (SurgeMaxLag; skipped, no
// error), in one transaction under the surge lock: for each dimension it reads the hours the rule needs,
// fires, follows and clears surges, and writes kefu.analytics.volume_surge (sequence 1 of the surge) and
// volume_surge_cleared (sequence 2) to the outbox with the rows that record them.
func (d *SurgeDetector) Detect(ctx context.Context) error {
	now := d.app.clock.Now().UTC()
	current, err := d.ingestionCurrent(ctx, now)
	if err != nil || !current {
		return err
	}
	var announced []surge.Change
	err = d.app.store.InSurgeTx(ctx, func(ctx context.Context, tx *store.SurgeTx) error {
		announced = announced[:0]
		active, err := tx.ActiveSurges(ctx)
		if err != nil {
			return err
		}
		for _, dim := range surge.Dimensions {
			counts, err := tx.Counts(ctx, dim, d.rule.Reads(dim, now, active))
			if err != nil {
				return err
			}
			for _, ch := range d.rule.Evaluate(dim, now, active, counts) {
				switch ch.Kind {
				case surge.Fired:
					if ch.Surge.ID, err = uuid.NewV7(); err != nil {
						return fmt.Errorf("new surge id: %w", err)
					}
					m, err := d.message(ctx, ch, now)
					if err != nil {
						return err
					}
					if err := tx.InsertSurge(ctx, ch.Surge, m); err != nil {
						return err
					}
					announced = append(announced, ch)
				case surge.Cleared:
					m, err := d.message(ctx, ch, now)
					if err != nil {
						return err
					}
					if err := tx.UpdateSurge(ctx, ch.Surge, m); err != nil {
						return err
					}
					announced = append(announced, ch)
				case surge.Updated:
					if err := tx.UpdateSurge(ctx, ch.Surge); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("evaluate surges: %w", err)
	}
	if len(announced) > 0 {
		d.notify.Notify()
	}
	for _, ch := range announced {
		s := ch.Surge
		if ch.Kind == surge.Fired {
			d.app.log.InfoContext(ctx, "volume surge", "surge_id", s.ID.String(), "dimension", string(s.Dimension),
				"value", s.Value, "tickets", s.Tickets, "baseline", s.Baseline, "since", s.Since)
		} else {
			d.app.log.InfoContext(ctx, "volume surge cleared", "surge_id", s.ID.String(), "dimension", string(s.Dimension),
				"value", s.Value, "since", s.Since, "until", s.Until, "peak_tickets", s.Peak)
		}
	}
	return nil
}

// ingestionCurrent reports whether the event consumer exists (it does not between a rebuild's reset and the
// next start) and its oldest event not yet ingested, if any, is at most SurgeMaxLag old.
func (d *SurgeDetector) ingestionCurrent(ctx context.Context, now time.Time) (bool, error) {
	cons, err := d.app.js.Consumer(ctx, events.StreamName, d.app.durable)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read consumer %s: %w", d.app.durable, err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return false, fmt.Errorf("read consumer %s: %w", d.app.durable, err)
	}
	if info.NumPending+uint64(info.NumAckPending) == 0 {
		return true, nil
	}
	stream, err := d.app.js.Stream(ctx, events.StreamName)
	if err != nil {
		return false, fmt.Errorf("read stream: %w", err)
	}
	m, err := stream.GetMsg(ctx, info.AckFloor.Stream+1)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return true, nil // acknowledged meanwhile (or deleted by the stream's limits)
	}
	if err != nil {
		return false, fmt.Errorf("read the oldest event not ingested: %w", err)
	}
	return now.Sub(m.Time) <= SurgeMaxLag, nil
}

// SurgeDimensionProto is d as the events' and the API's enum.
func SurgeDimensionProto(d surge.Dimension) eventsv1.SurgeDimension {
	return protocode.Enum[eventsv1.SurgeDimension]("SURGE_DIMENSION_", string(d))
}

// message is the event announcing ch: volume_surge (the surge's first event) or volume_surge_cleared (its
// second).
func (d *SurgeDetector) message(ctx context.Context, ch surge.Change, now time.Time) (outbox.Message, error) {
	s := ch.Surge
	id, err := uuid.NewV7()
	if err != nil {
		return outbox.Message{}, fmt.Errorf("new event id: %w", err)
	}
	meta := &eventsv1.EventMeta{EventId: id.String(), Source: surgeSource, AggregateId: s.ID.String(),
		OccurredAt: timestamppb.New(now), Actor: outbox.ActorOf(ctx, surgeSource)}
	var subject string
	var body proto.Message
	switch ch.Kind {
	case surge.Fired:
		subject, meta.AggregateSeq = events.Subject("analytics", "volume_surge"), 1
		body = &eventsv1.VolumeSurge{SurgeId: s.ID.String(), Dimension: SurgeDimensionProto(s.Dimension), Value: s.Value,
			Tickets: s.Tickets, Baseline: s.Baseline, Ratio: s.Ratio(), Factor: s.Factor, Since: timestamppb.New(s.Since)}
	case surge.Cleared:
		subject, meta.AggregateSeq = events.Subject("analytics", "volume_surge_cleared"), 2
		body = &eventsv1.VolumeSurgeCleared{SurgeId: s.ID.String(), Dimension: SurgeDimensionProto(s.Dimension), Value: s.Value,
			Since: timestamppb.New(s.Since), Until: timestamppb.New(s.Until), PeakTickets: s.Peak}
	default:
		return outbox.Message{}, fmt.Errorf("surge change %d has no event", ch.Kind)
	}
	return outbox.NewEvent(subject, body, meta)
}

// DefaultSurgeLimit and MaxSurgeLimit bound ListSurges.
const (
	DefaultSurgeLimit = 50
	MaxSurgeLimit     = 500
)

// ListSurges returns at most limit surges (0: DefaultSurgeLimit; above MaxSurgeLimit: that), the active
// ones first, then by start, newest first; with activeOnly only the active ones.
func (a *App) ListSurges(ctx context.Context, activeOnly bool, limit int) ([]surge.Surge, error) {
	if limit <= 0 {
		limit = DefaultSurgeLimit
	}
	limit = min(limit, MaxSurgeLimit)
	return a.store.ListSurges(ctx, activeOnly, limit)
}
