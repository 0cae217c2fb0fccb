package app

import (
	"context"
	"time"

	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/logging"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/store"
)

// autoCloseActor is who closes tickets automatically.
var autoCloseActor = ticket.Actor{Kind: ticket.ActorSystem, ID: "auto-close"}

// idempotencyPurgeBatch bounds one purge statement, so purging never holds many row locks at once.
const idempotencyPurgeBatch = 1000

// CloseDue closes every resolved ticket whose resolution is at least AutoCloseAfter old, in batches of
// SweepBatch, each its own transaction with one closed event (automatic) per ticket. It returns how many it
// closed. Tickets another replica's sweep holds are skipped, not waited for.
func (a *App) CloseDue(ctx context.Context) (int, error) {
	total := 0
	for {
		now := a.now()
		n, err := a.store.CloseDue(ctx, now.Add(-a.cfg.AutoCloseAfter), a.cfg.SweepBatch, func(t *ticket.Ticket) (store.Write, error) {
			if !t.AutoCloseDue(now, a.cfg.AutoCloseAfter) {
				return store.Write{}, nil
			}
			ch, err := t.Close(autoCloseActor, now)
			if err != nil {
				return store.Write{}, err
			}
			return a.buildWrite(t, ch, changeContext{automatic: true})
		})
		if err != nil {
			return total, err
		}
		total += n
		if n > 0 {
			a.notify.Notify()
		}
		if n < a.cfg.SweepBatch {
			return total, nil
		}
	}
}

// PurgeIdempotencyKeys deletes idempotency keys and request ids older than IdempotencyTTL.
func (a *App) PurgeIdempotencyKeys(ctx context.Context) (int64, error) {
	return idempotency.Purge(ctx, a.store.Pool(), a.now().Add(-a.cfg.IdempotencyTTL), idempotencyPurgeBatch)
}

// RunSweeper closes due tickets and purges old idempotency keys every interval until ctx is done. Failures
// are logged and retried at the next tick: a sweep that fails changes nothing.
func (a *App) RunSweeper(ctx context.Context, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if n, err := a.CloseDue(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "auto-close sweep failed", logging.KeyError, err.Error())
		} else if n > 0 {
			a.log.InfoContext(ctx, "auto-closed resolved tickets", "count", n)
		}
		if n, err := a.ResolvePendingCustomers(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "deferred customer resolution failed", logging.KeyError, err.Error())
		} else if n > 0 {
			a.log.InfoContext(ctx, "resolved the customers of tickets submitted while the customer service was away", "count", n)
		}
		if n, err := a.LinkStragglers(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "incident link sweep failed", logging.KeyError, err.Error())
		} else if n > 0 {
			a.log.InfoContext(ctx, "linked tickets to incidents that submits on other replicas missed", "count", n)
		}
		if _, err := a.PurgeIdempotencyKeys(ctx); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "purge idempotency keys failed", logging.KeyError, err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
