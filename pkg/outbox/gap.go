package outbox

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"kefu.dev/pkg/events"
	"kefu.dev/pkg/pgxutil"
)

// recordedSQL finds, among the owned partitions, the published row with the highest stream sequence at or
// below $2, through outbox_stream_seq_idx (one index probe per partition).
const recordedSQL = `
SELECT o.stream_seq, o.event_id::text
FROM unnest($1::int2[]) AS p(partition)
CROSS JOIN LATERAL (
	SELECT stream_seq, event_id
	FROM outbox
	WHERE outbox.partition = p.partition AND stream_seq IS NOT NULL AND stream_seq <= $2
	ORDER BY stream_seq DESC
	LIMIT 1
) AS o
ORDER BY o.stream_seq DESC
LIMIT 1`

// recorded is a published row as the outbox remembers it: which event JetStream acknowledged at which
// stream sequence.
type recorded struct {
	seq     uint64
	eventID string
}

// repairGap makes the owned partitions re-publish events the stream lost after acknowledging them.
//
// Without fsync on every write, a NATS crash loses the writes since its last sync: the stream restarts
// behind what it acknowledged, and may then fill the lost sequences with newer messages from other
// publishers. So the newest recorded row is checked two ways: its sequence must not be above the stream's
// last, and the message at its sequence must carry its event id. If it is lost, a binary search over the
// sequences finds the newest intact recorded row (the loss is a tail), and every owned row recorded above
// it is marked unpublished again, to be re-sent in id order; consumers dedupe by event id. The reset is done
// only by the partitions' owner, between its own batches, so it cannot interleave with a batch in flight.
//
// A message missing below the stream's last sequence (deleted on purpose, or aged out) counts as intact:
// re-sending it would be answered as a duplicate and the check would never settle.
func (r *Relay) repairGap(ctx context.Context) error {
	stream, err := r.js.Stream(ctx, r.o.StreamName)
	if err != nil {
		return fmt.Errorf("gap check: stream %s: %w", r.o.StreamName, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("gap check: stream info: %w", err)
	}
	first, last := info.State.FirstSeq, info.State.LastSeq

	at := func(seq uint64) (recorded, bool, error) {
		var rec recorded
		var s int64
		err := r.conn.QueryRow(ctx, recordedSQL, r.owned, int64(min(seq, math.MaxInt64))).Scan(&s, &rec.eventID)
		if errors.Is(err, pgx.ErrNoRows) {
			return rec, false, nil
		}
		if err != nil {
			return rec, false, fmt.Errorf("gap check: read recorded sequence: %w", err)
		}
		rec.seq = uint64(s)
		return rec, true, nil
	}
	intact := func(rec recorded) (bool, error) {
		switch {
		case rec.seq > last:
			return false, nil
		case rec.seq < first:
			return true, nil
		}
		m, err := stream.GetMsg(ctx, rec.seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("gap check: get message %d: %w", rec.seq, err)
		}
		return m.Header.Get(events.HeaderMsgID) == rec.eventID, nil
	}

	top, ok, err := at(math.MaxInt64)
	if err != nil || !ok {
		return err
	}
	if ok, err := intact(top); err != nil || ok {
		return err
	}
	// Invariant: every recorded row at or below good is intact; the row at bad is lost.
	good, bad := uint64(0), top.seq
	for bad-good > 1 {
		mid := good + (bad-good)/2
		rec, ok, err := at(mid)
		if err != nil {
			return err
		}
		if !ok || rec.seq <= good {
			good = mid // no recorded rows in (good, mid]
			continue
		}
		ok, err = intact(rec)
		if err != nil {
			return err
		}
		if ok {
			good = mid
		} else {
			bad = rec.seq
		}
	}
	tag, err := r.conn.Exec(ctx, `
		UPDATE outbox SET published_at = NULL, stream_seq = NULL
		WHERE partition = ANY($1) AND stream_seq > $2`, r.owned, int64(good))
	if err != nil {
		return fmt.Errorf("gap repair: reset lost rows: %w", err)
	}
	r.log.WarnContext(ctx, "stream lost acknowledged events; re-publishing them",
		"stream", r.o.StreamName, "stream_first_seq", first, "stream_last_seq", last,
		"recorded_last_seq", top.seq, "intact_up_to_seq", good, "rows", tag.RowsAffected(), "partitions", r.owned)
	return nil
}

// Republish marks the outbox rows created at or after since as unpublished, so the relay sends them again
// in order, and wakes the relays; it returns how many rows it reset. Only rows still kept (the replay
// window) can be re-sent. It is an operator's tool, e.g. after a stream was restored from an old backup.
//
// Events still inside the stream's duplicate window are acknowledged as duplicates and not stored twice;
// older ones are stored again and consumers skip them by event id. A batch the relay is publishing at that
// moment may be recorded as published after the reset, and then is not re-sent.
func Republish(ctx context.Context, pool *pgxpool.Pool, since time.Time) (int64, error) {
	var n int64
	err := pgxutil.InTx(ctx, pool, func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE outbox SET published_at = NULL, stream_seq = NULL
			WHERE created_at >= $1 AND published_at IS NOT NULL`, since)
		if err != nil {
			return fmt.Errorf("reset published rows: %w", err)
		}
		n = tag.RowsAffected()
		if _, err := tx.Exec(ctx, `SELECT pg_notify(`+channelSQL+`, '')`); err != nil {
			return fmt.Errorf("notify relays: %w", err)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("republish outbox since %s: %w", since.Format(time.RFC3339), err)
	}
	return n, nil
}
