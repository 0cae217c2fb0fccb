package audit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth/audit"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/testkit"
)

// t0 is where every test's records and fake clock start.
var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// schema is the test service's schema, for connections without the pool's search_path.
const schema = "audit_test"

// wait bounds every wait for the writer: generous, because it only matters when a test fails.
const wait = 30 * time.Second

// env is one test's audit log on its own database.
type env struct {
	db    *testkit.DB
	clk   *clock.Fake
	w     *audit.Writer
	store *audit.Store
	srv   *audit.Server
}

// newEnv returns an env whose writer is not running yet; call run to start it.
func newEnv(t *testing.T, o audit.WriterOptions) *env {
	t.Helper()
	e := &env{db: testkit.NewDB(t, schema, audit.Migrations()), clk: clock.NewFake(t0)}
	if o.Clock == nil {
		o.Clock = e.clk
	}
	e.w = audit.NewWriter(e.db.Pool, o)
	e.store = audit.New(e.db.Pool)
	e.srv = audit.NewServer(e.store)
	return e
}

// newRunningEnv returns an env whose writer runs until the test ends.
func newRunningEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, audit.WriterOptions{})
	e.run(t)
	return e
}

// run starts the writer's Run; the test's cleanup stops it and checks that it returned nil. Cleanups run
// last-in first-out, so the writer stops before the database is dropped.
func (e *env) run(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done, "Run's result")
	})
}

// write writes r and requires success.
func (e *env) write(t *testing.T, r audit.Record) {
	t.Helper()
	require.NoError(t, e.w.Write(t.Context(), r))
}

// writeAsync starts a Write of r and returns the channel its result arrives on.
func (e *env) writeAsync(t *testing.T, r audit.Record) <-chan error {
	t.Helper()
	ctx := t.Context()
	done := make(chan error, 1)
	go func() { done <- e.w.Write(ctx, r) }()
	return done
}

// rows counts the stored records.
func (e *env) rows(t *testing.T) int {
	t.Helper()
	var n int
	require.NoError(t, e.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM audit_records`).Scan(&n))
	return n
}

// connect opens a connection to the test's database at url, closed when the test ends.
func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.WithoutCancel(t.Context())) })
	return conn
}

// sample is a complete record of a staff member's change to a ticket.
func sample() audit.Record {
	return audit.Record{
		At:         t0,
		Principal:  "staff:alice",
		Method:     "/kefu.intake.v1.IntakeService/AssignTicket",
		ObjectType: "ticket",
		ObjectID:   "0195a1b2-0000-7000-8000-000000000001",
		Result:     "OK",
		TraceID:    "4bf92f3577b34da6a3ce929d0e0e4736",
		Kind:       audit.KindChange,
	}
}

// requireInvalidField checks that err is InvalidArgument naming field.
func requireInvalidField(t *testing.T, err error, field string) {
	t.Helper()
	require.Error(t, err)
	var ae *apierr.Error
	require.True(t, errors.As(err, &ae), "want an *apierr.Error, got %v", err)
	require.Equal(t, apierr.KindInvalidArgument, ae.Kind, "kind of %v", err)
	require.Len(t, ae.Fields, 1)
	require.Equal(t, field, ae.Fields[0].Field)
	require.Contains(t, ae.Message, field)
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
