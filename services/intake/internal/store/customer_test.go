package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/store"
)

// addEntries appends a customer message with an attachment, an assignment, an agent reply and a note to
// the ticket.
func addEntries(t *testing.T, st *store.Store, id uuid.UUID) {
	t.Helper()
	at := now.Add(time.Minute)
	_, err := st.UpdateTicket(t.Context(), id, all, nil, at, func(tk *ticket.Ticket) (store.Write, error) {
		var w store.Write
		customer := ticket.Actor{Kind: ticket.ActorAdapter, ID: "test"}
		staff := ticket.Actor{Kind: ticket.ActorStaff, ID: "s1"}
		for _, change := range []func() (ticket.Change, error){
			func() (ticket.Change, error) {
				return tk.AppendCustomerMessage("my phone is 13900001111", ticket.ChannelEmail,
					[]ticket.Attachment{{Name: "receipt-li.jpg", ContentType: "image/jpeg", Size: 7, URL: "https://f.example.com/li.jpg"}}, customer, at)
			},
			func() (ticket.Change, error) {
				return tk.Assign(uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), staff, at)
			},
			func() (ticket.Change, error) {
				return tk.Reply("we will call you", ticket.ChannelUnspecified, false, staff, at)
			},
			func() (ticket.Change, error) { return tk.AddNote("called back", staff, at) },
		} {
			ch, err := change()
			if err != nil {
				return w, err
			}
			w.Entries = append(w.Entries, store.Entry{ID: uuid.Must(uuid.NewV7()), TicketID: tk.ID, TimelineEntry: ch.Timeline[0]})
		}
		return w, nil
	})
	require.NoError(t, err)
}

// TestErasureIsTheTimelinesOnlyChange proves the timeline's guard: the runtime role may replace the words
// of a customer message with their erased form, once, and nothing else; EraseCustomerTickets does exactly
// that, and reads show the marker the domain defines.
func TestErasureIsTheTimelinesOnlyChange(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	st := store.New(db.Pool)
	customer := uuid.Must(uuid.NewV7())
	tk := createTicketFor(t, st, customer, "my kettle leaks, call 13900001111")
	addEntries(t, st, tk.ID)
	before, err := st.GetTicket(t.Context(), tk.ID, all)
	require.NoError(t, err)

	const erasedForm = `text = erased_text(text), attachments = erased_attachments(attachments), erased_at = now()`
	refused := []string{
		`UPDATE timeline_entries SET text = 'rewritten', erased_at = now() WHERE ticket_id = $1 AND kind = 'customer_message_added'`,
		`UPDATE timeline_entries SET erased_at = now() WHERE ticket_id = $1 AND kind = 'customer_message_added'`,
		`UPDATE timeline_entries SET ` + erasedForm + ` WHERE ticket_id = $1 AND kind = 'replied'`,
		`UPDATE timeline_entries SET ` + erasedForm + ` WHERE ticket_id = $1 AND kind = 'note_added'`,
		`UPDATE timeline_entries SET ` + erasedForm + `, seq = seq + 100 WHERE ticket_id = $1 AND kind = 'customer_message_added'`,
		`UPDATE timeline_entries SET text = erased_text(text), attachments = NULL, erased_at = now() WHERE ticket_id = $1 AND kind = 'customer_message_added'`,
		`DELETE FROM timeline_entries WHERE ticket_id = $1 AND kind = 'customer_message_added'`,
	}
	for _, sql := range refused {
		_, err := db.Pool.Exec(t.Context(), sql, tk.ID)
		require.Error(t, err, sql)
		require.Equal(t, "42501", pgxutil.PgCode(err), "%s: %v", sql, err)
	}

	later := now.Add(time.Hour)
	n, err := st.EraseCustomerTickets(t.Context(), customer, true, later, 10)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	_, err = db.Pool.Exec(t.Context(), `UPDATE timeline_entries SET `+erasedForm+` WHERE ticket_id = $1 AND kind = 'customer_message_added'`, tk.ID)
	require.Error(t, err, "an erased entry is never changed again")
	require.Equal(t, "42501", pgxutil.PgCode(err))

	got, err := st.GetTicket(t.Context(), tk.ID, all)
	require.NoError(t, err)
	require.Nil(t, got.Contact)
	require.Empty(t, got.MemberNumber)
	require.Equal(t, before.OrderNumber, got.OrderNumber, "the order number is the business's record, not the person")
	require.Equal(t, ticket.ErasedText, got.Description)
	require.Equal(t, ticket.ErasedText, got.Subject)
	require.Equal(t, []ticket.KeyFact{{Name: "product", Value: ticket.ErasedText}}, got.KeyFacts)
	require.Equal(t, []ticket.Attachment{{Name: ticket.ErasedText, ContentType: "image/jpeg", Size: 42}}, got.Attachments)
	require.Equal(t, &ticket.Erasure{At: later, CustomerWords: true}, got.Erasure)
	require.Equal(t, before.Version, got.Version, "an erasure is no lifecycle change: the version (event sequence, etag) stays")
	require.Equal(t, before.UpdatedAt, got.UpdatedAt)

	page, err := st.ListTimeline(t.Context(), tk.ID, all, 0, "")
	require.NoError(t, err)
	kinds := map[ticket.EventKind]store.Entry{}
	for _, e := range page.Entries {
		kinds[e.Kind] = e
	}
	msg := kinds[ticket.EventCustomerMessageAdded]
	require.Equal(t, ticket.ErasedText, msg.Text)
	require.Equal(t, later, msg.ErasedAt)
	require.Equal(t, []ticket.Attachment{{Name: ticket.ErasedText, ContentType: "image/jpeg", Size: 7}}, msg.Attachments)
	require.Equal(t, "we will call you", kinds[ticket.EventReplied].Text, "staff-written text stays")
	require.True(t, kinds[ticket.EventReplied].ErasedAt.IsZero())
	require.Equal(t, "called back", kinds[ticket.EventNoteAdded].Text)
}

