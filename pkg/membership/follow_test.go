package membership

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/testkit"
)

// TestFollowDropsTheCacheOnRoutingEvents runs Follow against a real JetStream server: once subscribed the
// source caches, and a kefu.routing.agent_changed published to the stream drops the agent's entry.
func TestFollowDropsTheCacheOnRoutingEvents(t *testing.T) {
	t.Parallel()
	ns := testkit.NATS(t)
	nc, err := nats.Connect(ns.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	_, err = events.EnsureStream(t.Context(), js, events.StreamConfig{})
	require.NoError(t, err)

	f := &fetcher{groups: map[string][]string{alice: {g1}}}
	s := New(f, Options{TTL: time.Hour})
	done := make(chan error, 1)
	go func() { done <- s.Follow(t.Context(), js) }()
	t.Cleanup(func() { require.NoError(t, <-done) })

	require.Eventually(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.live
	}, 10*time.Second, 10*time.Millisecond, "Follow never subscribed")
	groupsOf(t, s, alice)
	groupsOf(t, s, alice)
	require.Equal(t, 1, f.count(), "subscribed, the source caches")

	publish := func(subject string, body []byte) {
		t.Helper()
		_, err := js.Publish(t.Context(), subject, body)
		require.NoError(t, err)
	}
	f.set(alice, g2)
	publish(SubjectAgentChanged, mustMarshal(t, &eventsv1.RoutingAgentChanged{AgentId: alice}))
	require.Eventually(t, func() bool {
		g, err := s.Groups(t.Context(), staff(alice))
		return err == nil && len(g) == 1 && g[0] == g2
	}, 10*time.Second, 10*time.Millisecond, "the agent_changed event never dropped alice's entry")
}
