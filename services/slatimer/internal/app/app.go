// Package app is the SLA-timer service's use cases: it applies ticket events to each ticket's clocks, fires
// due warnings and breaches, and serves the admin API and the queries. Each change and the kefu.sla.*
// events it causes commit in one transaction (the transactional outbox).
package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/services/slatimer/internal/domain/calendar"
	"kefu.dev/services/slatimer/internal/domain/sla"
	"kefu.dev/services/slatimer/internal/store"
)

// Notifier wakes the outbox relay after a commit with events.
type Notifier interface{ Notify() }

// Config tunes the app.
type Config struct {
	// Source names the service in events' meta; default "slatimer".
	Source string
	// LateAfter marks a warning or breach late when it fires more than this past its instant.
	LateAfter time.Duration
	// FireBatch is how many due tickets one timer transaction claims.
	FireBatch int
}

func (c Config) withDefaults() Config {
	if c.Source == "" {
		c.Source = "slatimer"
	}
	if c.LateAfter <= 0 {
		c.LateAfter = 2 * time.Second
	}
	if c.FireBatch <= 0 {
		c.FireBatch = 500
	}
	return c
}

// App is the service's application layer.
type App struct {
	store  *store.Store
	clock  clock.Clock
	notify Notifier
	cfg    Config
	log    *slog.Logger

	envMu     sync.Mutex
	envCached *environment
	// wake tells the timer loop a clock of this replica's may now be due earlier than it planned.
	wake   chan struct{}
	meters meters
}

// New returns the app.
func New(st *store.Store, clk clock.Clock, notify Notifier, cfg Config, log *slog.Logger) *App {
	return &App{store: st, clock: clk, notify: notify, cfg: cfg.withDefaults(), log: log, wake: make(chan struct{}, 1),
		meters: newMeters(st)}
}

func (a *App) now() time.Time { return a.clock.Now().UTC() }

// environment is the policies and calendars as last read.
type environment struct {
	sla.Env
	calendars map[string]sla.NamedCalendar
	// stamp identifies the rows read (store.EnvStamp).
	stamp string
}

// envSource reads the policies and calendars: the store, or a transaction (store.Tx) that must not take a
// second connection from the pool.
type envSource interface {
	EnvStamp(ctx context.Context) (string, error)
	Policies(ctx context.Context) ([]sla.Policy, error)
	Calendars(ctx context.Context) ([]sla.NamedCalendar, error)
}

// env returns the policies and calendars. It asks the database for their stamp each time (one small query)
// and re-reads them only when it changed, so a change made through any replica applies to the next event.
func (a *App) env(ctx context.Context) (*environment, error) { return a.envFrom(ctx, a.store) }

// envFrom is env read through src.
func (a *App) envFrom(ctx context.Context, src envSource) (*environment, error) {
	stamp, err := src.EnvStamp(ctx)
	if err != nil {
		return nil, err
	}
	a.envMu.Lock()
	defer a.envMu.Unlock()
	if e := a.envCached; e != nil && e.stamp == stamp {
		return e, nil
	}
	policies, err := src.Policies(ctx)
	if err != nil {
		return nil, err
	}
	cals, err := src.Calendars(ctx)
	if err != nil {
		return nil, err
	}
	e := &environment{calendars: map[string]sla.NamedCalendar{}, stamp: stamp}
	for _, c := range cals {
		e.calendars[c.Code] = c
	}
	e.Env = sla.Env{Policies: policies, Calendars: func(code string) (calendar.Calendar, bool) {
		c, ok := e.calendars[code]
		return c.Calendar, ok
	}}
	a.envCached = e
	return e, nil
}

// dropEnv forgets the cached policies and calendars.
func (a *App) dropEnv() {
	a.envMu.Lock()
	a.envCached = nil
	a.envMu.Unlock()
}

// Seed inserts the default calendars and policies that are missing.
func (a *App) Seed(ctx context.Context) error {
	cals, err := sla.DefaultCalendars()
	if err != nil {
		return err
	}
	return a.store.Seed(ctx, a.now(), cals, sla.DefaultPolicies())
}

// wakeRelay wakes the outbox relay after a change committed (err is nil) with events.
func (a *App) wakeRelay(err error) {
	if err == nil {
		a.notify.Notify()
	}
}

// wakeTimers tells the timer loop to look again.
func (a *App) wakeTimers() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Request is the idempotency identity of a create.
type Request struct {
	ID          string
	Fingerprint []byte
}

// claim is the idempotency claim of req for a create of kind.
func claim(ctx context.Context, req Request, kind string) idempotency.Claim {
	who, _ := auth.FromContext(ctx)
	return idempotency.Claim{Principal: who.String(), Scope: kind, Key: req.ID, Fingerprint: req.Fingerprint}
}

func newID() (uuid.UUID, error) { return uuid.NewV7() }
