// Package membership is the staff membership source backed by the routing service, which owns groups,
// agents and memberships: an auth.Memberships that asks routing (GetMemberships) which groups a staff
// member works in or heads, caches the answer per staff member, and drops it when routing publishes
// kefu.routing.agent_changed or kefu.routing.group_changed. With it, a staff token's groups claim is
// ignored: removing an agent from a group at routing takes their access to the group's queue away within
// the event's delivery plus the authenticator's token cache (auth.DefaultKeyCacheTTL), not at the token's
// expiry.
package membership

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/grpcx"
)

// Subjects are the routing events that change someone's groups.
var (
	SubjectAgentChanged = events.Subject("routing", "agent_changed")
	SubjectGroupChanged = events.Subject("routing", "group_changed")
)

// Defaults.
const (
	// DefaultTTL bounds how long an answer is reused even without an event: a safety net, since every
	// change is announced.
	DefaultTTL = time.Minute
	// CallTimeout bounds each call to routing.
	CallTimeout = 2 * time.Second
	// maxEntries bounds the cache; it is cleared when full.
	maxEntries = 10000
)

// Fetcher reads a staff member's groups (worked in and headed) from the source of truth.
type Fetcher interface {
	Memberships(ctx context.Context, staffID string) ([]string, error)
}

// Options configures a Source.
type Options struct {
	// TTL defaults to DefaultTTL.
	TTL time.Duration
	// Now defaults to time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Source implements auth.Memberships over a Fetcher, with a cache that Follow keeps true. Until Follow is
// subscribed nothing is cached (a change made meanwhile would go unseen), so every lookup asks routing.
type Source struct {
	fetch Fetcher
	o     Options

	mu      sync.Mutex
	entries map[string]entry
	// gen counts invalidations: an answer fetched across one is returned but not cached, since it may
	// predate the change the invalidation announced.
	gen  uint64
	live bool
}

type entry struct {
	groups []string
	until  time.Time
}

var _ auth.Memberships = (*Source)(nil)

// New returns a Source over fetch.
func New(fetch Fetcher, o Options) *Source {
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Source{fetch: fetch, o: o, entries: map[string]entry{}}
}

// Groups returns the groups staff works in or heads. A subject that is not a UUID cannot be a routing
// agent or head, so it has none. When routing cannot answer, an expired answer is reused (staff keep
// working through a routing outage with what they had); with none, the error is returned, and the gRPC
// edge answers UNAVAILABLE (retry), never the token's claim.
func (s *Source) Groups(ctx context.Context, staff auth.StaffClaims) ([]string, error) {
	id := staff.Subject
	if _, err := uuid.Parse(id); err != nil {
		return nil, nil
	}
	now := s.o.Now()
	s.mu.Lock()
	e, cached := s.entries[id]
	gen := s.gen
	s.mu.Unlock()
	if cached && now.Before(e.until) {
		return slices.Clone(e.groups), nil
	}
	groups, err := s.fetch.Memberships(ctx, id)
	if err != nil {
		if cached {
			s.o.Logger.WarnContext(ctx, "routing did not answer; reusing the staff member's last known groups",
				"staff_id", id, "error", err.Error())
			return slices.Clone(e.groups), nil
		}
		return nil, err
	}
	s.mu.Lock()
	if s.live && s.gen == gen {
		if len(s.entries) >= maxEntries {
			clear(s.entries)
		}
		s.entries[id] = entry{groups: slices.Clone(groups), until: now.Add(s.o.TTL)}
	}
	s.mu.Unlock()
	return groups, nil
}

// Invalidate drops the cached groups of the staff members named.
func (s *Source) Invalidate(staffIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	for _, id := range staffIDs {
		delete(s.entries, id)
	}
}

// setLive turns caching on (the subscription is in place) or off, dropping everything cached either way.
func (s *Source) setLive(live bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.live = live
	clear(s.entries)
}

// Follow subscribes to routing's agent and group changes (an ordered consumer of the KEFU stream from
// now on: every replica sees every change) and drops the cached groups of whoever a change concerns,
// until ctx ends. When the subscription breaks, caching stops (nothing is trusted that a missed event
// might have changed) until it is back.
func (s *Source) Follow(ctx context.Context, js jetstream.JetStream) error {
	for attempt := 1; ; attempt++ {
		err := s.follow(ctx, js)
		s.setLive(false)
		if ctx.Err() != nil {
			return nil
		}
		s.o.Logger.WarnContext(ctx, "membership changes: subscription broke; asking routing on every call until it is back",
			"error", fmt.Sprint(err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(min(250*time.Millisecond<<min(attempt-1, 6), 10*time.Second)):
		}
	}
}

func (s *Source) follow(ctx context.Context, js jetstream.JetStream) error {
	cons, err := js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{SubjectAgentChanged, SubjectGroupChanged}, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		return fmt.Errorf("subscribe to membership changes: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("subscribe to membership changes: %w", err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	s.setLive(true)
	for {
		m, err := it.Next()
		if err != nil {
			return err
		}
		s.apply(m.Subject(), m.Data())
	}
}

// apply drops the cache entries a change concerns; an event it cannot read drops them all.
func (s *Source) apply(subject string, data []byte) {
	switch subject {
	case SubjectAgentChanged:
		var ev eventsv1.RoutingAgentChanged
		if err := proto.Unmarshal(data, &ev); err == nil {
			s.Invalidate(ev.GetAgentId())
			return
		}
	case SubjectGroupChanged:
		var ev eventsv1.RoutingGroupChanged
		if err := proto.Unmarshal(data, &ev); err == nil {
			s.Invalidate(ev.GetHeadAgentId(), ev.GetPreviousHeadAgentId())
			return
		}
	}
	s.setLive(true) // clears everything, stays live
}

// Client is a Fetcher over routing's GetMemberships, authenticated with the caller's API key at routing.
type Client struct {
	cc  *grpc.ClientConn
	api routingv1.RoutingServiceClient
}

// Dial returns a client of routing at addr that authenticates with apiKey. The connection is lazy: an
// unreachable routing fails calls, not Dial.
func Dial(addr, apiKey string) (*Client, error) {
	cc, err := grpcx.Dial(addr, grpcx.Bearer(apiKey))
	if err != nil {
		return nil, fmt.Errorf("routing service: %w", err)
	}
	return &Client{cc: cc, api: routingv1.NewRoutingServiceClient(cc)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.cc.Close() }

// Memberships returns the groups staffID works in and heads, without duplicates.
func (c *Client) Memberships(ctx context.Context, staffID string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	resp, err := c.api.GetMemberships(ctx, &routingv1.GetMembershipsRequest{StaffId: staffID})
	if err != nil {
		// The code only: the message is routing's, and the caller logs this.
		return nil, fmt.Errorf("routing GetMemberships: %s", status.Code(err))
	}
	out := slices.Clone(resp.GetMemberGroupIds())
	for _, g := range resp.GetHeadedGroupIds() {
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out, nil
}
