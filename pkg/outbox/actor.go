package outbox

import (
	"context"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/auth"
)

// ActorOf is the request's principal as an event's actor; without one (an event handler, a timer) it is
// the service itself, named service.
func ActorOf(ctx context.Context, service string) *intakev1.Actor {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return &intakev1.Actor{Kind: intakev1.ActorKind_ACTOR_KIND_SYSTEM, Id: service}
	}
	kind := intakev1.ActorKind_ACTOR_KIND_SYSTEM
	switch p.Kind {
	case auth.KindStaff:
		kind = intakev1.ActorKind_ACTOR_KIND_STAFF
	case auth.KindAdapter:
		kind = intakev1.ActorKind_ACTOR_KIND_ADAPTER
	case auth.KindService:
		kind = intakev1.ActorKind_ACTOR_KIND_SERVICE
	}
	return &intakev1.Actor{Kind: kind, Id: p.ID}
}
