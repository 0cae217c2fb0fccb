package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream defaults. MaxAge bounds how far back an analytics rebuild can replay. Duplicates must cover the
// outbox relay's retry horizon: an event re-sent after an unrecorded ack (the relay crashed, or Postgres
// failed, between NATS's ack and marking the row) is then stored once.
const (
	DefaultMaxAge     = 30 * 24 * time.Hour
	DefaultDuplicates = 2 * time.Hour
)

// StreamConfig holds the KEFU stream's tunable limits; zero values take the defaults.
type StreamConfig struct {
	// MaxAge is how long events are kept (limits-based retention); default 30 days.
	MaxAge time.Duration
	// Duplicates is JetStream's dedupe window on Nats-Msg-Id; default 2 h. It must be at least the relay's
	// retry horizon and no more than MaxAge.
	Duplicates time.Duration
	// Replicas is the stream's replication factor in a NATS cluster; default 1.
	Replicas int
}

func (c StreamConfig) withDefaults() StreamConfig {
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.Duplicates == 0 {
		c.Duplicates = DefaultDuplicates
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	return c
}

// JetStreamConfig returns the stream configuration EnsureStream applies, for tools that compare or print it.
func (c StreamConfig) JetStreamConfig() jetstream.StreamConfig {
	c = c.withDefaults()
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "kefu domain events (kefu.<aggregate>.<event>)",
		Subjects:    []string{StreamSubjects},
		// File storage: events must survive a NATS restart; Postgres (the outbox) covers what a crash
		// loses between fsyncs.
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		Discard:    jetstream.DiscardOld,
		MaxAge:     c.MaxAge,
		Duplicates: c.Duplicates,
		Replicas:   c.Replicas,
		// Direct gets let the relay's gap check read a message by sequence cheaply.
		AllowDirect: true,
	}
}

// EnsureStream creates the KEFU stream or updates it to c. Every service calls it at start-up, so the
// configuration converges on the newest deployed values. A stream that already has c's configuration is
// left alone: an update, even to the same values, races in nats-server with consumers being created on the
// stream (its race detector reports it), and every service starts its consumers while the others ensure
// the stream.
func EnsureStream(ctx context.Context, js jetstream.JetStream, c StreamConfig) (jetstream.Stream, error) {
	c = c.withDefaults()
	switch {
	case c.MaxAge < 0, c.Duplicates < 0, c.Replicas < 0:
		return nil, errors.New("ensure stream: negative limit")
	case c.Duplicates > c.MaxAge:
		return nil, fmt.Errorf("ensure stream: duplicate window %s exceeds max age %s", c.Duplicates, c.MaxAge)
	}
	want := c.JetStreamConfig()
	s, err := js.Stream(ctx, StreamName)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		// Creating a stream another service just created with the same configuration succeeds; with
		// another configuration it fails, and this one's values win.
		s, err = js.CreateStream(ctx, want)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			s, err = js.UpdateStream(ctx, want)
		}
	case err == nil && !sameStreamConfig(s.CachedInfo().Config, want):
		s, err = js.UpdateStream(ctx, want)
	}
	if err != nil {
		return nil, fmt.Errorf("ensure stream %s: %w", StreamName, err)
	}
	return s, nil
}

// sameStreamConfig reports whether have already holds every value JetStreamConfig sets in want (the
// server fills in the rest).
func sameStreamConfig(have, want jetstream.StreamConfig) bool {
	return have.Description == want.Description && slices.Equal(have.Subjects, want.Subjects) &&
		have.Storage == want.Storage && have.Retention == want.Retention && have.Discard == want.Discard &&
		have.MaxAge == want.MaxAge && have.Duplicates == want.Duplicates && have.Replicas == want.Replicas &&
		have.AllowDirect == want.AllowDirect
}

// KeepStream creates or updates the KEFU stream, retrying with backoff while NATS is unreachable, and
// returns once it exists or ctx ends. Services accept requests without NATS (the outbox holds their
// events), so a broker that is down at start must not stop them; every publishing service runs it, so the
// stream exists whichever starts first.
func KeepStream(ctx context.Context, js jetstream.JetStream, c StreamConfig, log *slog.Logger) {
	delay := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := EnsureStream(actx, js, c)
		cancel()
		if err == nil || ctx.Err() != nil {
			return
		}
		if attempt == 1 || attempt%10 == 0 {
			log.WarnContext(ctx, "ensure event stream; retrying", "attempt", attempt, "error", err.Error())
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(2*delay, 5*time.Second)
	}
}
