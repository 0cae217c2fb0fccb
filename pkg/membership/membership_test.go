package membership

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	"kefu.dev/pkg/auth"
)

// fetcher answers from a table and counts calls; during, when set, runs inside a call (to change things
// while the answer is in flight).
type fetcher struct {
	mu     sync.Mutex
	groups map[string][]string
	err    error
	calls  int
	during func()
}

func (f *fetcher) Memberships(_ context.Context, id string) ([]string, error) {
	f.mu.Lock()
	f.calls++
	g, err, during := f.groups[id], f.err, f.during
	f.mu.Unlock()
	if during != nil {
		during()
	}
	return g, err
}

func (f *fetcher) set(id string, groups ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups[id] = groups
}

func (f *fetcher) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

const (
	alice = "0190a0a0-0000-7000-8000-000000000001"
	bob   = "0190a0a0-0000-7000-8000-000000000002"
	g1    = "0190a0a0-0000-7000-8000-0000000000a1"
	g2    = "0190a0a0-0000-7000-8000-0000000000a2"
)

// newSource returns a live Source (as if Follow were subscribed) on a fake clock.
func newSource(f *fetcher, now *time.Time) *Source {
	s := New(f, Options{TTL: time.Minute, Now: func() time.Time { return *now }})
	s.setLive(true)
	return s
}

func staff(id string) auth.StaffClaims { return auth.StaffClaims{Subject: id} }

func groupsOf(t *testing.T, s *Source, id string) []string {
	t.Helper()
	g, err := s.Groups(t.Context(), staff(id))
	require.NoError(t, err)
	return g
}

func TestSourceCachesUntilAChangeConcernsTheStaffMember(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	f := &fetcher{groups: map[string][]string{alice: {g1}, bob: {g2}}}
	s := newSource(f, &now)

	require.Equal(t, []string{g1}, groupsOf(t, s, alice))
	require.Equal(t, []string{g1}, groupsOf(t, s, alice))
	require.Equal(t, 1, f.count(), "the second lookup is served from the cache")

	f.set(alice, g1, g2)
	require.Equal(t, []string{g1}, groupsOf(t, s, alice), "no event yet: the cached answer stands")
	s.apply(SubjectAgentChanged, mustMarshal(t, &eventsv1.RoutingAgentChanged{AgentId: bob}))
	require.Equal(t, []string{g1}, groupsOf(t, s, alice), "a change of someone else leaves alice cached")
	s.apply(SubjectAgentChanged, mustMarshal(t, &eventsv1.RoutingAgentChanged{AgentId: alice}))
	require.Equal(t, []string{g1, g2}, groupsOf(t, s, alice), "alice's change drops her entry")

	require.Equal(t, []string{g2}, groupsOf(t, s, bob))
	f.set(bob)
	s.apply(SubjectGroupChanged, mustMarshal(t, &eventsv1.RoutingGroupChanged{GroupId: g2, PreviousHeadAgentId: bob}))
	require.Empty(t, groupsOf(t, s, bob), "losing the head of a group drops the former head's entry")

	calls := f.count()
	now = now.Add(time.Minute)
	groupsOf(t, s, alice)
	require.Equal(t, calls+1, f.count(), "an entry past its TTL is fetched again")

	calls = f.count()
	s.apply(SubjectAgentChanged, []byte{0}) // field number 0: not a protobuf message
	groupsOf(t, s, alice)
	groupsOf(t, s, bob)
	require.Equal(t, calls+2, f.count(), "an unreadable event drops everyone")
}

func TestSourceDoesNotCacheAnAnswerOlderThanAChange(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	f := &fetcher{groups: map[string][]string{alice: {g1}}}
	s := newSource(f, &now)
	// The change lands while routing's (older) answer is on its way back.
	f.during = func() { s.Invalidate(alice) }
	require.Equal(t, []string{g1}, groupsOf(t, s, alice))
	f.during = nil
	f.set(alice, g2)
	require.Equal(t, []string{g2}, groupsOf(t, s, alice), "the answer fetched across the change was not kept")
}

func TestSourceCachesNothingUntilSubscribed(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	f := &fetcher{groups: map[string][]string{alice: {g1}}}
	s := New(f, Options{Now: func() time.Time { return now }})
	groupsOf(t, s, alice)
	groupsOf(t, s, alice)
	require.Equal(t, 2, f.count(), "without the change events every lookup asks routing")
	s.setLive(true)
	groupsOf(t, s, alice)
	groupsOf(t, s, alice)
	require.Equal(t, 3, f.count())
	s.setLive(false)
	groupsOf(t, s, alice)
	require.Equal(t, 4, f.count(), "a broken subscription drops the cache")
}

func TestSourceWhenRoutingCannotAnswer(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	f := &fetcher{groups: map[string][]string{alice: {g1}}}
	s := newSource(f, &now)
	require.Equal(t, []string{g1}, groupsOf(t, s, alice))
	f.err = errors.New("routing GetMemberships: Unavailable")
	now = now.Add(2 * time.Minute)
	require.Equal(t, []string{g1}, groupsOf(t, s, alice), "an expired answer is reused while routing is down")
	_, err := s.Groups(t.Context(), auth.StaffClaims{Subject: bob, Groups: []string{g1}})
	require.Error(t, err, "someone never seen is refused, not given their token's claim")
}

func TestSourceSubjectsThatAreNotAgentIDs(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	f := &fetcher{groups: map[string][]string{}}
	s := newSource(f, &now)
	g, err := s.Groups(t.Context(), auth.StaffClaims{Subject: "alice@example.com", Groups: []string{g1}})
	require.NoError(t, err)
	require.Empty(t, g, "a subject that is not a UUID is no routing agent: no groups, whatever the token claims")
	require.Zero(t, f.count(), "and routing is not asked")
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	require.NoError(t, err)
	return b
}
