package delivery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
)

var (
	t0 = time.Date(2026, 11, 20, 11, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Minute)
)

func TestApply(t *testing.T) {
	t.Parallel()
	queued := Status{State: Queued}
	sent := Status{State: Sent, SentAt: t0, ProviderMessageID: "p-1"}
	delivered := Status{State: Delivered, SentAt: t0, FinishedAt: t0, ProviderMessageID: "p-1"}
	failed := Status{State: Failed, FinishedAt: t0, FailureReason: "bounced"}
	tests := []struct {
		name        string
		from        Status
		report      Report
		want        Status
		changed     bool
		wantKind    apierr.Kind
		wantReason  string
		wantField   string
		wantNoError bool
	}{
		{name: "queued then sent records the time and provider id", from: queued,
			report: Report{State: Sent, ProviderMessageID: "p-1", At: t0}, want: sent, changed: true, wantNoError: true},
		{name: "queued then delivered implies sent at the same instant", from: queued,
			report: Report{State: Delivered, ProviderMessageID: "p-1", At: t0}, want: delivered, changed: true, wantNoError: true},
		{name: "sent then delivered keeps the sent time", from: sent,
			report: Report{State: Delivered, At: t1},
			want:   Status{State: Delivered, SentAt: t0, FinishedAt: t1, ProviderMessageID: "p-1"}, changed: true, wantNoError: true},
		{name: "queued then failed records the reason", from: queued,
			report: Report{State: Failed, FailureReason: "bounced", At: t0}, want: failed, changed: true, wantNoError: true},
		{name: "sent again with the same id changes nothing", from: sent,
			report: Report{State: Sent, ProviderMessageID: "p-1", At: t1}, want: sent, wantNoError: true},
		{name: "sent again with a provider id fills it in", from: Status{State: Sent, SentAt: t0},
			report: Report{State: Sent, ProviderMessageID: "p-1", At: t1}, want: sent, changed: true, wantNoError: true},
		{name: "delivered again is a no-op", from: delivered,
			report: Report{State: Delivered, At: t1}, want: delivered, wantNoError: true},
		{name: "a late sent after delivered is refused as finished", from: delivered,
			report: Report{State: Sent, At: t1}, want: delivered, wantKind: apierr.KindFailedPrecondition, wantReason: ReasonMessageFinished},
		{name: "failed after delivered is refused naming the state", from: delivered,
			report: Report{State: Failed, FailureReason: "x", At: t1}, want: delivered, wantKind: apierr.KindFailedPrecondition, wantReason: ReasonMessageFinished},
		{name: "failed without a reason names failure_reason", from: queued,
			report: Report{State: Failed, At: t1}, want: queued, wantKind: apierr.KindInvalidArgument, wantField: "failure_reason"},
		{name: "queued is not a report", from: queued,
			report: Report{State: Queued, At: t1}, want: queued, wantKind: apierr.KindInvalidArgument, wantField: "state"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, changed, err := Apply(tc.from, tc.report)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.changed, changed)
			if tc.wantNoError {
				require.NoError(t, err)
				return
			}
			e, ok := apierr.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, tc.wantKind, e.Kind)
			if tc.wantReason != "" {
				require.Equal(t, tc.wantReason, e.Reason)
			}
			if tc.wantField != "" {
				require.Equal(t, tc.wantField, e.Fields[0].Field)
			}
		})
	}
}

func TestNext(t *testing.T) {
	t.Parallel()
	until := t0.Add(24 * time.Hour)
	tests := []struct {
		name    string
		outcome Outcome
		now     time.Time
		want    DeliveryState
		wantAt  time.Time
	}{
		{"a 2xx answer is delivered", Outcome{StatusCode: 204}, t0, DeliveryDone, time.Time{}},
		{"a 503 inside the retry period is retried after the backoff", Outcome{StatusCode: 503}, t0, Pending, t0.Add(time.Minute)},
		{"a timeout inside the retry period is retried", Outcome{Err: "timeout"}, t0, Pending, t0.Add(time.Minute)},
		{"a failure at the end of the retry period is dead", Outcome{StatusCode: 500}, until, DeliveryDead, time.Time{}},
		{"a 3xx redirect is not success", Outcome{StatusCode: 302}, t0, Pending, t0.Add(time.Minute)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, at := Next(tc.outcome, tc.now, until, time.Minute)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.wantAt, at)
		})
	}
}

func TestOutcomeText(t *testing.T) {
	t.Parallel()
	require.Equal(t, "status 503", Outcome{StatusCode: 503}.Text())
	require.Empty(t, Outcome{StatusCode: 200}.Text())
	require.Equal(t, "timeout", Outcome{Err: "timeout"}.Text())
	long := Outcome{Err: string(make([]byte, 500))}.Text()
	require.Len(t, long, 200)
}

func TestWebhookNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        Webhook
		wantField string
		want      Webhook
	}{
		{name: "defaults fill state and retry period", in: Webhook{URL: "https://example.com/hook"},
			want: Webhook{URL: "https://example.com/hook", State: Active, RetryHours: DefaultRetryHours}},
		{name: "a retry period under a day is refused", in: Webhook{URL: "https://example.com/hook", RetryHours: 12},
			wantField: "webhook.retry_hours"},
		{name: "an ftp url is refused", in: Webhook{URL: "ftp://example.com/hook"}, wantField: "webhook.url"},
		{name: "a relative url is refused", in: Webhook{URL: "/hook"}, wantField: "webhook.url"},
		{name: "credentials in the url are refused", in: Webhook{URL: "https://u:p@example.com/hook"}, wantField: "webhook.url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.in.Normalize()
			if tc.wantField == "" {
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
				return
			}
			e, ok := apierr.As(err)
			require.True(t, ok)
			require.Equal(t, tc.wantField, e.Fields[0].Field)
		})
	}
}
