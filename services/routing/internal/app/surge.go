package app

import (
	"context"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/durationpb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/services/routing/internal/domain/routing"
	"kefu.dev/services/routing/internal/store"
)

// surge advances group g's surge state from its queue now (the caller holds g's lock) and publishes
// kefu.routing.surge_started (with a notification of the head) or surge_ended when it moves.
func (e *engine) surge(ctx context.Context, g routing.Group) error {
	if !g.Surge.Enabled() && !g.SurgeState.InSurge {
		return nil
	}
	depth, oldestAt, err := e.tx.QueueStats(ctx, g.ID)
	if err != nil {
		return err
	}
	var oldest time.Duration
	if !oldestAt.IsZero() {
		oldest = max(e.now.Sub(oldestAt), 0)
	}
	next, started, ended := g.Surge.Step(g.SurgeState, depth, oldest, e.now)
	if next == g.SurgeState {
		return nil
	}
	seq, err := e.tx.SaveSurgeState(ctx, g.ID, next, started || ended)
	if err != nil {
		return err
	}
	switch {
	case started:
		e.a.log.InfoContext(ctx, "group in surge: new tickets go to its overflow group", "group", g.Code, "depth", depth,
			"oldest_wait", oldest)
		if err := e.event(g.ID, seq, "surge_started", &eventsv1.RoutingSurgeStarted{GroupId: g.ID.String(),
			OverflowGroupId: g.Surge.OverflowGroupID.String(), Depth: int32(depth), OldestWait: durationpb.New(oldest)}); err != nil {
			return err
		}
		return e.notifyHead(ctx, g.ID, uuid.Nil, eventsv1.NotificationReason_NOTIFICATION_REASON_SURGE)
	case ended:
		e.a.log.InfoContext(ctx, "group back to normal", "group", g.Code, "depth", depth)
		return e.event(g.ID, seq, "surge_ended", &eventsv1.RoutingSurgeEnded{GroupId: g.ID.String(), Depth: int32(depth),
			Duration: durationpb.New(max(e.now.Sub(g.SurgeState.StartedAt), 0))})
	}
	return nil
}

// CheckSurges advances every group with a surge policy (or in surge) by its queue now: a surge also starts
// by waiting alone, and ends only after a calm period, neither of which any ticket event marks.
func (a *App) CheckSurges(ctx context.Context) error {
	ids, err := a.store.SurgeGroups(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := a.store.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
			e := engine{a: a, tx: tx, now: a.now()}
			groups, err := tx.LockGroups(ctx, []uuid.UUID{id})
			if err != nil {
				return err
			}
			g, ok := groups[id]
			if !ok {
				return nil
			}
			if err := e.surge(ctx, g); err != nil {
				return err
			}
			return e.flush(ctx)
		})
		if err != nil {
			return err
		}
	}
	a.notify.Notify()
	return nil
}
