package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"kefu.dev/pkg/apierr"
	"kefu.dev/services/notify/internal/domain/delivery"
)

// WebhookRow is a subscription as stored, with its delivery counts when read by GetWebhook or
// ListWebhooks.
type WebhookRow struct {
	ID uuid.UUID
	delivery.Webhook
	Secret      string
	CreateActor string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Pending     int64
	Dead        int64
}

const webhookColumns = `w.id, w.url, w.subjects, w.description, w.state, w.retry_hours, w.secret, w.create_actor,
	w.created_at, w.updated_at,
	(SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'pending'),
	(SELECT count(*) FROM webhook_deliveries d WHERE d.webhook_id = w.id AND d.state = 'dead')`

func scanWebhook(r pgx.Row) (WebhookRow, error) {
	var w WebhookRow
	err := r.Scan(&w.ID, &w.URL, &w.Subjects, &w.Description, &w.State, &w.RetryHours, &w.Secret, &w.CreateActor,
		&w.CreatedAt, &w.UpdatedAt, &w.Pending, &w.Dead)
	return w, err
}

// CreateWebhook writes a new subscription.
func (t *Tx) CreateWebhook(ctx context.Context, w WebhookRow) error {
	_, err := t.tx.Exec(ctx, `INSERT INTO webhooks (id, url, subjects, description, state, retry_hours, secret,
		create_actor, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)`,
		w.ID, w.URL, w.Subjects, w.Description, w.State, w.RetryHours, w.Secret, w.CreateActor, w.CreatedAt)
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	return nil
}

func notFoundWebhook(id uuid.UUID) error {
	return apierr.NotFound("webhook", id.String()).WithCause(ErrNotFound)
}

// GetWebhook reads a subscription with its counts.
func (s *Store) GetWebhook(ctx context.Context, id uuid.UUID) (WebhookRow, error) {
	w, err := scanWebhook(s.pool.QueryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks w WHERE w.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return WebhookRow{}, notFoundWebhook(id)
	}
	if err != nil {
		return WebhookRow{}, fmt.Errorf("get webhook: %w", err)
	}
	return w, nil
}

// ListWebhooks reads every subscription, oldest first.
func (s *Store) ListWebhooks(ctx context.Context) ([]WebhookRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+webhookColumns+` FROM webhooks w ORDER BY w.created_at, w.id`)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	ws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (WebhookRow, error) { return scanWebhook(r) })
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return ws, nil
}

// UpdateWebhook writes w's url, subjects, description, state and retry period.
func (s *Store) UpdateWebhook(ctx context.Context, id uuid.UUID, w delivery.Webhook, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE webhooks SET url = $2, subjects = $3, description = $4, state = $5,
		retry_hours = $6, updated_at = $7 WHERE id = $1`, id, w.URL, w.Subjects, w.Description, w.State, w.RetryHours, now)
	if err != nil {
		return fmt.Errorf("update webhook: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFoundWebhook(id)
	}
	return nil
}

// SetWebhookSecret replaces a subscription's signing secret.
func (s *Store) SetWebhookSecret(ctx context.Context, id uuid.UUID, secret string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE webhooks SET secret = $2, updated_at = $3 WHERE id = $1`, id, secret, now)
	if err != nil {
		return fmt.Errorf("set webhook secret: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFoundWebhook(id)
	}
	return nil
}

// DeleteWebhook removes a subscription and its deliveries (their payloads go with the next purge).
func (s *Store) DeleteWebhook(ctx context.Context, id uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhooks WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFoundWebhook(id)
	}
	return nil
}

// Subscribers reads every subscription (without counts): active ones and paused ones, whose deliveries
// wait until they are active again.
func (t *Tx) Subscribers(ctx context.Context) ([]WebhookRow, error) {
	rows, err := t.tx.Query(ctx, `SELECT id, subjects, retry_hours FROM webhooks`)
	if err != nil {
		return nil, fmt.Errorf("subscribers: %w", err)
	}
	ws, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (WebhookRow, error) {
		var w WebhookRow
		err := r.Scan(&w.ID, &w.Subjects, &w.RetryHours)
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("subscribers: %w", err)
	}
	return ws, nil
}

// Payload is what deliveries of one event or message send.
type Payload struct {
	ID       uuid.UUID
	Subject  string
	SourceID string
	Body     []byte
}

// Fanout is one payload and the subscriptions that receive it.
type Fanout struct {
	Payload Payload
	Hooks   []WebhookRow
}

