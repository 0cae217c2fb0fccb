// Package grpcapi implements kefu.notify.v1.NotifyService: it turns requests into app calls and results
// into responses, nothing more. Shape rules were checked by protovalidate before a handler runs; meaning
// rules are the domain's. Ids are still parsed defensively, so no input panics. Errors are returned as they
// come; pkg/grpcx maps them to statuses.
package grpcapi

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	notifyv1 "kefu.dev/pkg/api/kefu/notify/v1"
	"kefu.dev/pkg/apiparse"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/notify/internal/app"
	"kefu.dev/services/notify/internal/domain/delivery"
	"kefu.dev/services/notify/internal/domain/message"
	"kefu.dev/services/notify/internal/store"
)

// Server implements notifyv1.NotifyServiceServer on an app.
type Server struct {
	notifyv1.UnimplementedNotifyServiceServer
	app *app.App
}

// New returns the server.
func New(a *app.App) *Server { return &Server{app: a} }

// Register registers the server on r.
func (s *Server) Register(r grpc.ServiceRegistrar) { notifyv1.RegisterNotifyServiceServer(r, s) }

// ListMessages implements NotifyService.ListMessages.
func (s *Server) ListMessages(ctx context.Context, req *notifyv1.ListMessagesRequest) (*notifyv1.ListMessagesResponse, error) {
	id, err := apiparse.ID("ticket_id", req.GetTicketId())
	if err != nil {
		return nil, err
	}
	ms, next, err := s.app.ListMessages(ctx, id, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &notifyv1.ListMessagesResponse{NextPageToken: next}
	for _, m := range ms {
		out.Messages = append(out.Messages, app.MessageProto(m, false))
	}
	return out, nil
}

// GetAnnouncementDelivery implements NotifyService.GetAnnouncementDelivery.
func (s *Server) GetAnnouncementDelivery(ctx context.Context, req *notifyv1.GetAnnouncementDeliveryRequest) (*notifyv1.GetAnnouncementDeliveryResponse, error) {
	id, err := apiparse.ID("announcement_id", req.GetAnnouncementId())
	if err != nil {
		return nil, err
	}
	c, err := s.app.AnnouncementDelivery(ctx, id)
	if err != nil {
		return nil, err
	}
	return &notifyv1.GetAnnouncementDeliveryResponse{Messages: c[delivery.Queued] + c[delivery.Sent] + c[delivery.Delivered] + c[delivery.Failed],
		Queued: c[delivery.Queued], Sent: c[delivery.Sent], Delivered: c[delivery.Delivered], Failed: c[delivery.Failed]}, nil
}

// ReportDelivery implements NotifyService.ReportDelivery.
func (s *Server) ReportDelivery(ctx context.Context, req *notifyv1.ReportDeliveryRequest) (*notifyv1.ReportDeliveryResponse, error) {
	id, err := apiparse.ID("message_id", req.GetMessageId())
	if err != nil {
		return nil, err
	}
	r := delivery.Report{State: delivery.State(protocode.Code(req.GetState(), "DELIVERY_STATE_")),
		FailureReason: req.GetFailureReason(), ProviderMessageID: req.GetProviderMessageId()}
	if req.GetOccurTime() != nil {
		r.At = req.GetOccurTime().AsTime()
	}
	m, err := s.app.Report(ctx, id, r)
	if err != nil {
		return nil, err
	}
	return &notifyv1.ReportDeliveryResponse{Message: app.MessageProto(m, false)}, nil
}

// ListTemplates implements NotifyService.ListTemplates.
func (s *Server) ListTemplates(ctx context.Context, req *notifyv1.ListTemplatesRequest) (*notifyv1.ListTemplatesResponse, error) {
	ts, err := s.app.Templates(ctx, message.Kind(protocode.Code(req.GetKind(), "MESSAGE_KIND_")))
	if err != nil {
		return nil, err
	}
	out := &notifyv1.ListTemplatesResponse{}
	for _, t := range ts {
		out.Templates = append(out.Templates, templateProto(t))
	}
	return out, nil
}

// SetTemplate implements NotifyService.SetTemplate.
func (s *Server) SetTemplate(ctx context.Context, req *notifyv1.SetTemplateRequest) (*notifyv1.SetTemplateResponse, error) {
	in := req.GetTemplate()
	t, err := s.app.SetTemplate(ctx, message.Template{
		Kind:    message.Kind(protocode.Code(in.GetKind(), "MESSAGE_KIND_")),
		Channel: message.Channel(protocode.Code(in.GetChannel(), "CHANNEL_")), Language: in.GetLanguage(), Body: in.GetBody(),
	})
	if err != nil {
		return nil, err
	}
	return &notifyv1.SetTemplateResponse{Template: templateProto(t)}, nil
}

func templateProto(t app.TemplateView) *notifyv1.Template {
	out := &notifyv1.Template{
		Kind:     protocode.Enum[notifyv1.MessageKind]("MESSAGE_KIND_", string(t.Kind)),
		Channel:  protocode.Enum[intakev1.Channel]("CHANNEL_", string(t.Channel)),
		Language: t.Language, Body: t.Body, Builtin: t.Builtin, UpdateActor: t.UpdateActor,
	}
	if !t.UpdatedAt.IsZero() {
		out.UpdateTime = timestamppb.New(t.UpdatedAt)
	}
	return out
}

// CreateWebhook implements NotifyService.CreateWebhook.
func (s *Server) CreateWebhook(ctx context.Context, req *notifyv1.CreateWebhookRequest) (*notifyv1.CreateWebhookResponse, error) {
	fp, err := idempotency.FingerprintWithout(req, "idempotency_key")
	if err != nil {
		return nil, err
	}
	who, _ := auth.FromContext(ctx)
	claim := idempotency.Claim{Principal: who.String(), Scope: "create_webhook", Key: req.GetIdempotencyKey(), Fingerprint: fp}
	w, err := s.app.CreateWebhook(ctx, claim, webhookFromProto(req.GetWebhook()))
	if err != nil {
		return nil, err
	}
	return &notifyv1.CreateWebhookResponse{Webhook: webhookProto(w)}, nil
}

// GetWebhook implements NotifyService.GetWebhook.
func (s *Server) GetWebhook(ctx context.Context, req *notifyv1.GetWebhookRequest) (*notifyv1.GetWebhookResponse, error) {
	id, err := apiparse.ID("webhook_id", req.GetWebhookId())
	if err != nil {
		return nil, err
	}
	w, err := s.app.GetWebhook(ctx, id)
	if err != nil {
		return nil, err
	}
	return &notifyv1.GetWebhookResponse{Webhook: webhookProto(w)}, nil
}

// ListWebhooks implements NotifyService.ListWebhooks.
func (s *Server) ListWebhooks(ctx context.Context, _ *notifyv1.ListWebhooksRequest) (*notifyv1.ListWebhooksResponse, error) {
	ws, err := s.app.ListWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	out := &notifyv1.ListWebhooksResponse{}
	for _, w := range ws {
		out.Webhooks = append(out.Webhooks, webhookProto(w))
	}
	return out, nil
}

// UpdateWebhook implements NotifyService.UpdateWebhook.
func (s *Server) UpdateWebhook(ctx context.Context, req *notifyv1.UpdateWebhookRequest) (*notifyv1.UpdateWebhookResponse, error) {
	id, err := apiparse.ID("webhook.webhook_id", req.GetWebhook().GetWebhookId())
	if err != nil {
		return nil, err
	}
	w, err := s.app.UpdateWebhook(ctx, id, webhookFromProto(req.GetWebhook()))
	if err != nil {
		return nil, err
	}
	return &notifyv1.UpdateWebhookResponse{Webhook: webhookProto(w)}, nil
}

// DeleteWebhook implements NotifyService.DeleteWebhook.
func (s *Server) DeleteWebhook(ctx context.Context, req *notifyv1.DeleteWebhookRequest) (*notifyv1.DeleteWebhookResponse, error) {
	id, err := apiparse.ID("webhook_id", req.GetWebhookId())
	if err != nil {
		return nil, err
	}
	if err := s.app.DeleteWebhook(ctx, id); err != nil {
		return nil, err
	}
	return &notifyv1.DeleteWebhookResponse{}, nil
}

// RotateWebhookSecret implements NotifyService.RotateWebhookSecret.
func (s *Server) RotateWebhookSecret(ctx context.Context, req *notifyv1.RotateWebhookSecretRequest) (*notifyv1.RotateWebhookSecretResponse, error) {
	id, err := apiparse.ID("webhook_id", req.GetWebhookId())
	if err != nil {
		return nil, err
	}
	w, err := s.app.RotateWebhookSecret(ctx, id)
	if err != nil {
		return nil, err
	}
	return &notifyv1.RotateWebhookSecretResponse{Webhook: webhookProto(w)}, nil
}

// ListWebhookDeliveries implements NotifyService.ListWebhookDeliveries.
func (s *Server) ListWebhookDeliveries(ctx context.Context, req *notifyv1.ListWebhookDeliveriesRequest) (*notifyv1.ListWebhookDeliveriesResponse, error) {
	id, err := apiparse.ID("webhook_id", req.GetWebhookId())
	if err != nil {
		return nil, err
	}
	state := delivery.DeliveryState(protocode.Code(req.GetState(), "WEBHOOK_DELIVERY_STATE_"))
	ds, next, err := s.app.ListDeliveries(ctx, id, state, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &notifyv1.ListWebhookDeliveriesResponse{NextPageToken: next}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, deliveryProto(d))
	}
	return out, nil
}

