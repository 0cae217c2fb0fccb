// Package auth knows who is calling and what they may do: the principals (channel adapters and services
// with API keys, staff with OIDC tokens), the authenticator that turns a request's credential into a
// principal, the suite's one RPC → permission table with the roles' grants, API keys' format and peppered
// hashes, the staff JWT verifier with its JWKS key cache, and the token-bucket arithmetic of rate limits.
// pkg/grpcx enforces it on every server; apikeys stores the keys.
package auth

import (
	"context"
	"slices"
)

// Kinds of principal.
const (
	KindAdapter = "adapter" // a channel adapter (API key)
	KindStaff   = "staff"   // an agent, supervisor, admin or auditor (OIDC token)
	KindService = "service" // another kefu service (API key)
	KindSystem  = "system"  // kefu itself (timers, sweepers); never from a request
)

// Principal is who makes a request, as authenticated.
type Principal struct {
	Kind string
	// ID names the principal in timelines, events and the audit log: an adapter's or service's name (all
	// its keys share it), or a staff member's token subject.
	ID string
	// Roles are what the credential grants (see policy.go); unknown roles grant nothing.
	Roles []string
	// Groups are the ids of the groups a staff member works in (an agent) or heads (a supervisor), from
	// the membership source.
	Groups []string
	// Channels are the channels an adapter key may submit for, by their lower snake names (web_chat).
	Channels []string
	// KeyID is the API key that authenticated the request; empty for staff.
	KeyID string
	// OnBehalfOf is the staff member a service calls for, verified from the token the service forwarded
	// (ForwardedAuthorizationKey); nil when the caller acts for itself. It attributes the work (timeline,
	// audit); the service's own roles and scope still decide what it may do.
	OnBehalfOf *Principal
}

// String renders "<kind>:<id>".
func (p Principal) String() string { return p.Kind + ":" + p.ID }

// IsZero reports whether p is unset.
func (p Principal) IsZero() bool { return p.Kind == "" && p.ID == "" }

// Has reports whether p holds role.
func (p Principal) Has(role string) bool { return slices.Contains(p.Roles, role) }

// Can reports whether p's roles grant perm.
func (p Principal) Can(perm Permission) bool { return Allows(p.Roles, perm) }

// MaySubmitOn reports whether p may submit tickets for channel (a lower snake name). Only adapters are
// restricted: their key lists the channels they speak for.
func (p Principal) MaySubmitOn(channel string) bool {
	return p.Kind != KindAdapter || slices.Contains(p.Channels, channel)
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal in ctx, if any.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// clone returns a copy of p that shares no slice with it, so a cached principal is never changed through
// one handed out.
func (p Principal) clone() Principal {
	p.Roles, p.Groups, p.Channels = slices.Clone(p.Roles), slices.Clone(p.Groups), slices.Clone(p.Channels)
	if p.OnBehalfOf != nil {
		u := p.OnBehalfOf.clone()
		p.OnBehalfOf = &u
	}
	return p
}
