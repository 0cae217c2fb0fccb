package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/webhook"
	"kefu.dev/services/notify/internal/domain/delivery"
	"kefu.dev/services/notify/internal/store"
)

// SenderOptions tune the webhook sender.
type SenderOptions struct {
	// Client posts the deliveries; its Timeout bounds each attempt.
	Client *http.Client
	// Workers is how many posts run at once.
	Workers int
	// Batch is how many due deliveries one claim takes.
	Batch int
	// Poll is the longest the sender sleeps between looks for due deliveries; it also wakes when this
	// replica adds deliveries and at the next due time it knows of.
	Poll time.Duration
}

// maxResponseRead bounds how much of a receiver's answer is read (and thrown away) so the connection can
// be reused.
const maxResponseRead = 64 << 10

// RunSender posts due webhook deliveries until ctx ends. Each claim leases its deliveries for the client's
// timeout and a margin, posts them Workers at a time, and records every attempt; a failed one is retried
// with exponential backoff and jitter until its retry period ends, then it is dead.
func (a *App) RunSender(ctx context.Context, o SenderOptions, wake <-chan struct{}) error {
	lease := o.Client.Timeout + 30*time.Second
	sem := make(chan struct{}, o.Workers)
	for ctx.Err() == nil {
		now := a.clock.Now()
		due, err := a.st.Claim(ctx, now, now.Add(lease), o.Batch)
		if err != nil {
			if ctx.Err() == nil {
				a.log.WarnContext(ctx, "claim webhook deliveries", "error", err.Error())
			}
			sleep(ctx, o.Poll, wake)
			continue
		}
		if len(due) > 0 {
			results := make([]store.Result, len(due))
			var wg sync.WaitGroup
			for i, d := range due {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					results[i] = a.attempt(ctx, o.Client, d)
				})
			}
			wg.Wait()
			if err := a.finish(context.WithoutCancel(ctx), results, due); err != nil {
				// The leases run out and the deliveries are sent again: at least once.
				a.log.WarnContext(ctx, "record webhook attempts", "error", err.Error())
			}
			if len(due) == o.Batch {
				continue // more may be due now
			}
		}
		wait := o.Poll
		if next, err := a.st.NextDue(ctx); err == nil && !next.IsZero() {
			wait = min(wait, max(next.Sub(a.clock.Now()), time.Millisecond))
		}
		sleep(ctx, wait, wake)
	}
	return nil
}

// sleep waits for d, a wake-up, or the end of ctx.
func sleep(ctx context.Context, d time.Duration, wake <-chan struct{}) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
	}
}

// attempt posts one delivery, signed, and decides what follows.
func (a *App) attempt(ctx context.Context, c *http.Client, d store.Due) store.Result {
	at := a.clock.Now()
	res := store.Result{ID: d.ID, Attempt: d.Attempt, At: at}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "kefu-notify/1")
		req.Header.Set(webhook.SignatureHeader, webhook.Sign(d.Secret, at, d.Body))
		req.Header.Set(webhook.DeliveryIDHeader, d.ID.String())
		req.Header.Set(webhook.WebhookIDHeader, d.WebhookID.String())
		req.Header.Set(webhook.SubjectHeader, d.Subject)
		start := time.Now()
		var resp *http.Response
		resp, err = c.Do(req)
		res.DurationMS = int(time.Since(start).Milliseconds())
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
			_ = resp.Body.Close()
			res.Outcome.StatusCode = resp.StatusCode
		}
	}
	if err != nil {
		res.Outcome.Err = transportError(err)
	}
	res.Next, res.NextAt = delivery.Next(res.Outcome, at, d.RetryUntil, webhook.Backoff(d.Attempt, rand.Float64()))
	return res
}

// transportError names a failed post without the URL (which may carry a customer's token in its query).
func transportError(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		msg := oe.Err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return oe.Op + ": " + msg
	}
	return "request failed"
}

// finish records the attempts, and marks outbound messages a receiver took as sent.
func (a *App) finish(ctx context.Context, rs []store.Result, due []store.Due) error {
	if err := a.st.Finish(ctx, rs); err != nil {
		return err
	}
	a.meters.recordAttempts(ctx, rs)
	var sent []uuid.UUID
	var at time.Time
	for i, r := range rs {
		if r.Next == delivery.DeliveryDone && strings.HasPrefix(due[i].Subject, OutboundPrefix) {
			if id, err := uuid.Parse(due[i].SourceID); err == nil {
				sent, at = append(sent, id), r.At
			}
		}
	}
	if len(sent) == 0 {
		return nil
	}
	return a.st.MarkSent(ctx, sent, at)
}
