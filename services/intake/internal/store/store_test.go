package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/store"
)

var (
	day1 = time.Date(2023, 10, 26, 0, 0, 0, 0, time.UTC)
	day2 = time.Date(2023, 10, 27, 0, 0, 0, 0, time.UTC)
	now  = time.Date(2023, 10, 26, 2, 0, 0, 0, time.UTC)
)

func newDB(t *testing.T) *testkit.DB {
	t.Helper()
	return testkit.NewDB(t, store.Schema, store.Migrations()...)
}

func serial(t *testing.T, db *testkit.DB, day time.Time) int64 {
	t.Helper()
	var n int64
	require.NoError(t, db.Pool.QueryRow(t.Context(), `SELECT next_ticket_serial($1)`, day).Scan(&n))
	return n
}

func TestSerialsStartAtOneEachDayAndIncrease(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	require.Equal(t, int64(1), serial(t, db, day1))
	require.Equal(t, int64(2), serial(t, db, day1))
	require.Equal(t, int64(1), serial(t, db, day2), "a new day starts again at 1")
	// One sequence feeds every day, so the value day 2 drew is a gap in day 1's serials.
	require.Equal(t, int64(4), serial(t, db, day1), "a late submit of the previous day continues it, with a gap")
	require.Equal(t, "GD202310260005", ticket.FormatNumber(day1, serial(t, db, day1)))
}

// TestSerialsWidenPastFourDigits sets the sequence so that a day's serials pass 9999: numbers get a fifth
// digit and stay unique and well formed.
func TestSerialsWidenPastFourDigits(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	require.Equal(t, int64(1), serial(t, db, day1))
	admin, err := pgx.Connect(t.Context(), db.OwnerURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close(context.WithoutCancel(t.Context())) })
	var base int64
	require.NoError(t, admin.QueryRow(t.Context(), `SELECT base FROM intake.ticket_days WHERE day = $1`, day1).Scan(&base))
	_, err = admin.Exec(t.Context(), `SELECT setval('intake.ticket_serial_seq', $1)`, base+9997)
	require.NoError(t, err)
	var got []string
	for range 3 {
		got = append(got, ticket.FormatNumber(day1, serial(t, db, day1)))
	}
	require.Equal(t, []string{"GD202310269999", "GD2023102610000", "GD2023102610001"}, got)
	for _, n := range got {
		_, _, ok := ticket.ParseNumber(n)
		require.True(t, ok, n)
	}
}

// TestSerialsAreUniqueAcrossConcurrentFirstsOfADay races many sessions for a day's first serial: the one
// that records the base wins, the others draw again, and no serial repeats or falls below 1.
func TestSerialsAreUniqueAcrossConcurrentFirstsOfADay(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	const n = 40
	got := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.Pool.QueryRow(t.Context(), `SELECT next_ticket_serial($1)`, day2).Scan(&got[i])
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i := range n {
		require.NoError(t, errs[i])
		require.GreaterOrEqual(t, got[i], int64(1))
		require.False(t, seen[got[i]], "serial %d twice", got[i])
		seen[got[i]] = true
	}
}

// TestTheTimelineIsImmutable proves the runtime role cannot rewrite or delete history.
func TestTheTimelineIsImmutable(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	st := store.New(db.Pool)
	tk := createTicket(t, st, "hello")
	for _, sql := range []string{
		`UPDATE timeline_entries SET text = 'rewritten' WHERE ticket_id = $1`,
		`DELETE FROM timeline_entries WHERE ticket_id = $1`,
	} {
		_, err := db.Pool.Exec(t.Context(), sql, tk.ID)
		require.Error(t, err, sql)
		require.Equal(t, "42501", pgxutil.PgCode(err), "%s: %v", sql, err)
	}
}

// createTicket stores a new ticket through the store, as SubmitTicket does.
func createTicket(t *testing.T, st *store.Store, description string) *ticket.Ticket {
	t.Helper()
	return createTicketFor(t, st, uuid.Must(uuid.NewV7()), description)
}

