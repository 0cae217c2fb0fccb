package natsembed_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/testkit"
)

// TestRestartKeepsTheStream proves a server restarted on the same port and store folder recovers its
// streams, and that a client with reconnects enabled finds it again.
func TestRestartKeepsTheStream(t *testing.T) {
	t.Parallel()
	srv, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: t.TempDir(), SyncAlways: true})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	require.Positive(t, srv.Options().Port)

	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Storage: jetstream.FileStorage})
	require.NoError(t, err)
	_, err = js.Publish(t.Context(), "t.a", []byte("kept"))
	require.NoError(t, err)

	srv.Shutdown()
	srv.Shutdown() // twice is safe
	again, err := natsembed.Start(srv.Options())
	require.NoError(t, err)
	t.Cleanup(again.Shutdown)
	require.Equal(t, srv.ClientURL(), again.ClientURL())
	// The client notices the restart on its own schedule; wait for it rather than racing its reconnect.
	// (IsConnected alone can still report the old, dead connection.)
	testkit.Eventually(t, func() bool { return nc.Stats().Reconnects >= 1 && nc.IsConnected() },
		30*time.Second, "client never reconnected to the restarted server")

	s, err := js.Stream(t.Context(), "T")
	require.NoError(t, err)
	m, err := s.GetMsg(t.Context(), 1)
	require.NoError(t, err)
	require.Equal(t, "kept", string(m.Data))
}

func TestStartNeedsAStoreFolder(t *testing.T) {
	t.Parallel()
	_, err := natsembed.Start(natsembed.Options{Port: -1})
	require.ErrorContains(t, err, "StoreDir is required")
}
