package notify_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	notifyv1 "kefu.dev/pkg/api/kefu/notify/v1"
	"kefu.dev/pkg/testkit"
)

// deliveries lists a webhook's deliveries (every page) in state (unspecified: all).
func (s *stack) deliveries(t *testing.T, webhookID string, state notifyv1.WebhookDeliveryState) []*notifyv1.WebhookDelivery {
	t.Helper()
	var out []*notifyv1.WebhookDelivery
	tok := ""
	for {
		resp, err := s.notify.ListWebhookDeliveries(as(t.Context(), adminP), &notifyv1.ListWebhookDeliveriesRequest{
			WebhookId: webhookID, State: state, PageSize: 2, PageToken: tok})
		require.NoError(t, err)
		out = append(out, resp.GetDeliveries()...)
		if tok = resp.GetNextPageToken(); tok == "" {
			return out
		}
	}
}

// TestWebhookRetriesThroughFailuresAndTimeoutsWithoutLoss: a receiver that answers 503, then hangs past the
// timeout, then recovers gets every event in the end, each signed; each delivery's history shows the
// failed attempts, and nothing is lost on the way.
func TestWebhookRetriesThroughFailuresAndTimeoutsWithoutLoss(t *testing.T) {
	t.Parallel()
	s := start(t, mondayMorning)
	r := newReceiver(t, s.clock.Now)
	hook := s.subscribe(t, r, func(int) int { return http.StatusServiceUnavailable }, "kefu.ticket.created")
	const n = 5
	want := map[string]bool{}
	for range n {
		tk := s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_APP, Description: "App 闪退"})
		want[tk.GetTicketId()] = true
	}
	attempted := func(min int, lastError string) func() bool {
		return func() bool {
			ds := s.deliveries(t, hook.GetWebhookId(), notifyv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_PENDING)
			if len(ds) != n {
				return false
			}
			for _, d := range ds {
				if d.GetAttemptCount() < int32(min) || d.GetLastError() != lastError {
					return false
				}
			}
			return true
		}
	}
	testkit.Eventually(t, attempted(1, "status 503"), wait, "every delivery failed once with 503")

	r.set(hook.GetSecret(), func(int) int { return 0 }) // hang until the sender times out
	s.clock.Advance(2 * time.Hour)                      // past the longest backoff
	testkit.Eventually(t, attempted(2, "timeout"), wait, "every delivery timed out once")

	r.set(hook.GetSecret(), nil)
	s.clock.Advance(2 * time.Hour)
	testkit.Eventually(t, func() bool {
		return len(s.deliveries(t, hook.GetWebhookId(), notifyv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DELIVERED)) == n
	}, wait, "every delivery delivered once the receiver recovers")

	got := map[string]bool{}
	for _, d := range r.taken() {
		require.Equal(t, "kefu.ticket.created", d.Subject)
		data := d.Body["data"].(map[string]any)
		meta := data["meta"].(map[string]any)
		got[meta["aggregate_id"].(string)] = true
		require.NotEmpty(t, d.DeliveryID)
	}
	require.Equal(t, want, got, "each ticket's created event arrived")
	_, bad := r.requests()
	require.Zero(t, bad, "every attempt was signed with the webhook's secret")

	d := s.deliveries(t, hook.GetWebhookId(), notifyv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_UNSPECIFIED)[0]
	full, err := s.notify.GetWebhookDelivery(as(t.Context(), adminP), &notifyv1.GetWebhookDeliveryRequest{
		WebhookId: hook.GetWebhookId(), DeliveryId: d.GetDeliveryId()})
	require.NoError(t, err)
	at := full.GetDelivery().GetAttempts()
	require.GreaterOrEqual(t, len(at), 3)
	require.Equal(t, int32(503), at[0].GetStatusCode())
	require.Equal(t, "timeout", at[len(at)-2].GetError())
	require.Equal(t, int32(204), at[len(at)-1].GetStatusCode())
	require.Empty(t, at[len(at)-1].GetError())
	require.NotNil(t, full.GetDelivery().GetFinishTime())
}

