// Package app holds intake's use cases, one method per RPC: it reads the caller from the context, loads
// what the domain needs, calls the domain, turns the domain's events into kefu.events.v1 messages for the
// outbox, and saves everything through the store in one transaction. After a commit it wakes the outbox
// relay, so events leave at once.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/topics"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/store"
)

// Config holds the app's policy settings.
type Config struct {
	// Source names the service in event metadata.
	Source string
	// MaxSkew is how far in the future an adapter's received time may lie.
	MaxSkew time.Duration
	// AutoCloseAfter is how long a resolved ticket waits before it closes by itself.
	AutoCloseAfter time.Duration
	// BusinessZone is the time zone of ticket numbers' dates.
	BusinessZone *time.Location
	// PolicyTTL bounds how stale the cached taxonomy and rules may be when another replica changed them;
	// this replica's own changes apply at once.
	PolicyTTL time.Duration
	// SweepBatch is how many due tickets one auto-close transaction closes.
	SweepBatch int
	// IdempotencyTTL is how long idempotency keys and request ids are kept (at least 24 h).
	IdempotencyTTL time.Duration
}

// Notifier is woken after a commit that wrote outbox rows (the outbox relay).
type Notifier interface {
	Notify()
}

// AgentDirectory says whether an agent can still take work; Reopen returns a ticket to its agent only
// then. Routing provides the real directory (issue 6).
type AgentDirectory interface {
	Active(ctx context.Context, agentID uuid.UUID) (bool, error)
}

// EveryAgentActive is the directory used until routing exists: every agent is active.
type EveryAgentActive struct{}

// Active reports true.
func (EveryAgentActive) Active(context.Context, uuid.UUID) (bool, error) { return true, nil }

// App runs intake's use cases.
type App struct {
	store     *store.Store
	clock     clock.Clock
	notify    Notifier
	agents    AgentDirectory
	customers CustomerDirectory // nil: no customer service
	cfg       Config
	log       *slog.Logger
	policy    *policyCache
	// lexicon finds the complaint topics kefu.ticket.created carries (ids only, never the words).
	lexicon *topics.Lexicon
}

// New returns the app. notify, agents and customers may be nil (no relay to wake; every agent active; no
// customer service, so submits keep the customer id the adapter gave).
func New(st *store.Store, clk clock.Clock, notify Notifier, agents AgentDirectory, customers CustomerDirectory,
	cfg Config, log *slog.Logger) *App {
	if notify == nil {
		notify = nopNotifier{}
	}
	if agents == nil {
		agents = EveryAgentActive{}
	}
	if cfg.Source == "" {
		cfg.Source = "intake"
	}
	if cfg.BusinessZone == nil {
		cfg.BusinessZone = time.UTC
	}
	if cfg.SweepBatch <= 0 {
		cfg.SweepBatch = 100
	}
	if cfg.IdempotencyTTL < 24*time.Hour {
		cfg.IdempotencyTTL = 24 * time.Hour
	}
	a := &App{store: st, clock: clk, notify: notify, agents: agents, customers: customers, cfg: cfg, log: log,
		lexicon: topics.Default()}
	a.policy = newPolicyCache(st, clk, cfg.PolicyTTL)
	return a
}

type nopNotifier struct{}

func (nopNotifier) Notify() {}

// now is the clock's time at Postgres's precision, so a value written and read back compares equal (the
// etag, list cursors and tests rely on it).
func (a *App) now() time.Time { return a.clock.Now().UTC().Truncate(time.Microsecond) }

// caller returns the request's principal and the actor it becomes in the timeline and events.
func caller(ctx context.Context) (auth.Principal, ticket.Actor, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.IsZero() {
		return auth.Principal{}, ticket.Actor{}, apierr.New(apierr.KindUnauthenticated, "PRINCIPAL_MISSING", "no principal")
	}
	if u := p.OnBehalfOf; u != nil {
		// A service acting for a staff member (verified from their forwarded token): the work is theirs.
		return p, ticket.Actor{Kind: u.Kind, ID: u.ID}, nil
	}
	return p, ticket.Actor{Kind: p.Kind, ID: p.ID}, nil
}

// newID returns a UUIDv7. uuid.NewV7 fails only if the system's random source does.
func newID() (uuid.UUID, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, fmt.Errorf("new id: %w", err)
	}
	return id, nil
}

// Request carries what makes a per-ticket call safe to retry: the client's request id (optional for
// transitions, required for message-adding calls) and the fingerprint of the request without it.
type Request struct {
	ID          string
	Fingerprint []byte
}

// ErrEtagMismatch is wrapped by the Aborted error of a stale etag.
var ErrEtagMismatch = errors.New("etag mismatch")