// AddDeliveries writes each payload and one pending delivery, due at now, for each of its subscriptions.
func (t *Tx) AddDeliveries(ctx context.Context, fs []Fanout, now time.Time) (int, error) {
	b := &pgx.Batch{}
	n := 0
	for _, f := range fs {
		if len(f.Hooks) == 0 {
			continue
		}
		b.Queue(`INSERT INTO webhook_payloads (id, subject, source_id, body, created_at) VALUES ($1, $2, $3, $4, $5)`,
			f.Payload.ID, f.Payload.Subject, f.Payload.SourceID, f.Payload.Body, now)
		for _, h := range f.Hooks {
			id, err := uuid.NewV7()
			if err != nil {
				return 0, err
			}
			b.Queue(`INSERT INTO webhook_deliveries (id, webhook_id, payload_id, state, created_at, next_attempt_at,
				retry_until) VALUES ($1, $2, $3, 'pending', $4, $4, $5)
				ON CONFLICT ON CONSTRAINT webhook_deliveries_once_key DO NOTHING`,
				id, h.ID, f.Payload.ID, now, now.Add(time.Duration(h.RetryHours)*time.Hour))
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("add deliveries: %w", err)
	}
	return n, nil
}

// Delivery is a delivery as stored.
type Delivery struct {
	ID, WebhookID  uuid.UUID
	Subject        string
	SourceID       string
	State          delivery.DeliveryState
	Attempts       int
	LastStatusCode int
	LastError      string
	CreatedAt      time.Time
	NextAttemptAt  time.Time
	FinishedAt     time.Time
	History        []Attempt
}

// Attempt is one POST of a delivery.
type Attempt struct {
	N          int
	At         time.Time
	StatusCode int
	Error      string
	DurationMS int
}

const deliveryColumns = `d.id, d.webhook_id, p.subject, p.source_id, d.state, d.attempt_count, d.last_status_code,
	d.last_error, d.created_at, d.next_attempt_at, d.finished_at`

func scanDelivery(r pgx.Row) (Delivery, error) {
	var d Delivery
	var finished *time.Time
	err := r.Scan(&d.ID, &d.WebhookID, &d.Subject, &d.SourceID, &d.State, &d.Attempts, &d.LastStatusCode, &d.LastError,
		&d.CreatedAt, &d.NextAttemptAt, &finished)
	if finished != nil {
		d.FinishedAt = *finished
	}
	return d, err
}

// ListDeliveries returns up to limit of a subscription's deliveries after cursor (nil: the newest),
// newest first, only those in state unless it is empty.
func (s *Store) ListDeliveries(ctx context.Context, webhook uuid.UUID, state delivery.DeliveryState, after *Cursor, limit int) ([]Delivery, error) {
	if _, err := s.GetWebhook(ctx, webhook); err != nil {
		return nil, err
	}
	args := []any{webhook, limit, string(state)}
	q := `SELECT ` + deliveryColumns + ` FROM webhook_deliveries d JOIN webhook_payloads p ON p.id = d.payload_id
		WHERE d.webhook_id = $1 AND ($3 = '' OR d.state = $3)`
	if after != nil {
		q += ` AND (d.created_at, d.id) < ($4, $5)`
		args = append(args, after.T, after.ID)
	}
	rows, err := s.pool.Query(ctx, q+` ORDER BY d.created_at DESC, d.id DESC LIMIT $2`, args...)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return ds, nil
}

// maxAttemptsShown bounds the attempts GetDelivery returns: the latest ones.
const maxAttemptsShown = 50

// GetDelivery reads a delivery of a subscription with its latest attempts, oldest first.
func (s *Store) GetDelivery(ctx context.Context, webhook, id uuid.UUID) (Delivery, error) {
	d, err := scanDelivery(s.pool.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM webhook_deliveries d
		JOIN webhook_payloads p ON p.id = d.payload_id WHERE d.id = $1 AND d.webhook_id = $2`, id, webhook))
	if errors.Is(err, pgx.ErrNoRows) {
		return Delivery{}, apierr.NotFound("webhook delivery", id.String()).WithCause(ErrNotFound)
	}
	if err != nil {
		return Delivery{}, fmt.Errorf("get delivery: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT attempt, attempted_at, status_code, error, duration_ms FROM (
		SELECT attempt, attempted_at, status_code, error, duration_ms FROM webhook_attempts WHERE delivery_id = $1
		ORDER BY attempt DESC LIMIT $2) a ORDER BY attempt`, id, maxAttemptsShown)
	if err != nil {
		return Delivery{}, fmt.Errorf("get delivery attempts: %w", err)
	}
	d.History, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Attempt, error) {
		var a Attempt
		err := r.Scan(&a.N, &a.At, &a.StatusCode, &a.Error, &a.DurationMS)
		return a, err
	})
	if err != nil {
		return Delivery{}, fmt.Errorf("get delivery attempts: %w", err)
	}
	return d, nil
}

