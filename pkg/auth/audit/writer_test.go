package audit_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	"kefu.dev/pkg/auth/audit"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/testkit"
)

// TestWrittenRecordsReadBack writes records through the Writer and reads them through the Server.
func TestWrittenRecordsReadBack(t *testing.T) {
	t.Parallel()
	e := newRunningEnv(t)

	t.Run("a complete record reads back exactly", func(t *testing.T) {
		t.Parallel()
		r := audit.Record{
			ID:         uuid.MustParse("0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
			At:         t0.Add(1500 * time.Nanosecond), // stored as t0 + 1 µs
			Principal:  "adapter:web-chat",
			KeyID:      "0123456789abcdef",
			Method:     "/kefu.intake.v1.IntakeService/GetTicket",
			ObjectType: "ticket",
			ObjectID:   "complete-1",
			Result:     "PERMISSION_DENIED",
			TraceID:    "4bf92f3577b34da6a3ce929d0e0e4736",
			Kind:       audit.KindPersonalDataRead,
			OnBehalfOf: "staff:bob",
			Reason:     "ticket GD202611230001: courier needs the phone",
			Fields:     []string{"name", "contacts"},
		}
		e.write(t, r)
		resp, err := e.srv.ListAuditRecords(t.Context(), &authv1.ListAuditRecordsRequest{ObjectId: "complete-1"})
		require.NoError(t, err)
		require.Len(t, resp.GetRecords(), 1)
		want := &authv1.AuditRecord{
			RecordId:   "0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
			Time:       ts(t0.Add(time.Microsecond)),
			Principal:  "adapter:web-chat",
			KeyId:      "0123456789abcdef",
			Method:     "/kefu.intake.v1.IntakeService/GetTicket",
			ObjectType: "ticket",
			ObjectId:   "complete-1",
			Result:     "PERMISSION_DENIED",
			TraceId:    "4bf92f3577b34da6a3ce929d0e0e4736",
			Kind:       authv1.AuditKind_AUDIT_KIND_PERSONAL_DATA_READ,
			OnBehalfOf: "staff:bob",
			Reason:     "ticket GD202611230001: courier needs the phone",
			Fields:     []string{"name", "contacts"},
		}
		require.True(t, proto.Equal(want, resp.GetRecords()[0]), "want %v\ngot  %v", want, resp.GetRecords()[0])
		require.Empty(t, resp.GetNextPageToken())
	})

	t.Run("a zero id gets a UUIDv7 and a zero time the clock's", func(t *testing.T) {
		t.Parallel()
		r := sample()
		r.At = time.Time{}
		r.ObjectID = "defaults-1"
		r.KeyID, r.ObjectType, r.TraceID = "", "", ""
		e.write(t, r)
		resp, err := e.srv.ListAuditRecords(t.Context(), &authv1.ListAuditRecordsRequest{ObjectId: "defaults-1"})
		require.NoError(t, err)
		require.Len(t, resp.GetRecords(), 1)
		got := resp.GetRecords()[0]
		id, err := uuid.Parse(got.GetRecordId())
		require.NoError(t, err)
		require.Equal(t, uuid.Version(7), id.Version())
		require.True(t, got.GetTime().AsTime().Equal(t0), "time %v", got.GetTime().AsTime())
		require.Empty(t, got.GetKeyId())
		require.Empty(t, got.GetObjectType())
		require.Empty(t, got.GetTraceId())
		require.Empty(t, got.GetReason())
		require.Empty(t, got.GetFields())
		require.Equal(t, authv1.AuditKind_AUDIT_KIND_CHANGE, got.GetKind())
	})

	t.Run("a time in another zone is stored as the same instant", func(t *testing.T) {
		t.Parallel()
		shanghai := time.FixedZone("CST", 8*3600)
		r := sample()
		r.At = t0.In(shanghai)
		r.ObjectID = "zone-1"
		e.write(t, r)
		page, err := e.store.List(t.Context(), audit.Filter{ObjectID: "zone-1"}, 0, "")
		require.NoError(t, err)
		require.Len(t, page.Records, 1)
		require.Equal(t, t0, page.Records[0].At, "UTC, same instant")
	})

	t.Run("NUL bytes and invalid UTF-8 become U+FFFD", func(t *testing.T) {
		t.Parallel()
		r := sample()
		r.ObjectID = "text-1"
		r.Principal = "staff:a\x00b"
		r.TraceID = "bad\xffutf8"
		r.Reason = "why\x00not"
		r.Fields = []string{"a\xffb"}
		e.write(t, r)
		page, err := e.store.List(t.Context(), audit.Filter{ObjectID: "text-1"}, 0, "")
		require.NoError(t, err)
		require.Len(t, page.Records, 1)
		require.Equal(t, "staff:a\uFFFDb", page.Records[0].Principal)
		require.Equal(t, "bad\uFFFDutf8", page.Records[0].TraceID)
		require.Equal(t, "why\uFFFDnot", page.Records[0].Reason)
		require.Equal(t, []string{"a\uFFFDb"}, page.Records[0].Fields)
	})

	t.Run("reason and fields are cut to their limits", func(t *testing.T) {
		t.Parallel()
		r := sample()
		r.ObjectID = "limits-1"
		r.Reason = strings.Repeat("因", audit.MaxReasonRunes+10)
		r.Fields = make([]string, audit.MaxFields+5)
		for i := range r.Fields {
			r.Fields[i] = fmt.Sprintf("f%d", i)
		}
		r.Fields[0] = strings.Repeat("é", audit.MaxFieldRunes+1)
		given := slices.Clone(r.Fields)
		e.write(t, r)
		require.Equal(t, given, r.Fields, "the caller's slice is left alone")
		page, err := e.store.List(t.Context(), audit.Filter{ObjectID: "limits-1"}, 0, "")
		require.NoError(t, err)
		require.Len(t, page.Records, 1)
		got := page.Records[0]
		require.Equal(t, strings.Repeat("因", audit.MaxReasonRunes), got.Reason)
		require.Len(t, got.Fields, audit.MaxFields)
		require.Equal(t, strings.Repeat("é", audit.MaxFieldRunes), got.Fields[0])
		require.Equal(t, given[1:audit.MaxFields], got.Fields[1:])
	})
}

// TestEachRecordOfABatchKeepsItsOwnFields proves the flat-array slicing of the group-commit INSERT: records
// with no, one and several fields, written in one statement, each read back with exactly theirs.
func TestEachRecordOfABatchKeepsItsOwnFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.WriterOptions{})
	fields := [][]string{nil, {"name"}, {}, {"name", "national_id", "contacts"}, nil, {"urgency"}}
	results := make([]<-chan error, len(fields))
	for i, f := range fields {
		r := sample()
		r.ObjectID = fmt.Sprintf("batch-%d", i)
		r.Reason = fmt.Sprintf("reason %d", i)
		r.Fields = f
		results[i] = e.writeAsync(t, r)
	}
	waitPending(t, e.w, len(fields))
	e.run(t)
	for i, done := range results {
		require.NoError(t, <-done, "write %d", i)
	}
	require.Equal(t, int64(1), e.w.Batches(), "one statement")
	for i, f := range fields {
		page, err := e.store.List(t.Context(), audit.Filter{ObjectID: fmt.Sprintf("batch-%d", i)}, 0, "")
		require.NoError(t, err)
		require.Len(t, page.Records, 1)
		require.Equal(t, fmt.Sprintf("reason %d", i), page.Records[0].Reason)
		if f == nil {
			f = []string{}
		}
		require.Equal(t, f, page.Records[0].Fields, "record %d", i)
	}
}

