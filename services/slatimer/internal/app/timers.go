package app

import (
	"context"
	"time"

	"kefu.dev/services/slatimer/internal/domain/sla"
	"kefu.dev/services/slatimer/internal/store"
)

// RunTimers fires due warnings and breaches until ctx ends. It sleeps until the earliest next instant of
// any clock (at most interval, so clocks another replica starts are seen within it), then fires what is due
// in batches until nothing is. Every replica runs it: each batch claims its tickets with SKIP LOCKED and
// moves their clocks on in the transaction that writes the events, so each warning and breach fires once
// whichever replica claims it, and what came due while every replica was down fires at the next start,
// marked late.
func (a *App) RunTimers(ctx context.Context, interval time.Duration) error {
	for {
		for {
			n, err := a.FireDue(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				a.log.WarnContext(ctx, "fire due timers", "error", err.Error())
				break
			}
			if n < a.cfg.FireBatch {
				break // caught up
			}
		}
		wait := interval
		if next, err := a.store.NextDue(ctx); err == nil && !next.IsZero() {
			wait = min(wait, max(next.Sub(a.clock.Now()), 0))
		} else if err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "read next due timer", "error", err.Error())
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-a.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// FireDue claims up to FireBatch tickets with a due clock and fires their due warnings and breaches, in one
// transaction with the events. It returns how many tickets it claimed.
func (a *App) FireDue(ctx context.Context) (int, error) {
	e, err := a.env(ctx)
	if err != nil {
		return 0, err
	}
	var claimed, events int
	var fired []sla.Change
	var firedAt time.Time
	err = a.store.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		now := a.now()
		fired, firedAt = fired[:0], now
		rows, err := tx.ClaimDue(ctx, now, a.cfg.FireBatch)
		if err != nil {
			return err
		}
		claimed, events = len(rows), 0
		writes := make([]store.TicketWrite, 0, len(rows))
		for i := range rows {
			row := &rows[i]
			var changes []sla.Change
			for _, c := range row.Clocks {
				chs, err := row.FireDue(c.Target, now, a.cfg.LateAfter, e.Env)
				if err != nil {
					return err
				}
				changes = append(changes, chs...)
			}
			events += len(changes)
			fired = append(fired, changes...)
			w, err := a.prepare(ctx, row, changes, e.Env, now)
			if err != nil {
				return err
			}
			writes = append(writes, w)
		}
		if err := tx.Write(ctx, writes, now); err != nil {
			return err
		}
		return nil
	})
	if err == nil && events > 0 {
		a.notify.Notify()
		a.meters.recordFirings(ctx, fired, firedAt)
	}
	return claimed, err
}
