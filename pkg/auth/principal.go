// Package auth knows who is calling and what they may do. For now it carries the request's principal from
// gRPC metadata (or a configured default) into the context. It also holds, not yet used by any server: the
// suite's one RPC → permission table with the roles' grants (policy.go), the API keys' format and peppered
// hashes (apikey.go), the staff JWT verifier with its JWKS key cache (jwt.go, jwks.go) and the token-bucket
// arithmetic of the rate limits (bucket.go). The security issue (#4) wires authentication, enforcement of
// the table and object scopes into the servers.
package auth

import (
	"context"
	"fmt"
	"strings"
)

// Kinds of principal.
const (
	KindAdapter = "adapter" // a channel adapter
	KindStaff   = "staff"   // an agent, supervisor or admin
	KindService = "service" // another kefu service
	KindSystem  = "system"  // kefu itself (timers, sweepers)
)

// MetadataKey is the gRPC metadata key that names the principal as "<kind>:<id>". It is NOT authenticated
// yet (see the security issue); the gateway never forwards client-set metadata.
const MetadataKey = "kefu-principal"

// Principal is who makes a request.
type Principal struct {
	Kind string
	ID   string
}

// String renders "<kind>:<id>".
func (p Principal) String() string { return p.Kind + ":" + p.ID }

// IsZero reports whether p is unset.
func (p Principal) IsZero() bool { return p.Kind == "" && p.ID == "" }

// Parse reads "<kind>:<id>", with kind one of adapter, staff, service, system and an id of 1 to 128
// printable ASCII characters.
func Parse(s string) (Principal, error) {
	kind, id, ok := strings.Cut(s, ":")
	if !ok {
		return Principal{}, fmt.Errorf("principal %q: want <kind>:<id>", s)
	}
	switch kind {
	case KindAdapter, KindStaff, KindService, KindSystem:
	default:
		return Principal{}, fmt.Errorf("principal kind %q: want adapter, staff, service or system", kind)
	}
	if id == "" || len(id) > 128 {
		return Principal{}, fmt.Errorf("principal id: want 1 to 128 characters")
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return Principal{}, fmt.Errorf("principal id: printable ASCII only")
		}
	}
	return Principal{Kind: kind, ID: id}, nil
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