func TestWriteRefusesAnInvalidRecordAlone(t *testing.T) {
	t.Parallel()
	e := newRunningEnv(t)
	tests := []struct {
		name   string
		change func(*audit.Record)
	}{
		{"a record without principal", func(r *audit.Record) { r.Principal = "" }},
		{"a record without method", func(r *audit.Record) { r.Method = "" }},
		{"a record without result", func(r *audit.Record) { r.Result = "" }},
		{"a record without kind", func(r *audit.Record) { r.Kind = "" }},
		{"a record of an unknown kind", func(r *audit.Record) { r.Kind = "read" }},
	}
	// The group ends when its parallel cases have, so the count after it sees them all.
	t.Run("each", func(t *testing.T) {
		for _, tc := range tests {
			t.Run(tc.name+" is refused", func(t *testing.T) {
				t.Parallel()
				r := sample()
				tc.change(&r)
				require.ErrorIs(t, e.w.Write(t.Context(), r), audit.ErrInvalidRecord)
			})
		}
		t.Run("while a valid one goes through the same writer", func(t *testing.T) {
			t.Parallel()
			e.write(t, sample())
		})
	})
	require.Equal(t, 1, e.rows(t), "only the valid record reached the table")
}

// TestGroupCommit proves that concurrent writers share statements.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	const n = 200

	t.Run("200 concurrent writes commit in far fewer statements", func(t *testing.T) {
		t.Parallel()
		e := newRunningEnv(t)
		start := make(chan struct{})
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r := sample()
				r.ObjectID = fmt.Sprintf("ticket-%d", i)
				<-start
				errs[i] = e.w.Write(t.Context(), r)
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "write %d", i)
		}
		require.Equal(t, n, e.rows(t))
		// One write alone needs one statement; concurrent ones queue while a statement runs and share
		// the next. Four records a statement on average is far below what the writes arrive at.
		t.Logf("%d writes in %d statements", n, e.w.Batches())
		require.Less(t, e.w.Batches(), int64(n/4))
	})

	t.Run("records queued before Run go out MaxBatch to a statement", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, audit.WriterOptions{MaxBatch: 64})
		results := make([]<-chan error, n)
		for i := range n {
			r := sample()
			r.ObjectID = fmt.Sprintf("ticket-%d", i)
			results[i] = e.writeAsync(t, r)
		}
		waitPending(t, e.w, n)
		e.run(t)
		for i, done := range results {
			require.NoError(t, <-done, "write %d", i)
		}
		require.Equal(t, n, e.rows(t))
		require.Equal(t, int64(4), e.w.Batches(), "64 + 64 + 64 + 8")
	})
}