// createTicketFor stores a new ticket of the customer, with a consented phone, a member number, a key fact
// and an attachment.
func createTicketFor(t *testing.T, st *store.Store, customer uuid.UUID, description string) *ticket.Ticket {
	t.Helper()
	id := uuid.Must(uuid.NewV7())
	claim := idempotency.Claim{Principal: "adapter:test", Scope: "submit_ticket", Key: id.String(), Fingerprint: []byte{1}, ResourceID: id.String()}
	tk, replayed, err := st.CreateTicket(t.Context(), claim, day1, now, func(serial int64) (*ticket.Ticket, store.Write, error) {
		tk, ch, err := ticket.New(ticket.NewTicket{
			ID: id, Number: ticket.FormatNumber(day1, serial), Channel: ticket.ChannelEmail, ReceivedAt: now.Add(-time.Minute),
			Submitter: ticket.Actor{Kind: ticket.ActorAdapter, ID: "test"}, Description: description,
			CustomerID: customer, OrderNumber: "SO-1", MemberNumber: "M-2",
			KeyFacts:       []ticket.KeyFact{{Name: "product", Value: "X200"}},
			Attachments:    []ticket.Attachment{{Name: "a.jpg", ContentType: "image/jpeg", Size: 42, URL: "https://f.example.com/a.jpg"}},
			Contact:        &ticket.Contact{Kind: ticket.ContactPhone, Value: "+86 138 0000 0000", Purpose: "follow_up"},
			ContactConsent: true,
		}, ticket.Policy{Taxonomy: ticket.DefaultTaxonomy(), MaxReceivedSkew: time.Minute}, now)
		if err != nil {
			return nil, store.Write{}, err
		}
		var w store.Write
		for _, e := range ch.Timeline {
			w.Entries = append(w.Entries, store.Entry{ID: uuid.Must(uuid.NewV7()), TicketID: id, TimelineEntry: e})
		}
		return tk, w, nil
	})
	require.NoError(t, err)
	require.False(t, replayed)
	return tk
}

// TestATicketRoundTrips saves every field and reads it back unchanged, through a change as well.
func TestATicketRoundTrips(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	st := store.New(db.Pool)
	tk := createTicket(t, st, "the kettle leaks")
	got, err := st.GetTicket(t.Context(), tk.ID, all)
	require.NoError(t, err)
	require.Equal(t, tk, got)

	group, agent := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	later := now.Add(time.Hour)
	res, err := st.UpdateTicket(t.Context(), tk.ID, all, nil, later, func(t *ticket.Ticket) (store.Write, error) {
		actor := ticket.Actor{Kind: ticket.ActorStaff, ID: "s1"}
		ch, err := t.Assign(group, agent, actor, later)
		if err != nil {
			return store.Write{}, err
		}
		if _, err := t.Reply("hi", ticket.ChannelUnspecified, false, actor, later); err != nil {
			return store.Write{}, err
		}
		if _, err := t.Resolve("fixed", actor, later); err != nil {
			return store.Write{}, err
		}
		if _, err := t.RecordSatisfaction(ticket.SatisfactionNeutral, "ok", actor, later); err != nil {
			return store.Write{}, err
		}
		return store.Write{Entries: []store.Entry{{ID: uuid.Must(uuid.NewV7()), TicketID: t.ID, TimelineEntry: ch.Timeline[0],
			GroupID: group, AssigneeID: agent}}}, nil
	})
	require.NoError(t, err)
	got, err = st.GetTicket(t.Context(), tk.ID, all)
	require.NoError(t, err)
	require.Equal(t, res.Ticket, got)
	require.Equal(t, later, got.FirstReplyAt)
	require.Equal(t, ticket.SatisfactionNeutral, got.Satisfaction.Rating)

	page, err := st.ListTimeline(t.Context(), tk.ID, all, 0, "")
	require.NoError(t, err)
	require.Len(t, page.Entries, 2)
	require.Equal(t, group, page.Entries[1].GroupID)
	require.Equal(t, ticket.EventAssigned, page.Entries[1].Kind)
}

func TestSeedingHappensOnce(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	st := store.New(db.Pool)
	seeded, err := st.SeedDefaults(t.Context(), ticket.DefaultTaxonomy(), ticket.DefaultRules(), now)
	require.NoError(t, err)
	require.True(t, seeded)
	rules, err := st.ListRules(t.Context())
	require.NoError(t, err)
	require.Len(t, rules, len(ticket.DefaultRules()))
	for _, r := range rules {
		_, err := uuid.Parse(r.ID)
		require.NoError(t, err, "seeded rules get UUIDs")
		require.NoError(t, st.DeleteRule(t.Context(), uuid.MustParse(r.ID)))
	}
	seeded, err = st.SeedDefaults(t.Context(), ticket.DefaultTaxonomy(), ticket.DefaultRules(), now)
	require.NoError(t, err)
	require.False(t, seeded, "deleted defaults do not come back")
	rules, err = st.ListRules(t.Context())
	require.NoError(t, err)
	require.Empty(t, rules)
}
