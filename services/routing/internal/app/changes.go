package app

import (
	"context"
	"slices"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/routing/internal/domain/routing"
	"kefu.dev/services/routing/internal/store"
)

// Admin changes to agents and groups publish kefu.routing.agent_changed and kefu.routing.group_changed in
// the transaction that makes them, so services caching routing's view of staff (intake's memberships) drop
// their copy; the events carry ids, codes and numbers, never names.

// agentChanged returns the kefu.routing.agent_changed event of agent as saved (seq: their version).
func (a *App) agentChanged(ctx context.Context, ag routing.Agent, created bool) ([]outbox.Message, error) {
	groups := slices.Clone(ag.GroupIDs)
	slices.SortFunc(groups, func(x, y uuid.UUID) int { return slices.Compare(x[:], y[:]) })
	ids := make([]string, len(groups))
	for i, g := range groups {
		ids[i] = g.String()
	}
	m, err := a.newEvent(events.Subject("routing", "agent_changed"), ag.ID, ag.Version, ag.UpdatedAt, actorOf(ctx),
		&eventsv1.RoutingAgentChanged{AgentId: ag.ID.String(), GroupIds: ids,
			Seniority: protocode.Enum[routingv1.Seniority]("SENIORITY_", string(ag.Seniority)),
			Capacity:  int32(ag.Capacity),
			Presence:  protocode.Enum[routingv1.Presence]("PRESENCE_", string(ag.Presence)),
			Created:   created})
	return []outbox.Message{m}, err
}

// groupChanged returns the kefu.routing.group_changed event of a group's change from before (zero for a new
// group) to after.
func (a *App) groupChanged(ctx context.Context, before, after routing.Group, seq int64, created bool) ([]outbox.Message, error) {
	m, err := a.newEvent(events.Subject("routing", "group_changed"), after.ID, seq, after.UpdatedAt, actorOf(ctx),
		&eventsv1.RoutingGroupChanged{GroupId: after.ID.String(), HeadAgentId: idString(after.HeadAgentID),
			PreviousHeadAgentId: idString(before.HeadAgentID), Created: created})
	return []outbox.Message{m}, err
}

// agentEvents adapts agentChanged to the store's update callback.
func (a *App) agentEvents(ctx context.Context) func(before, after store.AgentView) ([]outbox.Message, error) {
	return func(_, after store.AgentView) ([]outbox.Message, error) {
		return a.agentChanged(ctx, after.Agent, false)
	}
}

// newEvent builds an outbox message of subject about aggregate.
func (a *App) newEvent(subject string, aggregate uuid.UUID, seq int64, at time.Time, actor *intakev1.Actor, body proto.Message) (outbox.Message, error) {
	id, err := newID()
	if err != nil {
		return outbox.Message{}, err
	}
	meta := &eventsv1.EventMeta{EventId: id.String(), Source: a.cfg.Source, AggregateId: aggregate.String(),
		AggregateSeq: seq, OccurredAt: timestamppb.New(at), Actor: actor}
	return outbox.NewEvent(subject, body, meta)
}

// systemActor is routing itself, the actor of the engine's events.
func (a *App) systemActor() *intakev1.Actor {
	return &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_SYSTEM, Id: a.cfg.Source}
}

// actorOf is the request's principal as an event's actor (routing itself when there is none).
func actorOf(ctx context.Context) *intakev1.Actor { return outbox.ActorOf(ctx, "routing") }
