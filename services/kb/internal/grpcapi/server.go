// Package grpcapi implements kefu.kb.v1.KbService: it turns requests into app calls and results into
// responses, nothing more. Shape rules were checked by protovalidate before a handler runs; meaning rules
// are the domain's. Ids are still parsed defensively, so no input panics. Errors are returned as they
// come; pkg/grpcx maps them to statuses.
package grpcapi

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	kbv1 "kefu.dev/pkg/api/kefu/kb/v1"
	"kefu.dev/pkg/apiparse"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/etag"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/protocode"
	"kefu.dev/services/kb/internal/app"
	"kefu.dev/services/kb/internal/domain/article"
	"kefu.dev/services/kb/internal/domain/canned"
	"kefu.dev/services/kb/internal/store"
)

// Server implements kbv1.KbServiceServer on an app.
type Server struct {
	kbv1.UnimplementedKbServiceServer
	app *app.App
}

// New returns the server.
func New(a *app.App) *Server { return &Server{app: a} }

// Register registers the server on r.
func (s *Server) Register(r grpc.ServiceRegistrar) { kbv1.RegisterKbServiceServer(r, s) }

func claimOf(ctx context.Context, req interface{ GetIdempotencyKey() string }, fp []byte, scope string) idempotency.Claim {
	who, _ := auth.FromContext(ctx)
	return idempotency.Claim{Principal: who.String(), Scope: scope, Key: req.GetIdempotencyKey(), Fingerprint: fp}
}

// CreateArticle implements KbService.CreateArticle.
func (s *Server) CreateArticle(ctx context.Context, req *kbv1.CreateArticleRequest) (*kbv1.CreateArticleResponse, error) {
	fp, err := idempotency.FingerprintWithout(req, "idempotency_key")
	if err != nil {
		return nil, err
	}
	a, err := s.app.CreateArticle(ctx, claimOf(ctx, req, fp, "create_article"), contentFromProto(req.GetArticle()))
	if err != nil {
		return nil, err
	}
	return &kbv1.CreateArticleResponse{Article: articleProto(a)}, nil
}

// GetArticle implements KbService.GetArticle.
func (s *Server) GetArticle(ctx context.Context, req *kbv1.GetArticleRequest) (*kbv1.GetArticleResponse, error) {
	id, err := apiparse.ID("article_id", req.GetArticleId())
	if err != nil {
		return nil, err
	}
	a, err := s.app.GetArticle(ctx, id)
	if err != nil {
		return nil, err
	}
	return &kbv1.GetArticleResponse{Article: articleProto(a)}, nil
}

