package testkit

import (
	"testing"

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