// GetWebhookDelivery implements NotifyService.GetWebhookDelivery.
func (s *Server) GetWebhookDelivery(ctx context.Context, req *notifyv1.GetWebhookDeliveryRequest) (*notifyv1.GetWebhookDeliveryResponse, error) {
	wid, err := apiparse.ID("webhook_id", req.GetWebhookId())
	if err != nil {
		return nil, err
	}
	id, err := apiparse.ID("delivery_id", req.GetDeliveryId())
	if err != nil {
		return nil, err
	}
	d, err := s.app.GetDelivery(ctx, wid, id)
	if err != nil {
		return nil, err
	}
	return &notifyv1.GetWebhookDeliveryResponse{Delivery: deliveryProto(d)}, nil
}

// RedeliverWebhookDelivery implements NotifyService.RedeliverWebhookDelivery.
func (s *Server) RedeliverWebhookDelivery(ctx context.Context, req *notifyv1.RedeliverWebhookDeliveryRequest) (*notifyv1.RedeliverWebhookDeliveryResponse, error) {
	wid, err := apiparse.ID("webhook_id", req.GetWebhookId())
	if err != nil {
		return nil, err
	}
	id, err := apiparse.ID("delivery_id", req.GetDeliveryId())
	if err != nil {
		return nil, err
	}
	d, err := s.app.Redeliver(ctx, wid, id)
	if err != nil {
		return nil, err
	}
	return &notifyv1.RedeliverWebhookDeliveryResponse{Delivery: deliveryProto(d)}, nil
}

