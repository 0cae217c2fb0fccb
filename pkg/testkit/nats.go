package testkit

import (
	"log/slog"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"kefu.dev/pkg/events"
	"kefu.dev/pkg/natsembed"
)

// NATS starts an embedded NATS server with JetStream for one test: a random port on 127.0.0.1 and a store in
// t.TempDir(), shut down in t.Cleanup. A test that restarts it calls Shutdown and natsembed.Start(s.Options())
// for the same port and store, and registers its own cleanup for the new server.
func NATS(t testing.TB) *natsembed.Server {
	t.Helper()
	s, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("start embedded nats: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// JetStream connects to the NATS server at url the way services do (events.Connect: reconnect forever, no
// reconnect buffer), makes sure the KEFU stream exists, and closes the connection in t.Cleanup.
func JetStream(t testing.TB, url string, log *slog.Logger) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := events.Connect(url, t.Name(), log)
	if err != nil {
		t.Fatalf("connect to nats: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	if _, err := events.EnsureStream(t.Context(), js, events.StreamConfig{}); err != nil {
		t.Fatalf("ensure stream: %v", err)
	}
	return nc, js
}
