package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"

	"kefu.dev/pkg/events"
)

// copyHeader marks a message the suite published again (replayShuffled); the recorder leaves it out, so
// the checker's counts are of what the services published.
const copyHeader = "Kefu-Chaos-Copy"

// replayConsumers are the durable consumers that read the replayed tickets' events.
var replayConsumers = []string{"analytics-events", "routing-tickets", "slatimer-tickets"}

// replayShuffled publishes every event of n tickets from earlier in the run (created at least a minute
// ago, so their timers have fired) again, in random order: a ticket's breach before its creation, its
// queueing before its SLA. Each copy keeps its event id but writes it in capitals, so the stream's
// 2-hour dedupe window, which compares the header as text, takes it for a new message while every
// consumer knows it as the same UUID: what an operator's replay after the window would deliver. Once
// the consumers have read the copies, nothing may have changed: each ticket's analytics projection is
// as it was, and no service published anything more for those tickets.
func (st *Stack) replayShuffled(ctx context.Context, n int) error {
	var (
		before  []Event
		tickets map[string]bool
		ids     []string
	)
	// Run alone, the suite has only the warm-up's tickets: wait (at most 2 minutes) until they are old.
	for deadline := time.Now().Add(2 * time.Minute); len(ids) == 0; sleep(ctx, 5*time.Second) {
		if time.Now().After(deadline) {
			return fmt.Errorf("no ticket older than a minute to replay")
		}
		before, tickets, ids = st.rec.Events(), map[string]bool{}, nil
		cutoff := time.Now().Add(-time.Minute)
		for _, e := range before {
			if len(ids) == n || e.At.After(cutoff) {
				break
			}
			if e.Subject == events.Subject("ticket", "created") && !tickets[e.AggregateID] {
				tickets[e.AggregateID] = true
				ids = append(ids, e.AggregateID)
			}
		}
	}
	var seqs []uint64
	published := map[string]int{}
	for _, e := range before {
		if tickets[e.AggregateID] {
			seqs = append(seqs, e.StreamSeq)
			published[e.AggregateID]++
		}
	}
	conn, err := pgx.Connect(ctx, st.AdminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	projection := func() (map[string]string, error) {
		rows, err := conn.Query(ctx, `SELECT id::text, state::text || ' ' || updated_at::text FROM analytics.tickets WHERE id = ANY($1::uuid[])`, ids)
		if err != nil {
			return nil, fmt.Errorf("read the analytics projection: %w", err)
		}
		out := map[string]string{}
		for rows.Next() {
			var id, state string
			if err := rows.Scan(&id, &state); err != nil {
				return nil, err
			}
			out[id] = state
		}
		return out, rows.Err()
	}
	was, err := projection()
	if err != nil {
		return err
	}
	if len(was) != len(ids) {
		return fmt.Errorf("%d of the %d tickets to replay are in the analytics projection", len(was), len(ids))
	}

	js, closeJS, err := st.JetStream()
	if err != nil {
		return err
	}
	defer closeJS()
	stream, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return err
	}
	rand.Shuffle(len(seqs), func(i, j int) { seqs[i], seqs[j] = seqs[j], seqs[i] })
	var last uint64
	for _, seq := range seqs {
		raw, err := stream.GetMsg(ctx, seq)
		if err != nil {
			return fmt.Errorf("read stream message %d: %w", seq, err)
		}
		m := nats.NewMsg(raw.Subject)
		for k, v := range raw.Header {
			m.Header[k] = v
		}
		m.Header.Set(events.HeaderMsgID, strings.ToUpper(raw.Header.Get(events.HeaderMsgID)))
		m.Header.Set(copyHeader, "1")
		m.Data = raw.Data
		ack, err := js.PublishMsg(ctx, m)
		if err != nil {
			return fmt.Errorf("publish the copy of stream message %d: %w", seq, err)
		}
		if ack.Duplicate {
			return fmt.Errorf("the stream dropped the copy of message %d as a duplicate", seq)
		}
		last = max(last, ack.Sequence)
	}
	if err := waitAcked(ctx, js, last, 5*time.Minute, replayConsumers...); err != nil {
		return err
	}
	sleep(ctx, 2*time.Second) // anything published in reaction has reached the recorder

	now, err := projection()
	if err != nil {
		return err
	}
	var changed []string
	for _, id := range ids {
		if now[id] != was[id] {
			changed = append(changed, id)
		}
	}
	if len(changed) > 0 {
		return fmt.Errorf("replaying %d events changed the analytics projection of %d of %d tickets (%s)",
			len(seqs), len(changed), len(ids), strings.Join(changed[:min(3, len(changed))], ", "))
	}
	for _, e := range st.rec.Events()[len(before):] {
		if tickets[e.AggregateID] {
			return fmt.Errorf("replaying %d events made the services publish %s for ticket %s again", len(seqs), e.Subject, e.AggregateID)
		}
	}
	return nil
}
