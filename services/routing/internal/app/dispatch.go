package app

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kefu.dev/services/routing/internal/store"
)

// DispatchOptions tune the dispatcher.
type DispatchOptions struct {
	// Workers is how many AssignTicket calls run at once; default 32.
	Workers int
	// Lease is how long a claimed dispatch is kept from other dispatchers; default 30 s (longer than a call).
	Lease time.Duration
	// Poll is the fallback wake-up when no NOTIFY arrives (lost while reconnecting); default 1 s.
	Poll time.Duration
}

func (o DispatchOptions) withDefaults() DispatchOptions {
	if o.Workers <= 0 {
		o.Workers = 32
	}
	if o.Lease <= 0 {
		o.Lease = 30 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	return o
}

// retryDelay is the wait before the n-th retry of a dispatch intake did not answer: 1 s doubling to 1 min.
func retryDelay(attempts int) time.Duration {
	return min(time.Second<<min(attempts-1, 6), time.Minute)
}

// RunDispatcher tells intake about every decided assignment until ctx ends: it claims due dispatches
// (leased, so replicas share the work), calls AssignTicket with each one's request id, and removes it once
// intake answered. A deciding transaction's NOTIFY wakes it at commit; a poll every Poll is the fallback.
func (a *App) RunDispatcher(ctx context.Context, pool *pgxpool.Pool, o DispatchOptions) error {
	o = o.withDefaults()
	wake := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.listen(ctx, pool, wake)
	}()
	defer wg.Wait()
	// Calls run continuously: a free worker claims the next due dispatch without waiting for the others,
	// and only as many are claimed (leased) as there are workers free to call at once.
	sem := make(chan struct{}, o.Workers)
	freed := make(chan struct{}, 1)
	var calls sync.WaitGroup
	defer calls.Wait()
	for ctx.Err() == nil {
		free := o.Workers - len(sem)
		if free == 0 {
			select {
			case <-ctx.Done():
			case <-freed:
			}
			continue
		}
		claimed, err := a.store.ClaimDispatches(ctx, a.now(), o.Lease, free)
		if err != nil {
			if ctx.Err() == nil {
				a.log.WarnContext(ctx, "claim dispatches", "error", err.Error())
			}
			sleep(ctx, o.Poll)
			continue
		}
		for _, d := range claimed {
			sem <- struct{}{}
			calls.Add(1)
			go func() {
				defer func() { <-sem; calls.Done(); signal(freed) }()
				a.dispatch(ctx, d)
			}()
		}
		if len(claimed) == free {
			continue // more may be due
		}
		wait := o.Poll
		if next, ok, err := a.store.NextDispatchAt(ctx); err == nil && ok {
			wait = min(wait, max(next.Sub(a.now()), time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
	return nil
}

// dispatch makes one AssignTicket call and records its outcome.
func (a *App) dispatch(ctx context.Context, d store.Dispatch) {
	err := a.intake.Assign(ctx, d.TicketID, d.GroupID, d.AgentID, d.Unassign, d.Expected, d.RequestID)
	switch {
	case err == nil:
	case errors.Is(err, ErrRefused):
		// The ticket moved on (resolved, closed, gone): its own events tell routing what happened.
		a.log.InfoContext(ctx, "intake refused an assignment; dropping it", "ticket_id", d.TicketID.String(),
			"error", err.Error())
	default:
		if ctx.Err() != nil {
			return // the lease expires and another dispatcher (or the next start) retries
		}
		delay := retryDelay(d.Attempts)
		a.log.WarnContext(ctx, "assign ticket at intake failed; will retry", "ticket_id", d.TicketID.String(),
			"attempt", d.Attempts, "retry_in", delay, "error", err.Error())
		if err := a.store.RetryDispatch(ctx, d, a.now().Add(delay), a.now()); err != nil {
			a.log.WarnContext(ctx, "reschedule dispatch", "error", err.Error())
		}
		return
	}
	if err := a.store.FinishDispatch(ctx, d, a.now()); err != nil && ctx.Err() == nil {
		// The row stays and is sent again when its lease ends; intake ignores the repeated request id.
		a.log.WarnContext(ctx, "finish dispatch", "error", err.Error())
	}
}

// listen keeps a dedicated connection LISTENing on store.DispatchChannel and turns each notification into
// a wake-up. After (re)connecting it wakes the loop once, for commits made while nobody listened.
func (a *App) listen(ctx context.Context, pool *pgxpool.Pool, wake chan<- struct{}) {
	for attempt := 1; ctx.Err() == nil; attempt++ {
		err := listenOnce(ctx, pool, wake)
		if ctx.Err() != nil {
			return
		}
		d := retryDelay(attempt)
		a.log.WarnContext(ctx, "dispatch listener failed; reconnecting", "error", err.Error(), "retry_in", d)
		sleep(ctx, d)
	}
}

func listenOnce(ctx context.Context, pool *pgxpool.Pool, wake chan<- struct{}) error {
	c, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire listener connection: %w", err)
	}
	conn := c.Hijack() // LISTEN is session state that must not go back to the pool
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{store.DispatchChannel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	signal(wake)
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		signal(wake)
	}
}

func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
