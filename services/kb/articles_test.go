package kb_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	kbv1 "kefu.dev/pkg/api/kefu/kb/v1"
	"kefu.dev/pkg/auth"
)

func TestCreateArticleIsIdempotentAndStartsAsADraft(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := as(t.Context(), supervisor, auth.RoleSupervisor)
	req := &kbv1.CreateArticleRequest{IdempotencyKey: "create-1", Article: &kbv1.Article{
		Title: "  退款到账时间  ", Body: "3到7个工作日。", Tags: []string{"退款", " VIP ", "vip"},
		Subcategories: []string{"request.refund"}, Language: "zh-CN",
		Status: kbv1.ArticleStatus_ARTICLE_STATUS_PUBLISHED, Author: "staff:someone-else", Version: 9}}
	first, err := s.kb.CreateArticle(ctx, req)
	require.NoError(t, err)
	a := first.GetArticle()
	require.Equal(t, "退款到账时间", a.GetTitle())
	require.Equal(t, []string{"退款", "vip"}, a.GetTags())
	require.Equal(t, kbv1.ArticleStatus_ARTICLE_STATUS_DRAFT, a.GetStatus(), "output-only fields are ignored")
	require.Equal(t, supervisor, a.GetAuthor())
	require.EqualValues(t, 1, a.GetVersion())
	require.Equal(t, t0, a.GetCreateTime().AsTime())

	again, err := s.kb.CreateArticle(ctx, req)
	require.NoError(t, err)
	require.Equal(t, a.GetArticleId(), again.GetArticle().GetArticleId(), "a retry returns the first article")

	req.Article.Body = "另一个正文"
	_, err = s.kb.CreateArticle(ctx, req)
	requireCode(t, err, codes.AlreadyExists)
	require.Equal(t, "IDEMPOTENCY_KEY_REUSED", errorInfo(err).GetReason())

	list, err := s.kb.ListArticles(ctx, &kbv1.ListArticlesRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetArticles(), 1, "one article however many retries")
}

func TestCreateArticleRefusesBadInputNamingTheField(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := as(t.Context(), adminP)
	valid := func() *kbv1.Article {
		return &kbv1.Article{Title: "t", Body: "b", Language: "en"}
	}
	tests := []struct {
		name  string
		edit  func(a *kbv1.Article)
		field string
	}{
		{"a blank title", func(a *kbv1.Article) { a.Title = " " }, "article.title"},
		{"a title over 200 characters", func(a *kbv1.Article) { a.Title = strings.Repeat("题", 201) }, "article.title"},
		{"no body", func(a *kbv1.Article) { a.Body = "" }, "article.body"},
		{"no language", func(a *kbv1.Article) { a.Language = "" }, "article.language"},
		{"an unknown language", func(a *kbv1.Article) { a.Language = "fr" }, "article.language"},
		{"a subcategory without its type", func(a *kbv1.Article) { a.Subcategories = []string{"refund"} }, "article.subcategories[0]"},
		{"a blank tag", func(a *kbv1.Article) { a.Tags = []string{"ok", ""} }, "article.tags[1]"},
		{"too many tags", func(a *kbv1.Article) {
			for i := range 21 {
				a.Tags = append(a.Tags, strings.Repeat("t", i+1))
			}
		}, "article.tags"},
	}
	for _, tc := range tests {
		a := valid()
		tc.edit(a)
		_, err := s.kb.CreateArticle(ctx, &kbv1.CreateArticleRequest{IdempotencyKey: uuid.NewString(), Article: a})
		requireCode(t, err, codes.InvalidArgument)
		require.Contains(t, badFields(err), tc.field, tc.name)
	}
}

