// Package app is the knowledge base's use cases: writing, publishing and versioning articles, searching
// and suggesting them (planned by the search package over the store's term counts), recording their use on
// tickets, the report, canned responses, and the projection of tickets' subcategories from intake's
// events. It asks intake for tickets through Tickets and applies the caller's ticket scope to them.
package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/services/kb/internal/domain/article"
	"kefu.dev/services/kb/internal/store"
)

// Ticket is what kb reads of a ticket at intake.
type Ticket struct {
	ID, Number string
	// Subject and Description are the customer's words.
	Subject, Description string
	// Subcategory is the full code ("request.refund"), "" when unclassified.
	Subcategory string
	// GroupID, AssigneeID and the submitter decide whether a caller may see the ticket.
	GroupID, AssigneeID        string
	SubmitterKind, SubmitterID string
}

// Tickets reads tickets at intake.
type Tickets interface {
	Ticket(ctx context.Context, id string) (Ticket, error)
}

// ErrPeerNotFound is wrapped by a peer's answer that the thing asked for does not exist.
var ErrPeerNotFound = errors.New("not found at the peer")

// Config tunes the search.
type Config struct {
	// SearchBudget bounds the articles a query's rare terms may pick as candidates (the sum of the terms'
	// document frequencies; see search.MakePlan).
	SearchBudget int
	// HeadCap bounds the title and tag matches read for one query (those with every term first); HeadKeep
	// is how many of the best of them become candidates.
	HeadCap, HeadKeep int
	// DocumentCap bounds the candidates from the whole documents (it matters when every term is common
	// and candidates need them all).
	DocumentCap int
	// SuggestBoost is added to the rank of an article linked to the ticket's subcategory.
	SuggestBoost float64
}

// DefaultConfig returns the defaults measured in docs/benchmarks.md.
func DefaultConfig() Config {
	return Config{SearchBudget: 200, HeadCap: 500, HeadKeep: 50, DocumentCap: 150, SuggestBoost: 0.3}
}

// App runs the use cases.
type App struct {
	st      *store.Store
	clock   clock.Clock
	tickets Tickets
	cfg     Config
	log     *slog.Logger

	countMu  sync.Mutex
	count    int
	countAt  time.Time
	countTTL time.Duration
}

// New returns the app.
func New(st *store.Store, clk clock.Clock, tickets Tickets, cfg Config, log *slog.Logger) *App {
	return &App{st: st, clock: clk, tickets: tickets, cfg: cfg, log: log, countTTL: time.Minute}
}

// actorOf names the request's principal for the records it changes.
func actorOf(ctx context.Context) string {
	if p, ok := auth.FromContext(ctx); ok {
		if p.OnBehalfOf != nil {
			return p.OnBehalfOf.String()
		}
		return p.String()
	}
	return auth.KindSystem + ":kb"
}

// writer reports whether the caller may see and change every article (kb.write).
func writer(ctx context.Context) bool {
	p, ok := auth.FromContext(ctx)
	return ok && p.Can(auth.PermKbWrite)
}

// visible reports whether the caller may see a: readers see published articles only.
func visible(ctx context.Context, a *article.Article) bool {
	return a.Status == article.Published || writer(ctx)
}

// ticket reads a ticket at intake and applies the caller's ticket scope: outside it, or absent, the
// ticket is NotFound.
func (a *App) ticket(ctx context.Context, id uuid.UUID) (Ticket, error) {
	notFound := apierr.NotFound("kefu.intake.v1.Ticket", id.String())
	p, ok := auth.FromContext(ctx)
	if !ok {
		return Ticket{}, notFound
	}
	t, err := a.tickets.Ticket(ctx, id.String())
	if errors.Is(err, ErrPeerNotFound) {
		return Ticket{}, notFound.WithCause(err)
	}
	if err != nil {
		return Ticket{}, apierr.New(apierr.KindUnavailable, "INTAKE_UNAVAILABLE", "intake could not be asked for the ticket: retry").WithCause(err)
	}
	if !auth.ScopeOf(p).Admits(auth.ScopedTicket{GroupID: t.GroupID, AssigneeID: t.AssigneeID,
		SubmitterKind: t.SubmitterKind, SubmitterID: t.SubmitterID}) {
		return Ticket{}, notFound
	}
	return t, nil
}

// articleCount is the store's estimate of the number of articles, read at most once a countTTL.
func (a *App) articleCount(ctx context.Context) (int, error) {
	a.countMu.Lock()
	defer a.countMu.Unlock()
	now := a.clock.Now()
	if !a.countAt.IsZero() && now.Sub(a.countAt) < a.countTTL && now.After(a.countAt) {
		return a.count, nil
	}
	n, err := a.st.ArticleCount(ctx)
	if err != nil {
		return 0, err
	}
	a.count, a.countAt = n, now
	return n, nil
}
