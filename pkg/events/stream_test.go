package events_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/events"
	"kefu.dev/pkg/testkit"
)

// TestEnsureStreamCreatesAndUpdates: the first call creates the stream, a call with the same
// configuration keeps it, and a call with new limits applies them.
func TestEnsureStreamCreatesAndUpdates(t *testing.T) {
	t.Parallel()
	srv := testkit.NATS(t)
	_, js := testkit.JetStream(t, srv.ClientURL(), slog.New(slog.DiscardHandler))

	s, err := events.EnsureStream(t.Context(), js, events.StreamConfig{})
	require.NoError(t, err)
	created := s.CachedInfo().Created
	require.Equal(t, events.DefaultMaxAge, s.CachedInfo().Config.MaxAge)

	s, err = events.EnsureStream(t.Context(), js, events.StreamConfig{})
	require.NoError(t, err)
	require.Equal(t, created, s.CachedInfo().Created)

	s, err = events.EnsureStream(t.Context(), js, events.StreamConfig{MaxAge: 7 * 24 * time.Hour, Duplicates: time.Hour})
	require.NoError(t, err)
	require.Equal(t, 7*24*time.Hour, s.CachedInfo().Config.MaxAge)
	require.Equal(t, time.Hour, s.CachedInfo().Config.Duplicates)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	require.Equal(t, 7*24*time.Hour, info.Config.MaxAge, "the server has the new limits")
}