// Redeliver makes a dead delivery pending again, due now, with retries until retryUntil. A delivery in
// another state is FailedPrecondition (DELIVERY_NOT_DEAD).
func (s *Store) Redeliver(ctx context.Context, webhook, id uuid.UUID, now time.Time) error {
	var state delivery.DeliveryState
	var hours int
	err := s.pool.QueryRow(ctx, `SELECT d.state, w.retry_hours FROM webhook_deliveries d
		JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = $1 AND d.webhook_id = $2`, id, webhook).Scan(&state, &hours)
	if errors.Is(err, pgx.ErrNoRows) {
		return apierr.NotFound("webhook delivery", id.String()).WithCause(ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("redeliver: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $2,
		retry_until = $3, finished_at = NULL WHERE id = $1 AND state = 'dead'`,
		id, now, now.Add(time.Duration(hours)*time.Hour))
	if err != nil {
		return fmt.Errorf("redeliver: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return apierr.FailedPrecondition(delivery.ReasonNotDead, fmt.Sprintf("the delivery is %s, not dead", state)).
			WithMeta("current_state", string(state))
	}
	return nil
}

// Due is a claimed delivery: what the sender needs for one attempt.
type Due struct {
	ID, WebhookID uuid.UUID
	URL, Secret   string
	Subject       string
	// SourceID is the event id, or the outbound message's id.
	SourceID string
	Body     []byte
	// Attempt is this attempt's number (1 for the first).
	Attempt    int
	RetryUntil time.Time
}

// Claim takes up to limit pending deliveries of active subscriptions due at now, and leases them by
// moving their due time to leaseUntil: another sender skips them until then.
func (s *Store) Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Due, error) {
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
			WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND w.state = 'active'
			ORDER BY d.next_attempt_at LIMIT $3 FOR UPDATE OF d SKIP LOCKED)
		UPDATE webhook_deliveries d SET next_attempt_at = $2, attempt_count = d.attempt_count + 1
		FROM due, webhooks w, webhook_payloads p
		WHERE d.id = due.id AND w.id = d.webhook_id AND p.id = d.payload_id
		RETURNING d.id, d.webhook_id, w.url, w.secret, p.subject, p.source_id, p.body, d.attempt_count, d.retry_until`,
		now, leaseUntil, limit)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Due, error) {
		var d Due
		err := r.Scan(&d.ID, &d.WebhookID, &d.URL, &d.Secret, &d.Subject, &d.SourceID, &d.Body, &d.Attempt, &d.RetryUntil)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return ds, nil
}

// Result is what became of one claimed attempt.
type Result struct {
	ID         uuid.UUID
	Attempt    int
	At         time.Time
	Outcome    delivery.Outcome
	DurationMS int
	// Next is the delivery's state after the attempt, NextAt its next due time when pending.
	Next   delivery.DeliveryState
	NextAt time.Time
}

// Finish records attempts' results in one round trip. A result whose attempt is no longer the delivery's
// latest (its lease ran out and another sender claimed it again) records the attempt but leaves the
// delivery to the newer one.
func (s *Store) Finish(ctx context.Context, rs []Result) error {
	if len(rs) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, r := range rs {
		var finished *time.Time
		next := r.NextAt
		if r.Next != delivery.Pending {
			finished, next = &r.At, r.At
		}
		b.Queue(`UPDATE webhook_deliveries SET state = $3, last_status_code = $4, last_error = $5, next_attempt_at = $6,
			finished_at = $7 WHERE id = $1 AND attempt_count = $2 AND state = 'pending'`,
			r.ID, r.Attempt, r.Next, r.Outcome.StatusCode, r.Outcome.Text(), next, finished)
		b.Queue(`INSERT INTO webhook_attempts (delivery_id, attempt, attempted_at, status_code, error, duration_ms)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT ON CONSTRAINT webhook_attempts_pkey DO NOTHING`,
			r.ID, r.Attempt, r.At, r.Outcome.StatusCode, r.Outcome.Text(), r.DurationMS)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("finish deliveries: %w", err)
	}
	return nil
}

// NextDue returns when the earliest pending delivery of an active subscription is due (zero: none).
func (s *Store) NextDue(ctx context.Context) (time.Time, error) {
	var at *time.Time
	err := s.pool.QueryRow(ctx, `SELECT min(d.next_attempt_at) FROM webhook_deliveries d
		JOIN webhooks w ON w.id = d.webhook_id WHERE d.state = 'pending' AND w.state = 'active'`).Scan(&at)
	if err != nil || at == nil {
		return time.Time{}, err
	}
	return *at, nil
}

// PurgeDelivered deletes delivered deliveries finished before cutoff (their history), then payloads no
// delivery refers to any more, at most limit of each; it returns how many deliveries went.
func (s *Store) PurgeDelivered(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM webhook_deliveries WHERE id IN (
		SELECT id FROM webhook_deliveries WHERE state = 'delivered' AND finished_at < $1 LIMIT $2)`, cutoff, limit)
	if err != nil {
		return 0, fmt.Errorf("purge deliveries: %w", err)
	}
	_, err = s.pool.Exec(ctx, `DELETE FROM webhook_payloads p WHERE p.id IN (
		SELECT p.id FROM webhook_payloads p WHERE p.created_at < $1
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.payload_id = p.id) LIMIT $2)`, cutoff, limit)
	if err != nil {
		return 0, fmt.Errorf("purge payloads: %w", err)
	}
	return tag.RowsAffected(), nil
}

// PendingDeliveries counts the deliveries waiting for an attempt.
func (s *Store) PendingDeliveries(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'`).Scan(&n)
	return n, err
}