func TestArticleLifecycle(t *testing.T) {
	t.Parallel()
	s := start(t)
	sup := as(t.Context(), supervisor, auth.RoleSupervisor)
	agent := agentIn(t.Context())
	a := s.article(t, &kbv1.Article{Title: "发票开具", Body: "电子发票发送到邮箱。", Language: "zh-CN"}, true)
	id := a.GetArticleId()

	_, err := s.kb.GetArticle(agent, &kbv1.GetArticleRequest{ArticleId: id})
	requireCode(t, err, codes.NotFound)
	list, err := s.kb.ListArticles(agent, &kbv1.ListArticlesRequest{})
	require.NoError(t, err)
	require.Empty(t, list.GetArticles(), "readers do not see drafts")

	s.clock.Advance(time.Minute)
	pub, err := s.kb.PublishArticle(sup, &kbv1.PublishArticleRequest{ArticleId: id, Etag: a.GetEtag()})
	require.NoError(t, err)
	require.Equal(t, kbv1.ArticleStatus_ARTICLE_STATUS_PUBLISHED, pub.GetArticle().GetStatus())
	require.Equal(t, t0.Add(time.Minute), pub.GetArticle().GetPublishTime().AsTime())
	require.EqualValues(t, 1, pub.GetArticle().GetVersion(), "a status change is no new version")
	got, err := s.kb.GetArticle(agent, &kbv1.GetArticleRequest{ArticleId: id})
	require.NoError(t, err)
	require.Equal(t, "电子发票发送到邮箱。", got.GetArticle().GetBody())

	_, err = s.kb.PublishArticle(sup, &kbv1.PublishArticleRequest{ArticleId: id})
	st := requireCode(t, err, codes.FailedPrecondition)
	require.Contains(t, st.Message(), `"published"`)
	require.Equal(t, "ARTICLE_ILLEGAL_TRANSITION", errorInfo(err).GetReason())
	require.Equal(t, "published", errorInfo(err).GetMetadata()["current_state"])

	_, err = s.kb.PublishArticle(sup, &kbv1.PublishArticleRequest{ArticleId: id, Etag: a.GetEtag()})
	requireCode(t, err, codes.Aborted)

	t.Run("an edit makes a version; an edit that changes nothing does not", func(t *testing.T) {
		cur := pub.GetArticle()
		cur.Title, cur.Body = "发票开具与重开", "电子发票发送到邮箱；抬头错了可以重开。"
		up, err := s.kb.UpdateArticle(sup, &kbv1.UpdateArticleRequest{Article: cur, UpdateMask: mask("title", "body", "status")})
		require.NoError(t, err)
		require.EqualValues(t, 2, up.GetArticle().GetVersion())
		require.Equal(t, kbv1.ArticleStatus_ARTICLE_STATUS_PUBLISHED, up.GetArticle().GetStatus(), "status is output only")

		same, err := s.kb.UpdateArticle(sup, &kbv1.UpdateArticleRequest{Article: up.GetArticle(), UpdateMask: mask("title")})
		require.NoError(t, err)
		require.EqualValues(t, 2, same.GetArticle().GetVersion())
		require.Equal(t, up.GetArticle().GetEtag(), same.GetArticle().GetEtag())

		_, err = s.kb.UpdateArticle(sup, &kbv1.UpdateArticleRequest{Article: cur, UpdateMask: mask("title")})
		requireCode(t, err, codes.Aborted)
		require.Equal(t, "ETAG_MISMATCH", errorInfo(err).GetReason())

		vs, err := s.kb.ListArticleVersions(agent, &kbv1.ListArticleVersionsRequest{ArticleId: id, PageSize: 1})
		require.NoError(t, err)
		require.Len(t, vs.GetVersions(), 1)
		require.EqualValues(t, 2, vs.GetVersions()[0].GetVersion())
		require.Empty(t, vs.GetVersions()[0].GetBody())
		vs, err = s.kb.ListArticleVersions(agent, &kbv1.ListArticleVersionsRequest{ArticleId: id, PageToken: vs.GetNextPageToken()})
		require.NoError(t, err)
		require.Len(t, vs.GetVersions(), 1)
		require.Empty(t, vs.GetNextPageToken())
		v1, err := s.kb.GetArticleVersion(agent, &kbv1.GetArticleVersionRequest{ArticleId: id, Version: 1})
		require.NoError(t, err)
		require.Equal(t, "发票开具", v1.GetVersion().GetTitle())
		require.Equal(t, "电子发票发送到邮箱。", v1.GetVersion().GetBody())
		require.Equal(t, supervisor, v1.GetVersion().GetEditor())
		_, err = s.kb.GetArticleVersion(agent, &kbv1.GetArticleVersionRequest{ArticleId: id, Version: 3})
		requireCode(t, err, codes.NotFound)

		search, err := s.kb.SearchArticles(agent, &kbv1.SearchArticlesRequest{Query: "抬头重开"})
		require.NoError(t, err)
		require.Len(t, search.GetHits(), 1, "the new version is searchable")
	})

	t.Run("an update of an unknown or read-only path is refused", func(t *testing.T) {
		cur, err := s.kb.GetArticle(sup, &kbv1.GetArticleRequest{ArticleId: id})
		require.NoError(t, err)
		_, err = s.kb.UpdateArticle(sup, &kbv1.UpdateArticleRequest{Article: cur.GetArticle(), UpdateMask: mask("status")})
		requireCode(t, err, codes.InvalidArgument)
		require.Equal(t, []string{"update_mask"}, badFields(err))
		cur.Article.Title = ""
		_, err = s.kb.UpdateArticle(sup, &kbv1.UpdateArticleRequest{Article: cur.GetArticle(), UpdateMask: mask("title")})
		requireCode(t, err, codes.InvalidArgument)
		require.Equal(t, []string{"article.title"}, badFields(err))
	})

	t.Run("an archived article is hidden and cannot be edited until restored", func(t *testing.T) {
		arch, err := s.kb.ArchiveArticle(sup, &kbv1.ArchiveArticleRequest{ArticleId: id})
		require.NoError(t, err)
		require.NotNil(t, arch.GetArticle().GetArchiveTime())
		_, err = s.kb.GetArticle(agent, &kbv1.GetArticleRequest{ArticleId: id})
		requireCode(t, err, codes.NotFound)
		search, err := s.kb.SearchArticles(agent, &kbv1.SearchArticlesRequest{Query: "发票"})
		require.NoError(t, err)
		require.Empty(t, search.GetHits())

		cur := arch.GetArticle()
		cur.Title = "x"
		_, err = s.kb.UpdateArticle(sup, &kbv1.UpdateArticleRequest{Article: cur, UpdateMask: mask("title")})
		requireCode(t, err, codes.FailedPrecondition)
		require.Equal(t, "archived", errorInfo(err).GetMetadata()["current_state"])
		_, err = s.kb.ArchiveArticle(sup, &kbv1.ArchiveArticleRequest{ArticleId: id})
		requireCode(t, err, codes.FailedPrecondition)

		rest, err := s.kb.RestoreArticle(sup, &kbv1.RestoreArticleRequest{ArticleId: id})
		require.NoError(t, err)
		require.Equal(t, kbv1.ArticleStatus_ARTICLE_STATUS_DRAFT, rest.GetArticle().GetStatus())
		require.Nil(t, rest.GetArticle().GetArchiveTime())
		_, err = s.kb.RestoreArticle(sup, &kbv1.RestoreArticleRequest{ArticleId: id})
		requireCode(t, err, codes.FailedPrecondition)
		require.Equal(t, "draft", errorInfo(err).GetMetadata()["current_state"])
	})

	t.Run("unknown ids are not found", func(t *testing.T) {
		_, err := s.kb.GetArticle(sup, &kbv1.GetArticleRequest{ArticleId: uuid.NewString()})
		requireCode(t, err, codes.NotFound)
		_, err = s.kb.PublishArticle(sup, &kbv1.PublishArticleRequest{ArticleId: uuid.NewString()})
		requireCode(t, err, codes.NotFound)
	})
}

