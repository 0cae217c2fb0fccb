package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"

	"kefu.dev/pkg/pgxutil"
)

// DefaultReplayPoll is how often a consumer looks for dead letters to replay.
const DefaultReplayPoll = 5 * time.Second

// DeadLetter is one parked event as an operator sees it (the body is left out: it may hold personal data).
type DeadLetter struct {
	ID           int64
	Consumer     string
	EventID      string
	StreamSeq    int64
	Subject      string
	NumDelivered int64
	Error        string
	FailedAt     time.Time
	// ReplayRequested is set from RequestReplay until the consumer has tried; ReplayedAt once a replay
	// applied the event; Replays counts the tries.
	ReplayRequested bool
	ReplayedAt      *time.Time
	Replays         int
}

// ListDeadLetters returns the dead letters in the pool's schema, oldest first: of one consumer when
// consumer is not empty, and only those still parked (not replayed) unless all is set.
func ListDeadLetters(ctx context.Context, pool *pgxpool.Pool, consumer string, all bool) ([]DeadLetter, error) {
	rows, err := pool.Query(ctx, `
		SELECT id, consumer, event_id, stream_seq, subject, num_delivered, error, failed_at,
			replay_requested_at IS NOT NULL, replayed_at, replays
		FROM dead_letters
		WHERE ($1 = '' OR consumer = $1) AND ($2 OR replayed_at IS NULL)
		ORDER BY id`, consumer, all)
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DeadLetter, error) {
		var d DeadLetter
		err := r.Scan(&d.ID, &d.Consumer, &d.EventID, &d.StreamSeq, &d.Subject, &d.NumDelivered, &d.Error, &d.FailedAt,
			&d.ReplayRequested, &d.ReplayedAt, &d.Replays)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	return out, nil
}

// ParkedCount is how many dead letters in the pool's schema are still parked (a replayed one is kept as
// a record but no longer counts): what the kefu.events.dead_letters gauge and its alert report.
func ParkedCount(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var n int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count dead letters: %w", err)
	}
	return n, nil
}

// RequestReplay marks consumer's parked dead letters (those with the given ids, or all of them when ids is
// empty) for replay and returns how many it marked. The running service's consumer then feeds each back
// through its handler, within ReplayPoll: once applied it is kept with its replay time; if it fails again
// it stays parked with the new error.
func RequestReplay(ctx context.Context, pool *pgxpool.Pool, consumer string, ids []int64) (int64, error) {
	if consumer == "" {
		return 0, errors.New("replay dead letters: a consumer is required")
	}
	tag, err := pool.Exec(ctx, `
		UPDATE dead_letters SET replay_requested_at = now()
		WHERE consumer = $1 AND replayed_at IS NULL AND (coalesce(cardinality($2::bigint[]), 0) = 0 OR id = ANY($2))`,
		consumer, ids)
	if err != nil {
		return 0, fmt.Errorf("replay dead letters: %w", err)
	}
	return tag.RowsAffected(), nil
}

// replayRequested starts the loop that replays the dead letters an operator marked, until ctx ends, and
// returns the function that waits for it to stop.
func (cs *consumer) replayRequested(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(cs.cfg.ReplayPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			for {
				found, err := cs.replayOne(ctx)
				if err != nil && ctx.Err() == nil {
					cs.cfg.Logger.WarnContext(ctx, "replay dead letter", "err", err)
				}
				if !found || err != nil {
					break
				}
			}
		}
	})
	return wg.Wait
}

// replayOne replays the oldest dead letter marked for replay, if any (found). In one transaction, which
// holds the row so another replica skips it: the event goes through the inbox and the handler in a
// savepoint; applied, the row records when; failed, the savepoint is undone and the row records the new
// error, parked again.
func (cs *consumer) replayOne(ctx context.Context) (found bool, err error) {
	var (
		id      int64
		d       Delivery
		applied error
	)
	err = pgxutil.InTx(ctx, cs.pool, func(ctx context.Context, tx pgx.Tx) error {
		var headers []byte
		var numDelivered, streamSeq int64
		var subject string
		var data []byte
		err := tx.QueryRow(ctx, `
			SELECT id, subject, headers, data, num_delivered, stream_seq FROM dead_letters
			WHERE consumer = $1 AND replay_requested_at IS NOT NULL
			ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`, cs.cfg.Durable).Scan(&id, &subject, &headers, &data, &numDelivered, &streamSeq)
		if errors.Is(err, pgx.ErrNoRows) {
			found = false
			return nil
		}
		if err != nil {
			return fmt.Errorf("read dead letter: %w", err)
		}
		found = true
		h := nats.Header{}
		if err := json.Unmarshal(headers, &h); err != nil {
			applied = fmt.Errorf("dead letter %d: headers: %w", id, err)
		} else {
			d = deliveryOf(subject, h, data)
			d.NumDelivered, d.StreamSeq = uint64(numDelivered), uint64(streamSeq)
			if _, err := uuid.Parse(d.EventID); err != nil {
				applied = errNoEventID
			} else {
				applied = cs.applySavepoint(ctx, tx, d)
			}
		}
		if applied == nil {
			_, err = tx.Exec(ctx, `UPDATE dead_letters SET replay_requested_at = NULL, replayed_at = now(), replays = replays + 1
				WHERE id = $1`, id)
		} else {
			text := applied.Error()
			if len(text) > maxErrorText {
				text = text[:maxErrorText]
			}
			_, err = tx.Exec(ctx, `UPDATE dead_letters SET replay_requested_at = NULL, replays = replays + 1, error = $2, failed_at = now()
				WHERE id = $1`, id, text)
		}
		return err
	})
	if err != nil || !found {
		return found, err
	}
	if applied != nil {
		cs.cfg.Logger.ErrorContext(ctx, "dead letter replayed and failed again; still parked", "dead_letter", id,
			"event_id", d.EventID, "subject", d.Subject, "err", applied)
		return true, nil
	}
	cs.cfg.Logger.InfoContext(ctx, "dead letter replayed", "dead_letter", id, "event_id", d.EventID, "subject", d.Subject)
	if cs.cfg.AfterCommit != nil {
		cs.cfg.AfterCommit()
	}
	return true, nil
}

// applySavepoint runs applyIn in a savepoint of tx, undone if it fails (so tx can still record the
// failure).
func (cs *consumer) applySavepoint(ctx context.Context, tx pgx.Tx, d Delivery) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	if err := cs.applyIn(ctx, sp, d); err != nil {
		if rerr := sp.Rollback(ctx); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return sp.Commit(ctx)
}
