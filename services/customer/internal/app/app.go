// Package app holds the customer service's use cases: it loads records from the store, opens their sealed
// fields, applies the domain's rules, seals them again and saves them with their kefu.customer.* events in
// one transaction. It is the only layer that sees personal data in plaintext, and every record it returns
// is masked unless the use case is an audited reveal or export.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/outbox"
	"kefu.dev/services/customer/internal/domain/customer"
	"kefu.dev/services/customer/internal/seal"
	"kefu.dev/services/customer/internal/store"
)

// Notifier wakes the outbox relay after a commit.
type Notifier interface{ Notify() }

// Config holds the app's settings.
type Config struct {
	// Source names the service in events' meta.
	Source string
	// VerifyWindow and VerifyMaxAttempts bound VerifyIdentity per customer (or unknown contact).
	VerifyWindow      time.Duration
	VerifyMaxAttempts int
}

// App runs the use cases.
type App struct {
	store  *store.Store
	clock  clock.Clock
	notify Notifier
	codec  codec
	rand   io.Reader
	cfg    Config
	log    *slog.Logger
}

// New returns an App. keys seals personal data; index makes the blind indexes.
func New(st *store.Store, clk clock.Clock, notify Notifier, keys *seal.Keyring, index *seal.Indexer, cfg Config, log *slog.Logger) *App {
	if cfg.Source == "" {
		cfg.Source = "customer"
	}
	if cfg.VerifyWindow <= 0 {
		cfg.VerifyWindow = 15 * time.Minute
	}
	if cfg.VerifyMaxAttempts <= 0 {
		cfg.VerifyMaxAttempts = 5
	}
	return &App{store: st, clock: clk, notify: notify, codec: codec{keys: keys, index: index}, rand: rand.Reader, cfg: cfg, log: log}
}

// now is the clock's time at Postgres's precision, so values read back compare equal.
func (a *App) now() time.Time { return a.clock.Now().UTC().Truncate(time.Microsecond) }

func newID() (uuid.UUID, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, fmt.Errorf("new id: %w", err)
	}
	return id, nil
}

func (a *App) newDataKey() (seal.DataKey, error) { return seal.NewDataKey(a.rand) }

// caller returns the request's principal and the actor it becomes in events.
func caller(ctx context.Context) (auth.Principal, *intakev1.Actor, error) {
	p, ok := auth.FromContext(ctx)
	if !ok || p.IsZero() {
		return auth.Principal{}, nil, apierr.New(apierr.KindUnauthenticated, "PRINCIPAL_MISSING", "no principal")
	}
	who := p
	if p.OnBehalfOf != nil {
		who = *p.OnBehalfOf
	}
	kind := intakev1.ActorKind_ACTOR_KIND_SERVICE
	switch who.Kind {
	case "adapter":
		kind = intakev1.ActorKind_ACTOR_KIND_ADAPTER
	case "staff":
		kind = intakev1.ActorKind_ACTOR_KIND_STAFF
	}
	return p, &intakev1.Actor{Kind: kind, Id: who.ID}, nil
}

// Etag renders a record's etag: its version, which every change increments.
func Etag(c *customer.Customer) string { return strconv.FormatInt(c.Version, 10) }

// ErrEtagMismatch is wrapped by the Aborted error of a stale etag.
var ErrEtagMismatch = errors.New("etag mismatch")

// checkEtag accepts the etag with or without HTTP quoting (and a weak W/ prefix); empty skips the check
// where the API makes it optional.
func checkEtag(given string, c *customer.Customer, required bool) error {
	g := strings.Trim(strings.TrimPrefix(given, "W/"), `"`)
	if g == "" && !required {
		return nil
	}
	if g != Etag(c) {
		return apierr.New(apierr.KindAborted, "ETAG_MISMATCH", "the customer changed since it was read: read it again and retry").
			WithMeta("current_etag", Etag(c)).WithCause(ErrEtagMismatch)
	}
	return nil
}

// change is one record's change: the event it publishes.
type change struct {
	c     *customer.Customer
	event string        // kefu.customer.<event>
	body  proto.Message // the event message (meta is set here)
}

// message bumps c's version (the aggregate sequence) and builds the change's event.
func (a *App) message(ch change, actor *intakev1.Actor, now time.Time) (outbox.Message, error) {
	ch.c.Version++
	ch.c.UpdatedAt = now
	id, err := newID()
	if err != nil {
		return outbox.Message{}, err
	}
	meta := &eventsv1.EventMeta{EventId: id.String(), Source: a.cfg.Source, AggregateId: ch.c.ID.String(),
		AggregateSeq: ch.c.Version, OccurredAt: timestamppb.New(now), Actor: actor}
	return outbox.NewEvent(events.Subject("customer", ch.event), ch.body, meta)
}

// decodeAll opens rows.
func (a *App) decodeAll(rows []*store.Row) ([]*customer.Customer, error) {
	out := make([]*customer.Customer, len(rows))
	for i, r := range rows {
		c, err := a.codec.decode(r)
		if err != nil {
			return nil, err
		}
		out[i] = c
	}
	return out, nil
}

// update locks the records with ids, opens them, runs fn and saves the records fn changed (those with an
// event) with their events. fn returns nil changes when nothing changed (a no-op writes nothing).
func (a *App) update(ctx context.Context, ids []uuid.UUID, fn func(cs []*customer.Customer, now time.Time) ([]change, error)) ([]*customer.Customer, error) {
	_, actor, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var out []*customer.Customer
	var published bool
	err = a.store.Update(ctx, ids, func(rows []*store.Row) ([]outbox.Message, error) {
		out, published = nil, false
		cs, err := a.decodeAll(rows)
		if err != nil {
			return nil, err
		}
		now := a.now()
		changes, err := fn(cs, now)
		if err != nil {
			return nil, err
		}
		var msgs []outbox.Message
		for _, ch := range changes {
			m, err := a.message(ch, actor, now)
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, m)
			for i, c := range cs {
				if c == ch.c {
					nr, err := a.codec.encode(c, rows[i].DataKey, a.newDataKey)
					if err != nil {
						return nil, err
					}
					*rows[i] = *nr
				}
			}
		}
		out, published = cs, len(msgs) > 0
		return msgs, nil
	})
	if err != nil {
		return nil, err
	}
	if published {
		a.notify.Notify()
	}
	return out, nil
}

// get loads and opens one record.
func (a *App) get(ctx context.Context, id uuid.UUID) (*customer.Customer, error) {
	r, err := a.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return a.codec.decode(r)
}

// masked returns c's masked view.
func masked(c *customer.Customer) View {
	v, m := c.View(customer.Reveal{})
	return View{Customer: v, Masked: m}
}

// View is a record as a read returns it: masked unless revealed.
type View struct {
	customer.Customer
	Masked bool
}
