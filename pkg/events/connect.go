package events

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// Connect dials NATS with the options kefu's relay and consumers rely on:
//   - it keeps reconnecting forever, also when the server is down at start-up, so a service accepts
//     requests (and queues events in its outbox) while NATS is away;
//   - it disables the reconnect buffer, so a publish while disconnected fails at once instead of being
//     flushed blindly after a reconnect, before the relay has checked the stream for a lost tail;
//   - it logs disconnects and reconnects.
//
// name identifies the client in the server's monitoring (the service name); a nil logger discards.
func Connect(url, name string, logger *slog.Logger) (*nats.Conn, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			logger.Info("nats reconnected", "url", c.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			logger.Warn("nats async error", "subject", subject, "err", err)
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	return nc, nil
}

// Drain flushes and closes the NATS connection, waiting at most a few seconds.
func Drain(nc *nats.Conn) error {
	if nc.IsClosed() {
		return nil
	}
	done := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(done) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return err
	}
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		nc.Close()
		return errors.New("drain timed out")
	}
}
