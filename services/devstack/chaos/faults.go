package chaos

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/events"
)

// heldSubject is the subject of the ticket the held-ticket scenario holds: one of its own (created by
// Start), since a reclassified ticket is legitimately routed and timed again, and a load ticket would
// then count twice.
const heldSubject = "chaos-held-ticket"

// holdTicket takes the held ticket's row in intake FOR UPDATE in a transaction left open for d, while an
// admin keeps trying to change its urgency (each attempt bounded by 5 s). The change must succeed once
// the row is free, and exactly one kefu.ticket.updated more must follow.
func (st *Stack) holdTicket(ctx context.Context, d time.Duration) error {
	conn, err := pgx.Connect(ctx, st.AdminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // committed below
	var id string
	if err := tx.QueryRow(ctx, `SELECT ticket_id::text FROM intake.tickets WHERE subject = $1 FOR UPDATE`, heldSubject).Scan(&id); err != nil {
		return fmt.Errorf("hold a ticket: %w", err)
	}
	updated := func() int {
		n := 0
		for _, e := range st.rec.Events() {
			if e.AggregateID == id && e.Subject == "kefu.ticket.updated" {
				n++
			}
		}
		return n
	}
	before := updated()
	released := make(chan struct{})
	time.AfterFunc(d, func() {
		_ = tx.Commit(context.WithoutCancel(ctx))
		close(released)
	})
	admin := bearer(ctx, st.admin)
	for attempt := 1; ; attempt++ {
		cctx, cancel := context.WithTimeout(admin, 5*time.Second)
		got, err := st.Intake().GetTicket(cctx, &intakev1.GetTicketRequest{TicketId: id})
		if err == nil {
			t := got.GetTicket()
			t.Urgency = intakev1.Urgency_URGENCY_CRITICAL
			if got.GetTicket().GetUrgency() == intakev1.Urgency_URGENCY_CRITICAL {
				t.Urgency = intakev1.Urgency_URGENCY_URGENT
			}
			_, err = st.Intake().UpdateTicket(cctx, &intakev1.UpdateTicketRequest{Ticket: t,
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"urgency"}}})
		}
		cancel()
		if err == nil {
			break
		}
		select {
		case <-released:
			if attempt > 100 {
				return fmt.Errorf("the held ticket cannot be changed after its release: %w", err)
			}
		default:
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		sleep(ctx, 200*time.Millisecond)
	}
	<-released
	// The change's event, exactly once.
	deadline := time.Now().Add(time.Minute)
	for {
		switch n := updated() - before; {
		case n == 1:
			return nil
		case n > 1:
			return fmt.Errorf("the held ticket's change was published %d times", n)
		case time.Now().After(deadline):
			return errors.New("the held ticket's change was never published")
		}
		sleep(ctx, 250*time.Millisecond)
	}
}

// poisonConsumers are the consumers that receive kefu.ticket.created, by schema.
var poisonConsumers = map[string]string{"routing": "routing-tickets", "slatimer": "slatimer-tickets", "analytics": "analytics-events"}

