package app

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/pkg/events"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/paging"
	"kefu.dev/pkg/webhook"
	"kefu.dev/services/notify/internal/domain/delivery"
	"kefu.dev/services/notify/internal/store"
)

// CreateWebhook subscribes a receiver and returns it with its new secret. claim makes the create
// idempotent: a repeat returns the first webhook, without its secret (shown once).
func (a *App) CreateWebhook(ctx context.Context, claim idempotency.Claim, w delivery.Webhook) (store.WebhookRow, error) {
	w, err := w.Normalize()
	if err != nil {
		return store.WebhookRow{}, err
	}
	secret, err := webhook.NewSecret(rand.Reader)
	if err != nil {
		return store.WebhookRow{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return store.WebhookRow{}, err
	}
	now := a.clock.Now()
	row := store.WebhookRow{ID: id, Webhook: w, Secret: secret, CreateActor: actorOf(ctx), CreatedAt: now, UpdatedAt: now}
	repeat := false
	err = a.st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		claim.ResourceID = id.String()
		got, err := claim.Claim(ctx, tx.Raw(), now)
		if err != nil {
			return err
		}
		if got != "" {
			repeat = true
			row.ID, err = uuid.Parse(got)
			return err
		}
		return tx.CreateWebhook(ctx, row)
	})
	if err != nil {
		return store.WebhookRow{}, err
	}
	if repeat {
		out, err := a.st.GetWebhook(ctx, row.ID)
		out.Secret = ""
		return out, err
	}
	return row, nil
}

// GetWebhook reads a subscription with its counts, without its secret.
func (a *App) GetWebhook(ctx context.Context, id uuid.UUID) (store.WebhookRow, error) {
	w, err := a.st.GetWebhook(ctx, id)
	w.Secret = ""
	return w, err
}

// ListWebhooks lists every subscription, without secrets.
func (a *App) ListWebhooks(ctx context.Context) ([]store.WebhookRow, error) {
	ws, err := a.st.ListWebhooks(ctx)
	for i := range ws {
		ws[i].Secret = ""
	}
	return ws, err
}

// UpdateWebhook replaces a subscription's settings. Resuming a paused one wakes the sender: its due
// deliveries go out at once.
func (a *App) UpdateWebhook(ctx context.Context, id uuid.UUID, w delivery.Webhook) (store.WebhookRow, error) {
	w, err := w.Normalize()
	if err != nil {
		return store.WebhookRow{}, err
	}
	if err := a.st.UpdateWebhook(ctx, id, w, a.clock.Now()); err != nil {
		return store.WebhookRow{}, err
	}
	a.wakeSender()
	return a.GetWebhook(ctx, id)
}

// DeleteWebhook removes a subscription and its deliveries.
func (a *App) DeleteWebhook(ctx context.Context, id uuid.UUID) error {
	return a.st.DeleteWebhook(ctx, id)
}

// RotateWebhookSecret gives a subscription a new secret and returns it. Deliveries signed from now on use
// it; receivers should accept both during the switch (webhook.Verify takes either of two v1 values).
func (a *App) RotateWebhookSecret(ctx context.Context, id uuid.UUID) (store.WebhookRow, error) {
	secret, err := webhook.NewSecret(rand.Reader)
	if err != nil {
		return store.WebhookRow{}, err
	}
	if err := a.st.SetWebhookSecret(ctx, id, secret, a.clock.Now()); err != nil {
		return store.WebhookRow{}, err
	}
	w, err := a.st.GetWebhook(ctx, id)
	return w, err
}

// ListDeliveries returns a page of a subscription's deliveries, newest first.
func (a *App) ListDeliveries(ctx context.Context, id uuid.UUID, state delivery.DeliveryState, size int, token string) ([]store.Delivery, string, error) {
	size = paging.Size(size)
	scope := "deliveries:" + id.String() + ":" + string(state)
	var after *store.Cursor
	if token != "" {
		after = &store.Cursor{}
		if err := paging.Decode(token, scope, after); err != nil {
			return nil, "", err
		}
	}
	ds, err := a.st.ListDeliveries(ctx, id, state, after, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ds) > size {
		ds = ds[:size]
		last := ds[size-1]
		next = paging.Encode(store.Cursor{T: last.CreatedAt, ID: last.ID}, scope)
	}
	return ds, next, nil
}

// GetDelivery reads a delivery with its latest attempts.
func (a *App) GetDelivery(ctx context.Context, webhookID, id uuid.UUID) (store.Delivery, error) {
	return a.st.GetDelivery(ctx, webhookID, id)
}

// Redeliver sends a dead delivery again, with a fresh retry period.
func (a *App) Redeliver(ctx context.Context, webhookID, id uuid.UUID) (store.Delivery, error) {
	if err := a.st.Redeliver(ctx, webhookID, id, a.clock.Now()); err != nil {
		return store.Delivery{}, err
	}
	a.wakeSender()
	return a.st.GetDelivery(ctx, webhookID, id)
}

// FanOut writes, in the consumer's transaction, one delivery for each subscription (active or paused) of
// each event in ds. Events nobody subscribes to cost one query per batch.
func (a *App) FanOut(ctx context.Context, tx pgx.Tx, ds []events.Delivery) error {
	t := store.Wrap(tx)
	hooks, err := t.Subscribers(ctx)
	if err != nil || len(hooks) == 0 {
		return err
	}
	var fs []store.Fanout
	for _, d := range ds {
		hs := matching(hooks, d.Subject)
		if len(hs) == 0 {
			continue
		}
		occurred := a.clock.Now()
		body, err := eventPayload(d.EventID, d.Subject, d.Type, d.Data, occurred)
		if err != nil {
			return fmt.Errorf("event %s: %w: %w", d.EventID, err, events.ErrPermanent)
		}
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		fs = append(fs, store.Fanout{Payload: store.Payload{ID: id, Subject: d.Subject, SourceID: d.EventID, Body: body}, Hooks: hs})
	}
	_, err = t.AddDeliveries(ctx, fs, a.clock.Now())
	return err
}

// WakeSender tells the sender deliveries were added (after the consumer's commit).
func (a *App) WakeSender() { a.wakeSender() }

// PurgeDelivered deletes the history of deliveries delivered before cutoff.
func (a *App) PurgeDelivered(ctx context.Context, cutoff time.Time) (int64, error) {
	return a.st.PurgeDelivered(ctx, cutoff, 5000)
}