// TestDeadLettersCanBeInspectedAndRedelivered: a delivery still failing when its retry period ends is
// dead; the webhook counts it, the dead-letter list shows it, and a redelivery sends it again once the
// receiver works. Only a dead delivery may be redelivered.
func TestDeadLettersCanBeInspectedAndRedelivered(t *testing.T) {
	t.Parallel()
	s := start(t, mondayMorning)
	r := newReceiver(t, s.clock.Now)
	ctx := as(t.Context(), adminP)
	resp, err := s.notify.CreateWebhook(ctx, &notifyv1.CreateWebhookRequest{IdempotencyKey: uuid.NewString(),
		Webhook: &notifyv1.Webhook{Url: r.srv.URL, Subjects: []string{"kefu.ticket.created"}, RetryHours: 24}})
	require.NoError(t, err)
	hook := resp.GetWebhook()
	r.set(hook.GetSecret(), func(int) int { return http.StatusInternalServerError })
	tk := s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_APP, Description: "无法登录"})
	testkit.Eventually(t, func() bool {
		ds := s.deliveries(t, hook.GetWebhookId(), 0)
		return len(ds) == 1 && ds[0].GetAttemptCount() >= 1
	}, wait, "the first attempt failed")

	s.clock.Advance(25 * time.Hour)
	var dead []*notifyv1.WebhookDelivery
	testkit.Eventually(t, func() bool {
		dead = s.deliveries(t, hook.GetWebhookId(), notifyv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DEAD)
		return len(dead) == 1
	}, wait, "the delivery is dead after its retry period")
	require.Equal(t, "status 500", dead[0].GetLastError())
	got, err := s.notify.GetWebhook(ctx, &notifyv1.GetWebhookRequest{WebhookId: hook.GetWebhookId()})
	require.NoError(t, err)
	require.Equal(t, int64(1), got.GetWebhook().GetDeadCount())
	require.Empty(t, got.GetWebhook().GetSecret(), "the secret is shown only at creation")

	r.set(hook.GetSecret(), nil)
	red, err := s.notify.RedeliverWebhookDelivery(ctx, &notifyv1.RedeliverWebhookDeliveryRequest{
		WebhookId: hook.GetWebhookId(), DeliveryId: dead[0].GetDeliveryId()})
	require.NoError(t, err)
	require.Equal(t, notifyv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_PENDING, red.GetDelivery().GetState())
	testkit.Eventually(t, func() bool { return len(r.taken()) == 1 }, wait, "the redelivery arrived")
	require.Contains(t, string(r.taken()[0].Raw), tk.GetTicketId())

	testkit.Eventually(t, func() bool {
		return len(s.deliveries(t, hook.GetWebhookId(), notifyv1.WebhookDeliveryState_WEBHOOK_DELIVERY_STATE_DELIVERED)) == 1
	}, wait, "the delivery is delivered")
	_, err = s.notify.RedeliverWebhookDelivery(ctx, &notifyv1.RedeliverWebhookDeliveryRequest{
		WebhookId: hook.GetWebhookId(), DeliveryId: dead[0].GetDeliveryId()})
	require.Equal(t, codes.FailedPrecondition, status.Code(err))
	require.Contains(t, status.Convert(err).Message(), "delivered")
	_, err = s.notify.RedeliverWebhookDelivery(ctx, &notifyv1.RedeliverWebhookDeliveryRequest{
		WebhookId: hook.GetWebhookId(), DeliveryId: uuid.NewString()})
	require.Equal(t, codes.NotFound, status.Code(err))
}