// poison publishes a kefu.ticket.created whose body is not a proto, with a valid event id, and waits
// (up to 10 minutes: a consumer may retry before it decides) until each consumer has parked it in its
// dead letters, exactly once; then an operator's replay of it (replayPoison).
func (st *Stack) poison(ctx context.Context) error {
	js, closeJS, err := st.JetStream()
	if err != nil {
		return err
	}
	defer closeJS()
	id := uuid.Must(uuid.NewV7()).String()
	m := nats.NewMsg(events.Subject("ticket", "created"))
	m.Header.Set(events.HeaderMsgID, id)
	m.Header.Set(events.HeaderType, "kefu.events.v1.TicketCreated")
	m.Header.Set(events.HeaderAggregateID, uuid.NewString())
	m.Header.Set(events.HeaderSeq, "1")
	m.Data = []byte{0xff, 0xff, 0xff, 0x01, 'p', 'o', 'i', 's', 'o', 'n'}
	if _, err := js.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("publish the poison event: %w", err)
	}
	conn, err := pgx.Connect(ctx, st.AdminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var waiting []string
		for schema, consumer := range poisonConsumers {
			var n int
			if err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s.dead_letters WHERE consumer = $1 AND event_id = $2`,
				pgx.Identifier{schema}.Sanitize()), consumer, id).Scan(&n); err != nil {
				return err
			}
			switch {
			case n > 1:
				return fmt.Errorf("%s parked the poison event %d times", consumer, n)
			case n == 0:
				waiting = append(waiting, consumer)
			}
		}
		if len(waiting) == 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the poison event is not parked by %s", strings.Join(waiting, ", "))
		}
		sleep(ctx, time.Second)
	}
	return st.replayPoison(ctx, conn, id)
}

// replayPoison asks each service, through its binary's `dead-letters` subcommand with its compose
// environment, to list and then replay the poison event: the running consumer tries it again, it fails
// again (no handler can read it), and it stays parked with the try counted.
func (st *Stack) replayPoison(ctx context.Context, conn *pgx.Conn, id string) error {
	for schema, consumer := range poisonConsumers {
		for _, args := range [][]string{{"dead-letters", "list", "--consumer", consumer}, {"dead-letters", "replay", "--consumer", consumer, "--all"}} {
			api, err := freePort()
			if err != nil {
				return err
			}
			metrics, err := freePort()
			if err != nil {
				return err
			}
			cmd, err := st.ps.Command(ctx, schema, api, metrics, args...)
			if err != nil {
				return err
			}
			out, err := cmd.CombinedOutput()
			if err != nil {
				return fmt.Errorf("%s %s: %w: %s", schema, strings.Join(args, " "), err, out)
			}
			if args[1] == "list" && !strings.Contains(string(out), id) {
				return fmt.Errorf("%s dead-letters list does not show the poison event: %s", schema, out)
			}
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var waiting []string
		for schema, consumer := range poisonConsumers {
			var tried bool
			if err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT replays > 0 AND replay_requested_at IS NULL AND replayed_at IS NULL
				FROM %s.dead_letters WHERE consumer = $1 AND event_id = $2`, pgx.Identifier{schema}.Sanitize()), consumer, id).Scan(&tried); err != nil {
				return err
			}
			if !tried {
				waiting = append(waiting, consumer)
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the poison event's replay was not tried, or did not leave it parked, by %s", strings.Join(waiting, ", "))
		}
		sleep(ctx, time.Second)
	}
}

// redeliverAll deletes the named durable consumers; their services recreate them (deliver all), so every
// event in the stream reaches them again. It returns once each exists again and has caught up.
func (st *Stack) redeliverAll(ctx context.Context, durables ...string) error {
	js, closeJS, err := st.JetStream()
	if err != nil {
		return err
	}
	defer closeJS()
	s, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	last := info.State.LastSeq
	for _, d := range durables {
		if err := js.DeleteConsumer(ctx, events.StreamName, d); err != nil {
			return fmt.Errorf("delete %s: %w", d, err)
		}
	}
	// Caught up: everything up to the stream's end at the deletion is acknowledged (the load goes on, so
	// the consumer is rarely without pending messages). The whole stream is read again: in the full suite
	// that is a hundred thousand events and more.
	return waitAcked(ctx, js, last, 20*time.Minute, durables...)
}

// waitAcked waits until each durable consumer has acknowledged every message up to the stream sequence
// last (a consumer deleted a moment ago counts once its service has recreated it), or within fails.
func waitAcked(ctx context.Context, js jetstream.JetStream, last uint64, within time.Duration, durables ...string) error {
	deadline := time.Now().Add(within)
	for _, d := range durables {
		for {
			c, err := js.Consumer(ctx, events.StreamName, d)
			if err == nil {
				info, err := c.Info(ctx)
				if err == nil && info.AckFloor.Stream >= last {
					break
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s did not acknowledge up to stream sequence %d within %s", d, last, within)
			}
			sleep(ctx, 500*time.Millisecond)
		}
	}
	return nil
}
