// Package delivery holds the rules of an outbound message's delivery state and of webhook subscriptions:
// states only move forward (queued → sent → delivered | failed), a finished message takes no report, and a
// webhook's subjects are NATS patterns under kefu. or outbound.
package delivery

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"kefu.dev/pkg/apierr"
)

// State is an outbound message's delivery state.
type State string

// The states, in the only order a message moves through them.
const (
	Queued    State = "queued"
	Sent      State = "sent"
	Delivered State = "delivered"
	Failed    State = "failed"
)

// rank orders the states; delivered and failed are both final.
func (s State) rank() int {
	switch s {
	case Queued:
		return 1
	case Sent:
		return 2
	case Delivered, Failed:
		return 3
	}
	return 0
}

// Finished reports whether s is final.
func (s State) Finished() bool { return s == Delivered || s == Failed }

// Status is the part of a message a report changes.
type Status struct {
	State             State
	FailureReason     string
	ProviderMessageID string
	SentAt            time.Time // zero until sent
	FinishedAt        time.Time // zero until delivered or failed
}

// Report is what an adapter says became of a message.
type Report struct {
	State             State
	FailureReason     string
	ProviderMessageID string
	At                time.Time
}

// ReasonMessageFinished is the FailedPrecondition reason of a report on a delivered or failed message.
const ReasonMessageFinished = "MESSAGE_FINISHED"

// Apply returns st after r and whether anything changed. A report of the current state only fills in a
// provider id not known yet; a report of an earlier state (a late "sent" after "delivered" was already
// taken, say) changes nothing; a report after the message finished is a FailedPrecondition naming its
// state, because the adapter believes something the record contradicts.
func Apply(st Status, r Report) (Status, bool, error) {
	switch r.State {
	case Sent, Delivered, Failed:
	default:
		return st, false, apierr.InvalidField("state", "must be SENT, DELIVERED or FAILED")
	}
	if r.State == Failed && strings.TrimSpace(r.FailureReason) == "" {
		return st, false, apierr.InvalidField("failure_reason", "is required with FAILED")
	}
	if st.State.Finished() {
		if r.State == st.State {
			return st, false, nil // a repeated final report
		}
		return st, false, apierr.FailedPrecondition(ReasonMessageFinished,
			fmt.Sprintf("the message is already %s", st.State)).WithMeta("current_state", string(st.State))
	}
	if r.State.rank() < st.State.rank() {
		return st, false, nil
	}
	changed := false
	if r.ProviderMessageID != "" && r.ProviderMessageID != st.ProviderMessageID {
		st.ProviderMessageID, changed = r.ProviderMessageID, true
	}
	if r.State == st.State {
		return st, changed, nil
	}
	st.State = r.State
	switch r.State {
	case Sent:
		st.SentAt = r.At
	case Delivered:
		if st.SentAt.IsZero() {
			st.SentAt = r.At // delivered implies sent: the sent report may never come
		}
		st.FinishedAt = r.At
	case Failed:
		st.FailureReason = r.FailureReason
		st.FinishedAt = r.At
	}
	return st, true, nil
}

// WebhookState is whether a subscription receives deliveries.
type WebhookState string

// Webhook states.
const (
	Active WebhookState = "active"
	Paused WebhookState = "paused"
)

// Webhook is a subscription of an HTTP receiver to subjects.
type Webhook struct {
	URL         string
	Subjects    []string
	Description string
	State       WebhookState
	// RetryHours is how long a delivery is retried before it is dead.
	RetryHours int
}

// DefaultRetryHours is the retry period when none is given: a day and an hour, so a receiver down for a
// whole day still gets its deliveries.
const DefaultRetryHours = 25

// Normalize fills defaults and checks the meaning rules protovalidate cannot: the URL's scheme and host,
// and the retry period.
func (w Webhook) Normalize() (Webhook, error) {
	if w.State == "" {
		w.State = Active
	}
	if w.RetryHours == 0 {
		w.RetryHours = DefaultRetryHours
	}
	if w.RetryHours < 24 || w.RetryHours > 168 {
		return w, apierr.InvalidField("webhook.retry_hours", "must be between 24 and 168 (0 is 25)")
	}
	u, err := url.Parse(w.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return w, apierr.InvalidField("webhook.url", "must be an absolute http or https URL")
	}
	if u.User != nil {
		return w, apierr.InvalidField("webhook.url", "must not carry credentials: deliveries are signed")
	}
	return w, nil
}

// Matches reports whether subject is one w receives.
func (w Webhook) Matches(subject string, match func(pattern, subject string) bool) bool {
	for _, p := range w.Subjects {
		if match(p, subject) {
			return true
		}
	}
	return false
}

// DeliveryState is where a webhook delivery is.
type DeliveryState string

// Delivery states.
const (
	Pending        DeliveryState = "pending"
	DeliveryDone   DeliveryState = "delivered"
	DeliveryDead   DeliveryState = "dead"
	ReasonNotDead                = "DELIVERY_NOT_DEAD"
	maxErrorLength               = 200
)

// Outcome is what one attempt came to.
type Outcome struct {
	StatusCode int
	Err        string
}

// OK reports whether the receiver took the delivery.
func (o Outcome) OK() bool { return o.Err == "" && o.StatusCode >= 200 && o.StatusCode < 300 }

// Text is the attempt's error as stored: the transport error, else "status N"; cut to 200 bytes.
func (o Outcome) Text() string {
	s := o.Err
	if s == "" && !o.OK() {
		s = fmt.Sprintf("status %d", o.StatusCode)
	}
	if len(s) > maxErrorLength {
		s = strings.ToValidUTF8(s[:maxErrorLength], "")
	}
	return s
}

// Next decides what follows an attempt made at now: delivered, dead (it failed at or after retryUntil),
// or pending again after backoff.
func Next(o Outcome, now, retryUntil time.Time, backoff time.Duration) (DeliveryState, time.Time) {
	switch {
	case o.OK():
		return DeliveryDone, time.Time{}
	case !now.Before(retryUntil):
		return DeliveryDead, time.Time{}
	default:
		return Pending, now.Add(backoff)
	}
}