// ListArticles implements KbService.ListArticles.
func (s *Server) ListArticles(ctx context.Context, req *kbv1.ListArticlesRequest) (*kbv1.ListArticlesResponse, error) {
	as, next, err := s.app.ListArticles(ctx, app.ListFilter{
		Status:   article.Status(protocode.Code(req.GetStatus(), "ARTICLE_STATUS_")),
		Language: req.GetLanguage(), Tag: req.GetTag(), Subcat: req.GetSubcategory(),
	}, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &kbv1.ListArticlesResponse{NextPageToken: next}
	for _, a := range as {
		out.Articles = append(out.Articles, articleProto(a))
	}
	return out, nil
}

// UpdateArticle implements KbService.UpdateArticle.
func (s *Server) UpdateArticle(ctx context.Context, req *kbv1.UpdateArticleRequest) (*kbv1.UpdateArticleResponse, error) {
	id, err := apiparse.ID("article.article_id", req.GetArticle().GetArticleId())
	if err != nil {
		return nil, err
	}
	paths, err := apiparse.UpdatePaths(req.GetUpdateMask().GetPaths(), article.OutputOnlyPaths, article.UpdatablePaths)
	if err != nil {
		return nil, err
	}
	a, err := s.app.UpdateArticle(ctx, id, contentFromProto(req.GetArticle()), paths, req.GetArticle().GetEtag())
	if err != nil {
		return nil, err
	}
	return &kbv1.UpdateArticleResponse{Article: articleProto(a)}, nil
}

// PublishArticle implements KbService.PublishArticle.
func (s *Server) PublishArticle(ctx context.Context, req *kbv1.PublishArticleRequest) (*kbv1.PublishArticleResponse, error) {
	a, err := s.setStatus(ctx, req.GetArticleId(), article.ActionPublish, req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &kbv1.PublishArticleResponse{Article: a}, nil
}

// ArchiveArticle implements KbService.ArchiveArticle.
func (s *Server) ArchiveArticle(ctx context.Context, req *kbv1.ArchiveArticleRequest) (*kbv1.ArchiveArticleResponse, error) {
	a, err := s.setStatus(ctx, req.GetArticleId(), article.ActionArchive, req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &kbv1.ArchiveArticleResponse{Article: a}, nil
}

// RestoreArticle implements KbService.RestoreArticle.
func (s *Server) RestoreArticle(ctx context.Context, req *kbv1.RestoreArticleRequest) (*kbv1.RestoreArticleResponse, error) {
	a, err := s.setStatus(ctx, req.GetArticleId(), article.ActionRestore, req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &kbv1.RestoreArticleResponse{Article: a}, nil
}

func (s *Server) setStatus(ctx context.Context, rawID string, action article.Action, tag string) (*kbv1.Article, error) {
	id, err := apiparse.ID("article_id", rawID)
	if err != nil {
		return nil, err
	}
	a, err := s.app.SetStatus(ctx, id, action, tag)
	if err != nil {
		return nil, err
	}
	return articleProto(a), nil
}

// ListArticleVersions implements KbService.ListArticleVersions.
func (s *Server) ListArticleVersions(ctx context.Context, req *kbv1.ListArticleVersionsRequest) (*kbv1.ListArticleVersionsResponse, error) {
	id, err := apiparse.ID("article_id", req.GetArticleId())
	if err != nil {
		return nil, err
	}
	vs, next, err := s.app.ListVersions(ctx, id, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &kbv1.ListArticleVersionsResponse{NextPageToken: next}
	for _, v := range vs {
		out.Versions = append(out.Versions, versionProto(v))
	}
	return out, nil
}

// GetArticleVersion implements KbService.GetArticleVersion.
func (s *Server) GetArticleVersion(ctx context.Context, req *kbv1.GetArticleVersionRequest) (*kbv1.GetArticleVersionResponse, error) {
	id, err := apiparse.ID("article_id", req.GetArticleId())
	if err != nil {
		return nil, err
	}
	v, err := s.app.GetVersion(ctx, id, int(req.GetVersion()))
	if err != nil {
		return nil, err
	}
	return &kbv1.GetArticleVersionResponse{Version: versionProto(v)}, nil
}

// SearchArticles implements KbService.SearchArticles.
func (s *Server) SearchArticles(ctx context.Context, req *kbv1.SearchArticlesRequest) (*kbv1.SearchArticlesResponse, error) {
	hs, err := s.app.Search(ctx, app.SearchInput{Query: req.GetQuery(), Language: req.GetLanguage(),
		Subcategory: req.GetSubcategory(), IncludeDrafts: req.GetIncludeDrafts(), Size: int(req.GetPageSize())})
	if err != nil {
		return nil, err
	}
	return &kbv1.SearchArticlesResponse{Hits: hitsProto(hs)}, nil
}

// SuggestArticles implements KbService.SuggestArticles.
func (s *Server) SuggestArticles(ctx context.Context, req *kbv1.SuggestArticlesRequest) (*kbv1.SuggestArticlesResponse, error) {
	id, err := apiparse.ID("ticket_id", req.GetTicketId())
	if err != nil {
		return nil, err
	}
	sg, err := s.app.Suggest(ctx, id, int(req.GetPageSize()))
	if err != nil {
		return nil, err
	}
	return &kbv1.SuggestArticlesResponse{Hits: hitsProto(sg.Hits), Subcategory: sg.Subcategory, Language: sg.Language}, nil
}

// RecordArticleUse implements KbService.RecordArticleUse.
func (s *Server) RecordArticleUse(ctx context.Context, req *kbv1.RecordArticleUseRequest) (*kbv1.RecordArticleUseResponse, error) {
	articleID, err := apiparse.ID("article_id", req.GetArticleId())
	if err != nil {
		return nil, err
	}
	ticketID, err := apiparse.ID("ticket_id", req.GetTicketId())
	if err != nil {
		return nil, err
	}
	u, err := s.app.RecordUse(ctx, articleID, ticketID, protocode.Code(req.GetUse(), "ARTICLE_USE_"))
	if err != nil {
		return nil, err
	}
	return &kbv1.RecordArticleUseResponse{Inserted: u.Inserted,
		Feedback: protocode.Enum[kbv1.ArticleUse]("ARTICLE_USE_", u.Feedback)}, nil
}

// GetKbReport implements KbService.GetKbReport.
func (s *Server) GetKbReport(ctx context.Context, req *kbv1.GetKbReportRequest) (*kbv1.GetKbReportResponse, error) {
	r, err := s.app.Report(ctx, app.ReportInput{From: req.GetStartTime().AsTime(), To: req.GetEndTime().AsTime(),
		Limit: int(req.GetLimit()), MinFeedback: int(req.GetMinFeedback()), MinTicket: int(req.GetMinTickets())})
	if err != nil {
		return nil, err
	}
	out := &kbv1.GetKbReportResponse{}
	for _, u := range r.MostUsed {
		out.MostUsed = append(out.MostUsed, &kbv1.ArticleUsage{ArticleId: u.ArticleID.String(), Title: u.Title,
			Language: u.Language, Status: statusProto(u.Status), InsertedCount: u.Inserted})
	}
	for _, h := range r.MostHelpful {
		out.MostHelpful = append(out.MostHelpful, &kbv1.ArticleHelpfulness{ArticleId: h.ArticleID.String(), Title: h.Title,
			Language: h.Language, Status: statusProto(h.Status), HelpedCount: h.Helped, NotHelpedCount: h.NotHelped,
			HelpedRatio: float64(h.Helped) / float64(h.Helped+h.NotHelped)})
	}
	for _, g := range r.Uncovered {
		out.UncoveredSubcategories = append(out.UncoveredSubcategories, &kbv1.SubcategoryGap{Subcategory: g.Subcategory,
			TicketCount: g.Tickets})
	}
	return out, nil
}

// CreateCannedResponse implements KbService.CreateCannedResponse.
func (s *Server) CreateCannedResponse(ctx context.Context, req *kbv1.CreateCannedResponseRequest) (*kbv1.CreateCannedResponseResponse, error) {
	group, err := apiparse.ID("canned_response.group_id", req.GetCannedResponse().GetGroupId())
	if err != nil {
		return nil, err
	}
	fp, err := idempotency.FingerprintWithout(req, "idempotency_key")
	if err != nil {
		return nil, err
	}
	c, err := s.app.CreateCanned(ctx, claimOf(ctx, req, fp, "create_canned_response"), group, cannedFromProto(req.GetCannedResponse()))
	if err != nil {
		return nil, err
	}
	return &kbv1.CreateCannedResponseResponse{CannedResponse: cannedProto(c)}, nil
}

// GetCannedResponse implements KbService.GetCannedResponse.
func (s *Server) GetCannedResponse(ctx context.Context, req *kbv1.GetCannedResponseRequest) (*kbv1.GetCannedResponseResponse, error) {
	id, err := apiparse.ID("canned_response_id", req.GetCannedResponseId())
	if err != nil {
		return nil, err
	}
	c, err := s.app.GetCanned(ctx, id)
	if err != nil {
		return nil, err
	}
	return &kbv1.GetCannedResponseResponse{CannedResponse: cannedProto(c)}, nil
}

// ListCannedResponses implements KbService.ListCannedResponses.
func (s *Server) ListCannedResponses(ctx context.Context, req *kbv1.ListCannedResponsesRequest) (*kbv1.ListCannedResponsesResponse, error) {
	group, err := apiparse.ID("group_id", req.GetGroupId())
	if err != nil {
		return nil, err
	}
	cs, next, err := s.app.ListCanned(ctx, group, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, err
	}
	out := &kbv1.ListCannedResponsesResponse{NextPageToken: next}
	for _, c := range cs {
		out.CannedResponses = append(out.CannedResponses, cannedProto(c))
	}
	return out, nil
}

// cannedUpdatable and cannedOutputOnly are UpdateCannedResponse's update_mask paths.
var (
	cannedUpdatable  = []string{"title", "body"}
	cannedOutputOnly = []string{"canned_response_id", "group_id", "create_actor", "create_time", "update_time", "etag"}
)

// UpdateCannedResponse implements KbService.UpdateCannedResponse.
func (s *Server) UpdateCannedResponse(ctx context.Context, req *kbv1.UpdateCannedResponseRequest) (*kbv1.UpdateCannedResponseResponse, error) {
	id, err := apiparse.ID("canned_response.canned_response_id", req.GetCannedResponse().GetCannedResponseId())
	if err != nil {
		return nil, err
	}
	paths, err := apiparse.UpdatePaths(req.GetUpdateMask().GetPaths(), cannedOutputOnly, cannedUpdatable)
	if err != nil {
		return nil, err
	}
	c, err := s.app.UpdateCanned(ctx, id, cannedFromProto(req.GetCannedResponse()), paths, req.GetCannedResponse().GetEtag())
	if err != nil {
		return nil, err
	}
	return &kbv1.UpdateCannedResponseResponse{CannedResponse: cannedProto(c)}, nil
}

// DeleteCannedResponse implements KbService.DeleteCannedResponse.
func (s *Server) DeleteCannedResponse(ctx context.Context, req *kbv1.DeleteCannedResponseRequest) (*kbv1.DeleteCannedResponseResponse, error) {
	id, err := apiparse.ID("canned_response_id", req.GetCannedResponseId())
	if err != nil {
		return nil, err
	}
	if err := s.app.DeleteCanned(ctx, id); err != nil {
		return nil, err
	}
	return &kbv1.DeleteCannedResponseResponse{}, nil
}

// RenderCannedResponse implements KbService.RenderCannedResponse.
func (s *Server) RenderCannedResponse(ctx context.Context, req *kbv1.RenderCannedResponseRequest) (*kbv1.RenderCannedResponseResponse, error) {
	id, err := apiparse.ID("canned_response_id", req.GetCannedResponseId())
	if err != nil {
		return nil, err
	}
	ticketID, err := apiparse.ID("ticket_id", req.GetTicketId())
	if err != nil {
		return nil, err
	}
	text, err := s.app.RenderCanned(ctx, id, ticketID)
	if err != nil {
		return nil, err
	}
	return &kbv1.RenderCannedResponseResponse{Text: text}, nil
}

func contentFromProto(a *kbv1.Article) article.Content {
	return article.Content{Title: a.GetTitle(), Body: a.GetBody(), Tags: a.GetTags(), Subcategories: a.GetSubcategories(),
		Language: a.GetLanguage()}
}

func statusProto(s article.Status) kbv1.ArticleStatus {
	return protocode.Enum[kbv1.ArticleStatus]("ARTICLE_STATUS_", string(s))
}

func articleProto(a *article.Article) *kbv1.Article {
	return &kbv1.Article{
		ArticleId: a.ID.String(), Title: a.Title, Body: a.Body, Tags: a.Tags, Subcategories: a.Subcategories,
		Language: a.Language, Status: statusProto(a.Status), Author: a.Author, Version: int32(a.Version),
		CreateTime: timestamppb.New(a.CreatedAt), UpdateTime: timestamppb.New(a.UpdatedAt), UpdateActor: a.UpdateActor,
		PublishTime: optTime(a.PublishedAt), ArchiveTime: optTime(a.ArchivedAt), Etag: etag.Of(a.Revision),
	}
}

func versionProto(v store.Version) *kbv1.ArticleVersion {
	return &kbv1.ArticleVersion{ArticleId: v.ArticleID.String(), Version: int32(v.Version), Title: v.Title, Body: v.Body,
		Tags: v.Tags, Subcategories: v.Subcategories, Language: v.Language, Editor: v.Editor,
		CreateTime: timestamppb.New(v.CreatedAt)}
}

func hitsProto(hs []app.Hit) []*kbv1.ArticleHit {
	out := make([]*kbv1.ArticleHit, len(hs))
	for i, h := range hs {
		a := articleProto(h.Article)
		a.Body = ""
		out[i] = &kbv1.ArticleHit{Article: a, Score: h.Score, TitleSnippet: h.TitleSnippet, BodySnippet: h.BodySnippet,
			SubcategoryMatch: h.SubcategoryMatch}
	}
	return out
}

func cannedFromProto(c *kbv1.CannedResponse) canned.Response {
	return canned.Response{Title: c.GetTitle(), Body: c.GetBody()}
}

func cannedProto(c store.CannedRow) *kbv1.CannedResponse {
	return &kbv1.CannedResponse{CannedResponseId: c.ID.String(), GroupId: c.GroupID.String(), Title: c.Title, Body: c.Body,
		CreateActor: c.CreateActor, CreateTime: timestamppb.New(c.CreatedAt), UpdateTime: timestamppb.New(c.UpdatedAt),
		Etag: etag.Of(c.Revision)}
}

func optTime(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}
