package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"kefu.dev/pkg/events"
)

// Event is one message of the KEFU stream as the recorder saw it.
type Event struct {
	StreamSeq   uint64
	Subject     string
	AggregateID string
	Seq         int64
	EventID     string
	// At is when the recorder received it.
	At time.Time
}

// Recorder logs every event in the KEFU stream, in stream order, through an ordered consumer on NATS's
// own address (not the proxy), which recreates itself across NATS restarts.
type Recorder struct {
	mu     sync.Mutex
	events []Event
	last   uint64
	nc     *nats.Conn
	cc     jetstream.ConsumeContext
}

// Record starts recording from the stream's first message: every event, or only those on subjects when
// any are given.
func Record(ctx context.Context, url string, log *slog.Logger, subjects ...string) (*Recorder, error) {
	js, err := connectJS(url, "chaos-recorder")
	if err != nil {
		return nil, err
	}
	nc := js.Conn()
	cons, err := js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: subjects})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("recorder: %w", err)
	}
	r := &Recorder{nc: nc}
	r.cc, err = cons.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			return
		}
		h := m.Headers()
		seq, _ := strconv.ParseInt(h.Get(events.HeaderSeq), 10, 64)
		r.mu.Lock()
		defer r.mu.Unlock()
		if md.Sequence.Stream <= r.last {
			return // an ordered consumer's reset can replay from the last sequence it delivered
		}
		r.last = md.Sequence.Stream
		if h.Get(copyHeader) != "" {
			return // the suite's own copy (replayShuffled), not something a service published
		}
		r.events = append(r.events, Event{StreamSeq: md.Sequence.Stream, Subject: m.Subject(),
			AggregateID: h.Get(events.HeaderAggregateID), Seq: seq, EventID: h.Get(events.HeaderMsgID), At: time.Now()})
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		log.Debug("recorder", "err", err.Error())
	}))
	if err != nil {
		nc.Close()
		return nil, err
	}
	return r, nil
}

// Events returns a copy of what was recorded so far.
func (r *Recorder) Events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// EventsFrom returns a copy of the events recorded after the first i, and the count so far: read
// incrementally with i = the count of the previous call.
func (r *Recorder) EventsFrom(i int) ([]Event, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i > len(r.events) {
		i = len(r.events)
	}
	return append([]Event(nil), r.events[i:]...), len(r.events)
}

// Close stops recording.
func (r *Recorder) Close() {
	r.cc.Stop()
	r.nc.Close()
}

// connectJS connects to NATS at url as name, reconnecting for ever, and returns JetStream on it.
func connectJS(url, name string) (jetstream.JetStream, error) {
	nc, err := nats.Connect(url, nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(200*time.Millisecond))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return js, nil
}