// waitPending waits until n records are queued.
func waitPending(t *testing.T, w *audit.Writer, n int) {
	t.Helper()
	testkit.Eventually(t, func() bool { return w.Pending() == n }, wait, "%d records queued (have %d)", n, w.Pending())
}

func TestWriteWithAnEndedContext(t *testing.T) {
	t.Parallel()
	e := newRunningEnv(t)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithDeadline(t.Context(), t0) // long past
	defer cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"a cancelled context", cancelled, context.Canceled},
		{"an expired deadline", expired, context.DeadlineExceeded},
	}
	// Not parallel: the count below must come after every case.
	for _, tc := range tests {
		t.Run("a write with "+tc.name+" returns its error and writes nothing", func(t *testing.T) {
			r := sample()
			r.ObjectID = tc.name
			require.ErrorIs(t, e.w.Write(tc.ctx, r), tc.want)
			require.Zero(t, e.w.Pending(), "nothing was queued")
		})
	}
	e.write(t, sample()) // flushed after anything the ended writes might have queued
	require.Equal(t, 1, e.rows(t))
}

func TestWriteBeforeRunWaitsForRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.WriterOptions{})
	done := e.writeAsync(t, sample())
	waitPending(t, e.w, 1)
	select {
	case err := <-done:
		t.Fatalf("Write returned before Run started: %v", err)
	default:
	}
	require.Zero(t, e.rows(t), "nothing is written before Run")

	e.run(t)
	require.NoError(t, <-done)
	require.Equal(t, 1, e.rows(t))
	require.Equal(t, int64(1), e.w.Batches())
}

// TestRunDrainsOnCancel queues records, then runs the writer with a context that has already ended: Run
// writes them all before it returns nil, and the writer refuses what comes after.
func TestRunDrainsOnCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.WriterOptions{})
	const n = 5
	results := make([]<-chan error, n)
	for i := range n {
		r := sample()
		r.ObjectID = fmt.Sprintf("ticket-%d", i)
		results[i] = e.writeAsync(t, r)
	}
	waitPending(t, e.w, n)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.NoError(t, e.w.Run(ctx))
	for i, done := range results {
		require.NoError(t, <-done, "write %d", i)
	}
	require.Equal(t, n, e.rows(t))

	require.ErrorIs(t, e.w.Write(t.Context(), sample()), audit.ErrStopped)
	require.Error(t, e.w.Run(t.Context()), "Run runs once")
	require.Equal(t, n, e.rows(t))
}

func TestWriteOfAStoredIDIsARetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.WriterOptions{})
	r := sample()
	r.ID = uuid.Must(uuid.NewV7())
	// Two in one batch and one in a later batch: all succeed, one row.
	first, second := e.writeAsync(t, r), e.writeAsync(t, r)
	waitPending(t, e.w, 2)
	e.run(t)
	require.NoError(t, <-first)
	require.NoError(t, <-second)
	e.write(t, r)
	require.Equal(t, 1, e.rows(t))
}

// TestDatabaseErrorsReachEveryWriterOfTheBatch runs a writer on a pool whose search_path has no
// audit_records table: the INSERT fails, and each waiting writer gets the error, wrapped.
func TestDatabaseErrorsReachEveryWriterOfTheBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, audit.WriterOptions{})
	pool, err := pgxutil.Open(t.Context(), e.db.RuntimeURL, pgxutil.Options{Schema: "public"})
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	e.w = audit.NewWriter(pool, audit.WriterOptions{})
	first, second := e.writeAsync(t, sample()), e.writeAsync(t, sample())
	waitPending(t, e.w, 2)
	e.run(t)
	for _, done := range []<-chan error{first, second} {
		err := <-done
		require.Equal(t, "42P01", pgxutil.PgCode(err), "undefined_table, got %v", err)
		require.ErrorContains(t, err, "write 2 audit records")
	}
	require.Zero(t, e.w.Batches())
}