// TestWebhookAdministration: creation checks the URL, subjects and retry period and is idempotent; a
// paused webhook keeps its deliveries until resumed; the secret rotates; agents cannot manage webhooks.
func TestWebhookAdministration(t *testing.T) {
	t.Parallel()
	s := start(t, mondayMorning)
	ctx := as(t.Context(), adminP)
	for _, tc := range []struct {
		name  string
		hook  *notifyv1.Webhook
		field string
	}{
		{"a subject outside kefu and outbound", &notifyv1.Webhook{Url: "https://example.com/h", Subjects: []string{"orders.>"}}, "webhook.subjects[0]"},
		{"an ftp url", &notifyv1.Webhook{Url: "ftp://example.com/h", Subjects: []string{"kefu.>"}}, "webhook.url"},
		{"a retry period under a day", &notifyv1.Webhook{Url: "https://example.com/h", Subjects: []string{"kefu.>"}, RetryHours: 6}, "webhook.retry_hours"},
		{"no subjects", &notifyv1.Webhook{Url: "https://example.com/h"}, "webhook.subjects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.notify.CreateWebhook(ctx, &notifyv1.CreateWebhookRequest{IdempotencyKey: uuid.NewString(), Webhook: tc.hook})
			require.Equal(t, codes.InvalidArgument, status.Code(err), "%v", err)
			require.Contains(t, status.Convert(err).Message(), tc.field)
		})
	}

	_, err := s.notify.CreateWebhook(as(t.Context(), agentP, "agent"), &notifyv1.CreateWebhookRequest{IdempotencyKey: uuid.NewString(),
		Webhook: &notifyv1.Webhook{Url: "https://example.com/h", Subjects: []string{"kefu.>"}}})
	require.Equal(t, codes.PermissionDenied, status.Code(err))

	r := newReceiver(t, s.clock.Now)
	req := &notifyv1.CreateWebhookRequest{IdempotencyKey: uuid.NewString(),
		Webhook: &notifyv1.Webhook{Url: r.srv.URL, Subjects: []string{"kefu.ticket.*"}, State: notifyv1.WebhookState_WEBHOOK_STATE_PAUSED}}
	first, err := s.notify.CreateWebhook(ctx, req)
	require.NoError(t, err)
	again, err := s.notify.CreateWebhook(ctx, req)
	require.NoError(t, err)
	require.Equal(t, first.GetWebhook().GetWebhookId(), again.GetWebhook().GetWebhookId(), "a retried create returns the same webhook")
	require.Empty(t, again.GetWebhook().GetSecret(), "and not its secret again")
	require.Equal(t, int32(25), first.GetWebhook().GetRetryHours())
	hook := first.GetWebhook()

	rot, err := s.notify.RotateWebhookSecret(ctx, &notifyv1.RotateWebhookSecretRequest{WebhookId: hook.GetWebhookId()})
	require.NoError(t, err)
	require.NotEqual(t, hook.GetSecret(), rot.GetWebhook().GetSecret())
	r.set(rot.GetWebhook().GetSecret(), nil)

	s.submit(t, &intakev1.SubmitTicketRequest{Channel: intakev1.Channel_CHANNEL_APP, Description: "paused"})
	testkit.Eventually(t, func() bool {
		got, err := s.notify.GetWebhook(ctx, &notifyv1.GetWebhookRequest{WebhookId: hook.GetWebhookId()})
		require.NoError(t, err)
		return got.GetWebhook().GetPendingCount() == 1
	}, wait, "a paused webhook keeps its delivery pending")
	require.Empty(t, r.taken())

	hook.State, hook.Secret = notifyv1.WebhookState_WEBHOOK_STATE_ACTIVE, ""
	upd, err := s.notify.UpdateWebhook(ctx, &notifyv1.UpdateWebhookRequest{Webhook: hook})
	require.NoError(t, err)
	require.Equal(t, notifyv1.WebhookState_WEBHOOK_STATE_ACTIVE, upd.GetWebhook().GetState())
	testkit.Eventually(t, func() bool { return len(r.taken()) == 1 }, wait, "resumed, it delivers")
	_, bad := r.requests()
	require.Zero(t, bad, "signed with the rotated secret")

	list, err := s.notify.ListWebhooks(ctx, &notifyv1.ListWebhooksRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetWebhooks(), 1)
	_, err = s.notify.DeleteWebhook(ctx, &notifyv1.DeleteWebhookRequest{WebhookId: hook.GetWebhookId()})
	require.NoError(t, err)
	_, err = s.notify.GetWebhook(ctx, &notifyv1.GetWebhookRequest{WebhookId: hook.GetWebhookId()})
	require.Equal(t, codes.NotFound, status.Code(err))
}
