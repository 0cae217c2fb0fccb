package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	notifyv1 "kefu.dev/pkg/api/kefu/notify/v1"
	"kefu.dev/services/notify/internal/store"
)

// OutboundStream is the JetStream stream of outbound messages. It holds outbound.> only, outside kefu.>,
// because its messages carry text and addresses that must never reach the event stream, analytics or
// event webhooks.
const OutboundStream = "OUTBOUND"

// OutboundStreamConfig is the OUTBOUND stream: file storage, kept maxAge (adapters that were down catch
// up within it), deduplicated on the message id for the publisher's retry horizon.
func OutboundStreamConfig(maxAge time.Duration, replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        OutboundStream,
		Description: "kefu outbound customer messages (outbound.<channel>): text and addresses, never on kefu.>",
		Subjects:    []string{OutboundPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      maxAge,
		Duplicates:  2 * time.Hour,
		Replicas:    max(replicas, 1),
	}
}

// EnsureOutboundStream creates the OUTBOUND stream or updates it to c.
func EnsureOutboundStream(ctx context.Context, js jetstream.JetStream, c jetstream.StreamConfig) error {
	if _, err := js.CreateOrUpdateStream(ctx, c); err != nil {
		return fmt.Errorf("ensure stream %s: %w", OutboundStream, err)
	}
	return nil
}

// PublisherOptions tune the publisher.
type PublisherOptions struct {
	Stream jetstream.StreamConfig
	// Poll is the longest the publisher sleeps between looks for unpublished messages (it also wakes
	// after this replica's commits).
	Poll time.Duration
	// Batch is how many messages one transaction publishes.
	Batch int
}

// RunPublisher ensures the OUTBOUND stream, then publishes queued messages to outbound.<channel> until ctx
// ends. Each message's row is its outbox entry: it is published with Nats-Msg-Id = its id, then marked, in
// one transaction, so a crash in between publishes it again and JetStream stores it once.
func (a *App) RunPublisher(ctx context.Context, js jetstream.JetStream, o PublisherOptions, wake <-chan struct{}) error {
	for ctx.Err() == nil {
		if err := EnsureOutboundStream(ctx, js, o.Stream); err == nil {
			break
		} else if ctx.Err() == nil {
			a.log.WarnContext(ctx, "outbound stream not ready", "error", err.Error())
		}
		sleep(ctx, o.Poll, nil)
	}
	for ctx.Err() == nil {
		n, err := a.publishBatch(ctx, js, o.Batch)
		if err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "publish outbound messages", "error", err.Error())
		}
		if err == nil && n == o.Batch {
			continue
		}
		sleep(ctx, o.Poll, wake)
	}
	return nil
}

// publishBatch publishes up to n unpublished messages in one transaction.
func (a *App) publishBatch(ctx context.Context, js jetstream.JetStream, n int) (int, error) {
	var done int
	err := a.st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		ms, err := tx.Unpublished(ctx, n)
		if err != nil || len(ms) == 0 {
			return err
		}
		futures := make([]jetstream.PubAckFuture, 0, len(ms))
		for _, m := range ms {
			msg, err := outboundMsg(m)
			if err != nil {
				return err
			}
			f, err := js.PublishMsgAsync(msg, jetstream.WithExpectStream(OutboundStream))
			if err != nil {
				return fmt.Errorf("publish message %s: %w", m.ID, err)
			}
			futures = append(futures, f)
		}
		ids := make([]uuid.UUID, 0, len(ms))
		for i, f := range futures {
			select {
			case <-f.Ok():
				ids = append(ids, ms[i].ID)
			case err := <-f.Err():
				return fmt.Errorf("publish message %s: %w", ms[i].ID, err)
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(10 * time.Second):
				return errors.New("publish: no acknowledgement within 10s")
			}
		}
		done = len(ids)
		return tx.MarkPublished(ctx, ids)
	})
	return done, err
}

// outboundMsg is a message as the OUTBOUND stream carries it: the OutboundEnvelope proto, address in full.
func outboundMsg(m store.Message) (*nats.Msg, error) {
	env := &notifyv1.OutboundEnvelope{Message: MessageProto(m, true), QueueTime: timestamppb.New(m.CreatedAt),
		ChannelToken: string(m.Channel)}
	data, err := proto.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("encode message %s: %w", m.ID, err)
	}
	msg := nats.NewMsg(OutboundSubject(m.Channel))
	msg.Data = data
	msg.Header.Set(jetstream.MsgIDHeader, m.ID.String())
	msg.Header.Set("Kefu-Type", string(env.ProtoReflect().Descriptor().FullName()))
	msg.Header.Set("Kefu-Ticket-Id", m.TicketID.String())
	return msg, nil
}
