package pgxutil

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kefu.dev/pkg/apierr"
)

// MaxTxAttempts is how many times [InTx] runs a transaction that keeps failing with 40001/40P01.
const MaxTxAttempts = 5

// ReasonRetryExhausted is the apierr reason when a transaction still conflicted after MaxTxAttempts.
const ReasonRetryExhausted = "RETRY_EXHAUSTED"

// InTx runs fn in a READ COMMITTED transaction and commits it. A serialization failure (40001) or deadlock
// (40P01), from fn or from COMMIT, rolls back and runs fn again, up to MaxTxAttempts times with jittered
// exponential backoff; so fn must have no effects outside tx. Once the attempts are used up the result is an
// *apierr.Error of KindAborted with reason RETRY_EXHAUSTED (the cause attached for logs). Any other error
// from fn is returned unchanged after rollback, so errors.As on domain errors works.
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return Retry(ctx, func(ctx context.Context) error { return runTx(ctx, pool, fn) })
}

// Retry runs attempt, a whole transaction, again after a serialization failure or deadlock (40001/40P01),
// with InTx's policy: up to MaxTxAttempts runs, jittered exponential backoff, then Aborted with reason
// RETRY_EXHAUSTED. Other errors return unchanged. For stores that drive their own transactions (pipelined
// batches) but must retry exactly as InTx does.
func Retry(ctx context.Context, attempt func(ctx context.Context) error) error {
	var lastErr error
	for n := range MaxTxAttempts {
		if n > 0 {
			if err := backoff(ctx, n); err != nil {
				return fmt.Errorf("wait to retry transaction: %w (last attempt: %w)", err, lastErr)
			}
		}
		err := attempt(ctx)
		if err == nil || !IsSerialization(err) {
			return err
		}
		lastErr = err
	}
	return apierr.New(apierr.KindAborted, ReasonRetryExhausted,
		"the change conflicted with concurrent changes %d times; retry", MaxTxAttempts).WithCause(lastErr)
}

func runTx(ctx context.Context, pool *pgxpool.Pool, fn func(ctx context.Context, tx pgx.Tx) error) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(ctx, tx); err != nil {
		// Rollback errors are secondary: the connection is discarded by pgx when rollback fails.
		_ = tx.Rollback(ctx)
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		if errors.Is(err, pgx.ErrTxCommitRollback) {
			return fmt.Errorf("commit: transaction was rolled back: %w", err)
		}
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// backoff waits between half and one and a half times 5 ms · 2^(attempt-1): the jitter keeps transactions that
// collided from colliding again in lockstep.
func backoff(ctx context.Context, attempt int) error {
	base := 5 * time.Millisecond << (attempt - 1)
	d := base/2 + rand.N(base)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