func TestArticlePermissions(t *testing.T) {
	t.Parallel()
	s := start(t)
	a := s.article(t, &kbv1.Article{Title: "t", Body: "b", Language: "en"}, false)
	for _, ctx := range []struct {
		name string
		call func() error
	}{
		{"an agent cannot create", func() error {
			_, err := s.kb.CreateArticle(agentIn(t.Context()), &kbv1.CreateArticleRequest{IdempotencyKey: "k", Article: a})
			return err
		}},
		{"an auditor cannot archive", func() error {
			_, err := s.kb.ArchiveArticle(as(t.Context(), auditorP, auth.RoleAuditor), &kbv1.ArchiveArticleRequest{ArticleId: a.GetArticleId()})
			return err
		}},
		{"an adapter cannot read", func() error {
			_, err := s.kb.GetArticle(as(t.Context(), adapterP), &kbv1.GetArticleRequest{ArticleId: a.GetArticleId()})
			return err
		}},
		{"an agent cannot read the report", func() error {
			_, err := s.kb.GetKbReport(agentIn(t.Context()), &kbv1.GetKbReportRequest{})
			return err
		}},
	} {
		requireCode(t, ctx.call(), codes.PermissionDenied)
	}
	_, err := s.kb.GetArticle(as(t.Context(), auditorP, auth.RoleAuditor), &kbv1.GetArticleRequest{ArticleId: a.GetArticleId()})
	require.NoError(t, err, "auditors read")
}

