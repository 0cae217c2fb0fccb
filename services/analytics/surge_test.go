package analytics_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	analyticsv1 "kefu.dev/pkg/api/kefu/analytics/v1"
	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/analytics"
	"kefu.dev/services/analytics/internal/store"
)

// startWith is start with the config adjusted by configure before the service starts.
func startWith(t *testing.T, configure func(*analytics.Config)) *stack {
	t.Helper()
	ns := testkit.NATS(t)
	db := testkit.NewDB(t, store.Schema, analytics.Migrations()...)
	creds().InsertKeys(t, db, nil)
	cfg := analytics.DefaultConfig()
	cfg.DatabaseURL, cfg.MigrateDatabaseURL, cfg.NATSURL, cfg.Migrate = db.RuntimeURL, db.OwnerURL, ns.ClientURL(), false
	cfg.ShutdownTimeout, cfg.Auth, cfg.BatchSize = 5*time.Second, creds().AuthConfig(), 7
	configure(&cfg)
	nc, err := nats.Connect(ns.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	s := &stack{nats: ns, js: js, cfg: cfg}
	s.serve(t)
	return s
}

// surgeHour is the hour the surge tests burst in: two days after the test credentials' start, so the fake
// clock stays inside their validity.
var surgeHour = testStart.Add(48 * time.Hour)

// startSurges starts the service with a fake clock at at, evaluating every 50 ms, with a minimum of 5
// tickets (the factor 3 and the 4 baseline weeks are the defaults).
func startSurges(t *testing.T, at time.Time) (*stack, *clock.Fake) {
	clk := clock.NewFake(at)
	s := startWith(t, func(c *analytics.Config) {
		c.Clock, c.SurgeInterval, c.SurgeMinTickets = clk, 50*time.Millisecond, 5
	})
	return s, clk
}

// created publishes n new tickets received at `at` on channel ch with subcategory sub ("" for none).
func (s *stack) created(t *testing.T, n int, ch intakev1.Channel, sub string, at time.Time) {
	t.Helper()
	for range n {
		s.publish(t, event{id: uuid.NewString(), subject: "kefu.ticket.created", ticket: uuid.NewString(), seq: 1, at: at,
			body: &eventsv1.TicketCreated{Channel: ch, ReceivedTime: timestamppb.New(at), ToStatus: intakev1.TicketStatus_TICKET_STATUS_NEW,
				Classification: class(intakev1.TicketType_TICKET_TYPE_REQUEST, sub, intakev1.Urgency_URGENCY_NORMAL, 0)}})
	}
}

// awaitTickets waits until n tickets are projected and nothing is behind.
func (s *stack) awaitTickets(t *testing.T, n int64) {
	t.Helper()
	s.awaitStatus(t, "tickets", n, (*analyticsv1.GetIngestionStatusResponse).GetTickets)
}

func (s *stack) surges(t *testing.T, activeOnly bool) []*analyticsv1.VolumeSurgeInfo {
	t.Helper()
	resp, err := s.client.ListVolumeSurges(as(t.Context(), supervisorP, "supervisor"), &analyticsv1.ListVolumeSurgesRequest{ActiveOnly: activeOnly})
	require.NoError(t, err)
	return resp.GetSurges()
}

// awaitSurges waits until the list satisfies ok, and returns it.
func (s *stack) awaitSurges(t *testing.T, what string, ok func([]*analyticsv1.VolumeSurgeInfo) bool) []*analyticsv1.VolumeSurgeInfo {
	t.Helper()
	var got []*analyticsv1.VolumeSurgeInfo
	testkit.EventuallyNoError(t, func() error {
		got = s.surges(t, false)
		if !ok(got) {
			return fmt.Errorf("want %s, have %v", what, got)
		}
		return nil
	}, wait)
	return got
}

// published returns how many events the stream holds on subject, and the last one, decoded into m.
func (s *stack) published(t *testing.T, subject string, m proto.Message) uint64 {
	t.Helper()
	str, err := s.js.Stream(t.Context(), events.StreamName)
	require.NoError(t, err)
	info, err := str.Info(t.Context(), jetstream.WithSubjectFilter(subject))
	require.NoError(t, err)
	n := info.State.Subjects[subject]
	if n > 0 {
		raw, err := str.GetLastMsgForSubject(t.Context(), subject)
		require.NoError(t, err)
		require.NoError(t, proto.Unmarshal(raw.Data, m))
	}
	return n
}

// awaitPublished waits until subject has at least one event, then requires exactly one, decoded into m.
func (s *stack) awaitPublished(t *testing.T, subject string, m proto.Message) {
	t.Helper()
	testkit.EventuallyNoError(t, func() error {
		if n := s.published(t, subject, m); n == 0 {
			return fmt.Errorf("nothing on %s yet", subject)
		}
		return nil
	}, wait)
	require.EqualValues(t, 1, s.published(t, subject, m), "events on %s", subject)
}

var (
	surgeSubject   = events.Subject("analytics", "volume_surge")
	clearedSubject = events.Subject("analytics", "volume_surge_cleared")
)

// TestSurgeFiresAndClears (issue 8, "surge fires and clears"): web chat has 2 tickets in the same hour of
// each of the previous four weeks (baseline 2, threshold max(3 × 2, 5) = 6). A burst of 10 in the current
// hour fires one surge, announced once on kefu.analytics.volume_surge; later evaluations follow its peak
// without firing again. Two hours later, after an hour of normal volume, it clears, announced once.
func TestSurgeFiresAndClears(t *testing.T) {
	t.Parallel()
	h := surgeHour
	// The clock starts in the hour before, so the burst is wholly ingested before the hour is evaluated.
	s, clk := startSurges(t, h.Add(-30*time.Minute))
	chat, email := intakev1.Channel_CHANNEL_WEB_CHAT, intakev1.Channel_CHANNEL_EMAIL
	for k := 1; k <= 4; k++ {
		s.created(t, 2, chat, "", h.AddDate(0, 0, -7*k).Add(10*time.Minute))
	}
	s.created(t, 10, chat, "", h.Add(5*time.Minute))
	s.created(t, 1, email, "", h.Add(5*time.Minute))
	s.awaitTickets(t, 19)
	require.Empty(t, s.surges(t, false), "nothing in the hour before")

	clk.Set(h.Add(30 * time.Minute))
	got := s.awaitSurges(t, "one surge", func(l []*analyticsv1.VolumeSurgeInfo) bool { return len(l) > 0 })
	require.Len(t, got, 1)
	sg := got[0]
	require.Equal(t, eventsv1.SurgeDimension_SURGE_DIMENSION_CHANNEL, sg.GetDimension())
	require.Equal(t, "web_chat", sg.GetValue())
	require.True(t, sg.GetActive())
	require.Nil(t, sg.GetUntil())
	require.True(t, h.Equal(sg.GetSince().AsTime()))
	require.EqualValues(t, 10, sg.GetTickets())
	require.EqualValues(t, 10, sg.GetPeakTickets())
	require.Equal(t, 2.0, sg.GetBaseline())
	require.Equal(t, 3.0, sg.GetFactor())

	var fired eventsv1.VolumeSurge
	s.awaitPublished(t, surgeSubject, &fired)
	require.Equal(t, sg.GetSurgeId(), fired.GetSurgeId())
	require.Equal(t, sg.GetSurgeId(), fired.GetMeta().GetAggregateId())
	require.EqualValues(t, 1, fired.GetMeta().GetAggregateSeq())
	require.Equal(t, "analytics", fired.GetMeta().GetSource())
	require.Equal(t, eventsv1.SurgeDimension_SURGE_DIMENSION_CHANNEL, fired.GetDimension())
	require.Equal(t, "web_chat", fired.GetValue())
	require.EqualValues(t, 10, fired.GetTickets())
	require.Equal(t, 2.0, fired.GetBaseline())
	require.Equal(t, 5.0, fired.GetRatio())
	require.Equal(t, 3.0, fired.GetFactor())
	require.True(t, h.Equal(fired.GetSince().AsTime()))

	// Two more in the hour: the evaluations that follow raise the peak and fire nothing new.
	s.created(t, 2, chat, "", h.Add(40*time.Minute))
	s.awaitTickets(t, 21)
	got = s.awaitSurges(t, "the peak at 12", func(l []*analyticsv1.VolumeSurgeInfo) bool {
		return len(l) > 0 && l[0].GetPeakTickets() == 12
	})
	require.Len(t, got, 1, "one surge, however many evaluations")
	require.EqualValues(t, 10, got[0].GetTickets(), "tickets stay those at detection")
	require.EqualValues(t, 1, s.published(t, surgeSubject, &fired))

	// The next hour has normal volume (2, under the minimum: its baseline is 0); two hours on, that
	// complete hour is at its threshold and the current one is quiet, so the surge clears at the end of h.
	s.created(t, 2, chat, "", h.Add(70*time.Minute))
	s.awaitTickets(t, 23)
	clk.Advance(2 * time.Hour)
	got = s.awaitSurges(t, "the surge cleared", func(l []*analyticsv1.VolumeSurgeInfo) bool {
		return len(l) > 0 && !l[0].GetActive()
	})
	require.Len(t, got, 1)
	require.Equal(t, sg.GetSurgeId(), got[0].GetSurgeId())
	require.True(t, h.Add(time.Hour).Equal(got[0].GetUntil().AsTime()), "until the end of the last hour over: %v", got[0].GetUntil().AsTime())
	require.EqualValues(t, 12, got[0].GetPeakTickets())
	require.Empty(t, s.surges(t, true), "no active surge")

	var cleared eventsv1.VolumeSurgeCleared
	s.awaitPublished(t, clearedSubject, &cleared)
	require.Equal(t, sg.GetSurgeId(), cleared.GetSurgeId())
	require.Equal(t, sg.GetSurgeId(), cleared.GetMeta().GetAggregateId())
	require.EqualValues(t, 2, cleared.GetMeta().GetAggregateSeq())
	require.Equal(t, eventsv1.SurgeDimension_SURGE_DIMENSION_CHANNEL, cleared.GetDimension())
	require.Equal(t, "web_chat", cleared.GetValue())
	require.True(t, h.Equal(cleared.GetSince().AsTime()))
	require.True(t, h.Add(time.Hour).Equal(cleared.GetUntil().AsTime()))
	require.EqualValues(t, 12, cleared.GetPeakTickets())
	require.EqualValues(t, 1, s.published(t, surgeSubject, &fired), "still one volume_surge")
}

// TestSurgeFiresForASubcategory: six return/exchange tickets in an hour, two on each of three channels,
// with no history: the subcategory is over the minimum (5) and fires. No channel is over it, and the four
// web chat tickets without a subcategory count for no subcategory.
func TestSurgeFiresForASubcategory(t *testing.T) {
	t.Parallel()
	h := surgeHour
	s, clk := startSurges(t, h.Add(-30*time.Minute))
	for _, ch := range []intakev1.Channel{intakev1.Channel_CHANNEL_EMAIL, intakev1.Channel_CHANNEL_PHONE, intakev1.Channel_CHANNEL_APP} {
		s.created(t, 2, ch, "return_exchange", h.Add(15*time.Minute))
	}
	s.created(t, 4, intakev1.Channel_CHANNEL_WEB_CHAT, "", h.Add(15*time.Minute))
	s.awaitTickets(t, 10)

	clk.Set(h.Add(30 * time.Minute))
	var fired eventsv1.VolumeSurge
	s.awaitPublished(t, surgeSubject, &fired)
	require.Equal(t, eventsv1.SurgeDimension_SURGE_DIMENSION_SUBCATEGORY, fired.GetDimension())
	require.Equal(t, "return_exchange", fired.GetValue())
	require.EqualValues(t, 6, fired.GetTickets())
	require.Equal(t, 0.0, fired.GetBaseline())
	require.Equal(t, 0.0, fired.GetRatio(), "0 without a baseline")
	require.True(t, h.Equal(fired.GetSince().AsTime()))

	got := s.surges(t, true)
	require.Len(t, got, 1)
	require.Equal(t, eventsv1.SurgeDimension_SURGE_DIMENSION_SUBCATEGORY, got[0].GetDimension())
	require.Equal(t, "return_exchange", got[0].GetValue())
	require.Equal(t, fired.GetSurgeId(), got[0].GetSurgeId())
}

// TestConfigIsValidated: each bad ingestion or surge setting stops start-up naming its flag and variable.
func TestConfigIsValidated(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		set  func(*analytics.Config)
		flag string
	}{
		{func(c *analytics.Config) { c.BatchSize = 0 }, "batch-size (KEFU_BATCH_SIZE)"},
		{func(c *analytics.Config) { c.IngestConcurrency = 0 }, "ingest-concurrency (KEFU_INGEST_CONCURRENCY)"},
		{func(c *analytics.Config) { c.IngestConcurrency = 5 }, "ingest-concurrency (KEFU_INGEST_CONCURRENCY)"},
		{func(c *analytics.Config) { c.SurgeInterval = 0 }, "surge-interval (KEFU_SURGE_INTERVAL)"},
		{func(c *analytics.Config) { c.SurgeFactor = 1 }, "surge-factor (KEFU_SURGE_FACTOR)"},
		{func(c *analytics.Config) { c.SurgeMinTickets = 0 }, "surge-min-tickets (KEFU_SURGE_MIN_TICKETS)"},
		{func(c *analytics.Config) { c.SurgeBaselineWeeks = 0 }, "surge-baseline-weeks (KEFU_SURGE_BASELINE_WEEKS)"},
	} {
		cfg := analytics.DefaultConfig()
		cfg.DatabaseURL, cfg.NATSURL, cfg.Auth = "postgres://x", "nats://x", creds().AuthConfig()
		require.NoError(t, cfg.Validate())
		tc.set(&cfg)
		require.ErrorContains(t, cfg.Validate(), tc.flag)
	}
}