// TestErasuresAndMovesWorkInBatches changes a customer's tickets a batch at a time, reports how many each
// batch changed (fewer than the limit means done), finds nothing left to do when run again, and leaves
// another customer's tickets alone.
func TestErasuresAndMovesWorkInBatches(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	st := store.New(db.Pool)
	customer, other, survivor := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	var ids []uuid.UUID
	for range 5 {
		ids = append(ids, createTicketFor(t, st, customer, "the kettle leaks").ID)
	}
	untouched := createTicketFor(t, st, other, "the kettle leaks")

	batches := func(run func() (int, error)) []int {
		t.Helper()
		var got []int
		for {
			n, err := run()
			require.NoError(t, err)
			got = append(got, n)
			if n < 2 {
				return got
			}
		}
	}
	first, second := now.Add(time.Hour), now.Add(2*time.Hour)
	require.Equal(t, []int{2, 2, 1}, batches(func() (int, error) { return st.EraseCustomerTickets(t.Context(), customer, false, first, 2) }))
	require.Equal(t, []int{0}, batches(func() (int, error) { return st.EraseCustomerTickets(t.Context(), customer, false, second, 2) }),
		"an erasure done is not done again")
	for _, id := range ids {
		tk, err := st.GetTicket(t.Context(), id, all)
		require.NoError(t, err)
		require.Nil(t, tk.Contact)
		require.Equal(t, "the kettle leaks", tk.Description, "without the customer's words the words stay")
		require.Equal(t, &ticket.Erasure{At: first}, tk.Erasure)
	}
	require.Equal(t, []int{2, 2, 1}, batches(func() (int, error) { return st.EraseCustomerTickets(t.Context(), customer, true, second, 2) }),
		"a wider erasure applies to tickets erased before")
	tk, err := st.GetTicket(t.Context(), ids[0], all)
	require.NoError(t, err)
	require.Equal(t, ticket.ErasedText, tk.Description)
	require.Equal(t, &ticket.Erasure{At: first, CustomerWords: true}, tk.Erasure, "the erasure keeps its first time")

	require.Equal(t, []int{2, 2, 1}, batches(func() (int, error) { return st.MoveCustomerTickets(t.Context(), customer, survivor, 2) }))
	require.Equal(t, []int{0}, batches(func() (int, error) { return st.MoveCustomerTickets(t.Context(), customer, survivor, 2) }))
	for _, id := range ids {
		tk, err := st.GetTicket(t.Context(), id, all)
		require.NoError(t, err)
		require.Equal(t, survivor, tk.CustomerID)
	}

	got, err := st.GetTicket(t.Context(), untouched.ID, all)
	require.NoError(t, err)
	require.Equal(t, untouched, got, "another customer's ticket is untouched")
}

func TestErasedCustomersKeepTheWidestErasure(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	st := store.New(db.Pool)
	customer := uuid.Must(uuid.NewV7())
	erased, _, err := st.ErasedCustomer(t.Context(), customer)
	require.NoError(t, err)
	require.False(t, erased)
	for _, words := range []bool{false, true, false} {
		require.NoError(t, st.RecordErasedCustomer(t.Context(), customer, words, now))
	}
	erased, words, err := st.ErasedCustomer(t.Context(), customer)
	require.NoError(t, err)
	require.True(t, erased)
	require.True(t, words)
}
