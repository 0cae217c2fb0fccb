package pgxutil_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/testkit"
)

func TestInTx(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, "pgxutiltest", set(t, "base", "base"), set(t, "extra", "extra"))

	countAccounts := func(t *testing.T, email string) int {
		var n int
		require.NoError(t, db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM accounts WHERE email = $1`, email).Scan(&n))
		return n
	}

	t.Run("a serialization failure is retried and the retry commits", func(t *testing.T) {
		t.Parallel()
		calls := 0
		err := pgxutil.InTx(t.Context(), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			calls++
			if _, err := tx.Exec(ctx, `INSERT INTO accounts (id, email) VALUES ($1, 'retry@example.com')`, 100+calls); err != nil {
				return err
			}
			if calls == 1 {
				return &pgconn.PgError{Code: "40001", Message: "could not serialize access"}
			}
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, 2, calls)
		require.Equal(t, 1, countAccounts(t, "retry@example.com"), "the failed attempt must be rolled back")
	})

	t.Run("retries run out into an aborted error", func(t *testing.T) {
		t.Parallel()
		calls := 0
		err := pgxutil.InTx(t.Context(), db.Pool, func(context.Context, pgx.Tx) error {
			calls++
			return &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}
		})
		require.Equal(t, pgxutil.MaxTxAttempts, calls)
		ae, ok := apierr.As(err)
		require.True(t, ok, "want *apierr.Error, got %v", err)
		require.Equal(t, apierr.KindAborted, ae.Kind)
		require.Equal(t, pgxutil.ReasonRetryExhausted, ae.Reason)
		require.True(t, pgxutil.IsSerialization(err), "the cause stays in the chain for logs")
	})

	t.Run("another error is returned unchanged and the transaction rolled back", func(t *testing.T) {
		t.Parallel()
		domainErr := apierr.New(apierr.KindFailedPrecondition, "ACCOUNT_CLOSED", "account is closed")
		calls := 0
		err := pgxutil.InTx(t.Context(), db.Pool, func(ctx context.Context, tx pgx.Tx) error {
			calls++
			if _, err := tx.Exec(ctx, `INSERT INTO accounts (id, email) VALUES (200, 'rolled-back@example.com')`); err != nil {
				return err
			}
			return domainErr
		})
		require.Same(t, domainErr, err)
		require.Equal(t, 1, calls)
		require.Zero(t, countAccounts(t, "rolled-back@example.com"))
	})

	t.Run("a unique violation is reported with its constraint", func(t *testing.T) {
		t.Parallel()
		insert := func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO accounts (id, email) VALUES (300, 'dup@example.com')`)
			return err
		}
		require.NoError(t, pgxutil.InTx(t.Context(), db.Pool, insert))
		err := pgxutil.InTx(t.Context(), db.Pool, insert)
		constraint, ok := pgxutil.UniqueViolation(err)
		require.True(t, ok, "want unique violation, got %v", err)
		require.Equal(t, "accounts_pkey", constraint)
	})

	t.Run("a real deadlock is retried until both transactions commit", func(t *testing.T) {
		t.Parallel()
		_, err := db.Pool.Exec(t.Context(), `INSERT INTO accounts (id, email) VALUES (401, 'x@example.com'), (402, 'y@example.com')`)
		require.NoError(t, err)

		// Each transaction locks its first row, waits until the other holds its own, then asks for the
		// other's row: Postgres aborts one with 40P01 after deadlock_timeout, and InTx retries it.
		var bothLocked sync.WaitGroup
		bothLocked.Add(2)
		var attempts atomic.Int32
		transfer := func(first, second int) func(ctx context.Context, tx pgx.Tx) error {
			var mine atomic.Int32
			return func(ctx context.Context, tx pgx.Tx) error {
				attempts.Add(1)
				if _, err := tx.Exec(ctx, `UPDATE accounts SET balance = balance - 1 WHERE id = $1`, first); err != nil {
					return err
				}
				if mine.Add(1) == 1 {
					bothLocked.Done()
					bothLocked.Wait()
				}
				_, err := tx.Exec(ctx, `UPDATE accounts SET balance = balance + 1 WHERE id = $1`, second)
				return err
			}
		}
		var g errgroup.Group
		g.Go(func() error { return pgxutil.InTx(t.Context(), db.Pool, transfer(401, 402)) })
		g.Go(func() error { return pgxutil.InTx(t.Context(), db.Pool, transfer(402, 401)) })
		require.NoError(t, g.Wait())
		require.Equal(t, int32(3), attempts.Load(), "exactly one transaction ran twice")
		var sum int64
		require.NoError(t, db.Pool.QueryRow(t.Context(), `SELECT sum(balance) FROM accounts WHERE id IN (401, 402)`).Scan(&sum))
		require.Zero(t, sum)
	})

	t.Run("a cancelled context stops the retries", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		err := pgxutil.InTx(ctx, db.Pool, func(context.Context, pgx.Tx) error {
			cancel()
			return &pgconn.PgError{Code: "40001"}
		})
		require.True(t, errors.Is(err, context.Canceled), "got %v", err)
	})
}