func webhookFromProto(w *notifyv1.Webhook) delivery.Webhook {
	return delivery.Webhook{URL: w.GetUrl(), Subjects: w.GetSubjects(), Description: w.GetDescription(),
		State:      delivery.WebhookState(protocode.Code(w.GetState(), "WEBHOOK_STATE_")),
		RetryHours: int(w.GetRetryHours())}
}

func webhookProto(w store.WebhookRow) *notifyv1.Webhook {
	return &notifyv1.Webhook{
		WebhookId: w.ID.String(), Url: w.URL, Subjects: w.Subjects, Description: w.Description,
		State:      protocode.Enum[notifyv1.WebhookState]("WEBHOOK_STATE_", string(w.State)),
		RetryHours: int32(w.RetryHours), Secret: w.Secret, PendingCount: w.Pending, DeadCount: w.Dead,
		CreateActor: w.CreateActor, CreateTime: timestamppb.New(w.CreatedAt), UpdateTime: timestamppb.New(w.UpdatedAt),
	}
}

func deliveryProto(d store.Delivery) *notifyv1.WebhookDelivery {
	out := &notifyv1.WebhookDelivery{
		DeliveryId: d.ID.String(), WebhookId: d.WebhookID.String(), Subject: d.Subject, SourceId: d.SourceID,
		State:        protocode.Enum[notifyv1.WebhookDeliveryState]("WEBHOOK_DELIVERY_STATE_", string(d.State)),
		AttemptCount: int32(d.Attempts), LastStatusCode: int32(d.LastStatusCode), LastError: d.LastError,
		CreateTime: timestamppb.New(d.CreatedAt),
	}
	if d.State == delivery.Pending {
		out.NextAttemptTime = timestamppb.New(d.NextAttemptAt)
	}
	if !d.FinishedAt.IsZero() {
		out.FinishTime = timestamppb.New(d.FinishedAt)
	}
	for _, a := range d.History {
		out.Attempts = append(out.Attempts, &notifyv1.WebhookAttempt{AttemptTime: timestamppb.New(a.At),
			StatusCode: int32(a.StatusCode), Error: a.Error, DurationMs: int32(a.DurationMS)})
	}
	return out
}