func TestListArticlesFiltersAndPages(t *testing.T) {
	t.Parallel()
	s := start(t)
	sup := as(t.Context(), supervisor, auth.RoleSupervisor)
	var ids []string
	for i := range 5 {
		lang, tag := "zh-CN", "退款"
		if i%2 == 1 {
			lang, tag = "en", "refund"
		}
		a := s.article(t, &kbv1.Article{Title: "t", Body: "b", Language: lang, Tags: []string{tag},
			Subcategories: []string{"request.refund"}}, i == 4)
		ids = append(ids, a.GetArticleId())
	}
	page1, err := s.kb.ListArticles(sup, &kbv1.ListArticlesRequest{PageSize: 2})
	require.NoError(t, err)
	page2, err := s.kb.ListArticles(sup, &kbv1.ListArticlesRequest{PageSize: 2, PageToken: page1.GetNextPageToken()})
	require.NoError(t, err)
	page3, err := s.kb.ListArticles(sup, &kbv1.ListArticlesRequest{PageSize: 2, PageToken: page2.GetNextPageToken()})
	require.NoError(t, err)
	require.Empty(t, page3.GetNextPageToken())
	var got []string
	for _, p := range []*kbv1.ListArticlesResponse{page1, page2, page3} {
		for _, a := range p.GetArticles() {
			got = append(got, a.GetArticleId())
			require.Empty(t, a.GetBody(), "lists leave bodies out")
		}
	}
	require.Equal(t, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, got, "newest first, each once")

	en, err := s.kb.ListArticles(sup, &kbv1.ListArticlesRequest{Language: "en"})
	require.NoError(t, err)
	require.Len(t, en.GetArticles(), 2)
	tagged, err := s.kb.ListArticles(sup, &kbv1.ListArticlesRequest{Tag: "REFUND"})
	require.NoError(t, err)
	require.Len(t, tagged.GetArticles(), 2)
	drafts, err := s.kb.ListArticles(sup, &kbv1.ListArticlesRequest{Status: kbv1.ArticleStatus_ARTICLE_STATUS_DRAFT})
	require.NoError(t, err)
	require.Len(t, drafts.GetArticles(), 1)
	none, err := s.kb.ListArticles(agentIn(t.Context()), &kbv1.ListArticlesRequest{Status: kbv1.ArticleStatus_ARTICLE_STATUS_DRAFT})
	require.NoError(t, err)
	require.Empty(t, none.GetArticles(), "readers never list drafts")
	linked, err := s.kb.ListArticles(agentIn(t.Context()), &kbv1.ListArticlesRequest{Subcategory: "request.refund"})
	require.NoError(t, err)
	require.Len(t, linked.GetArticles(), 4)

	_, err = s.kb.ListArticles(sup, &kbv1.ListArticlesRequest{Language: "en", PageToken: page1.GetNextPageToken()})
	requireCode(t, err, codes.InvalidArgument)
	require.Equal(t, []string{"page_token"}, badFields(err))
}
