package kb_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	kbv1 "kefu.dev/pkg/api/kefu/kb/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/testkit"
)

const (
	groupA = "00000000-0000-4000-8000-00000000000a"
	groupB = "00000000-0000-4000-8000-00000000000b"
)

func TestSuggestArticlesForATicket(t *testing.T) {
	t.Parallel()
	s := start(t)
	refund := s.article(t, corpus[0], false)    // 退款到账时间说明, request.refund
	cancel := s.article(t, corpus[8], false)    // 订单取消与退款, inquiry.order_status
	enRefund := s.article(t, corpus[11], false) // Refund timeline, request.refund
	s.article(t, corpus[1], false)              // 如何修改收货地址
	tk := s.submit(t, intakev1.TicketType_TICKET_TYPE_REQUEST, "refund", "退款没到账", "我上周申请的退款到现在还没到账，银行卡也没有收到钱。")
	s.assign(t, tk.GetTicketId(), groupA)

	resp, err := s.kb.SuggestArticles(agentIn(t.Context(), groupA), &kbv1.SuggestArticlesRequest{TicketId: tk.GetTicketId()})
	require.NoError(t, err)
	require.Equal(t, "request.refund", resp.GetSubcategory())
	require.Equal(t, "zh-CN", resp.GetLanguage())
	require.NotEmpty(t, resp.GetHits())
	require.Equal(t, refund.GetArticleId(), resp.GetHits()[0].GetArticle().GetArticleId())
	require.True(t, resp.GetHits()[0].GetSubcategoryMatch())
	var ids []string
	for _, h := range resp.GetHits() {
		ids = append(ids, h.GetArticle().GetArticleId())
	}
	require.Contains(t, ids, enRefund.GetArticleId(), "the other language's linked article fills in")
	require.Less(t, indexOf(ids, cancel.GetArticleId()), indexOf(ids, enRefund.GetArticleId()), "same language first")

	t.Run("an English ticket gets the English article first", func(t *testing.T) {
		en := s.submit(t, intakev1.TicketType_TICKET_TYPE_REQUEST, "refund", "Refund", "How long does a refund take to reach my card?")
		resp, err := s.kb.SuggestArticles(as(t.Context(), adminP), &kbv1.SuggestArticlesRequest{TicketId: en.GetTicketId()})
		require.NoError(t, err)
		require.Equal(t, "en", resp.GetLanguage())
		require.Equal(t, enRefund.GetArticleId(), resp.GetHits()[0].GetArticle().GetArticleId())
	})
	t.Run("words that match nothing get the subcategory's articles", func(t *testing.T) {
		odd := s.submit(t, intakev1.TicketType_TICKET_TYPE_REQUEST, "refund", "", "zzyzx qwerty")
		resp, err := s.kb.SuggestArticles(as(t.Context(), adminP), &kbv1.SuggestArticlesRequest{TicketId: odd.GetTicketId()})
		require.NoError(t, err)
		require.Len(t, resp.GetHits(), 2)
		for _, h := range resp.GetHits() {
			require.Contains(t, []string{refund.GetArticleId(), enRefund.GetArticleId()}, h.GetArticle().GetArticleId())
			require.True(t, h.GetSubcategoryMatch())
		}
	})
	t.Run("a ticket outside the caller's scope is not found", func(t *testing.T) {
		_, err := s.kb.SuggestArticles(agentIn(t.Context(), groupB), &kbv1.SuggestArticlesRequest{TicketId: tk.GetTicketId()})
		requireCode(t, err, codes.NotFound)
		_, err = s.kb.SuggestArticles(agentIn(t.Context(), groupA), &kbv1.SuggestArticlesRequest{TicketId: uuid.NewString()})
		requireCode(t, err, codes.NotFound)
	})
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestRecordArticleUse(t *testing.T) {
	t.Parallel()
	s := start(t)
	a := s.article(t, corpus[0], false)
	draft := s.article(t, corpus[1], true)
	tk := s.submit(t, intakev1.TicketType_TICKET_TYPE_REQUEST, "refund", "退款", "退款没到账")
	s.assign(t, tk.GetTicketId(), groupA)
	ctx := agentIn(t.Context(), groupA)
	record := func(use kbv1.ArticleUse) (*kbv1.RecordArticleUseResponse, error) {
		return s.kb.RecordArticleUse(ctx, &kbv1.RecordArticleUseRequest{ArticleId: a.GetArticleId(), TicketId: tk.GetTicketId(), Use: use})
	}

	_, err := record(kbv1.ArticleUse_ARTICLE_USE_HELPED)
	requireCode(t, err, codes.FailedPrecondition)
	require.Equal(t, "ARTICLE_NOT_INSERTED", errorInfo(err).GetReason())

	for range 2 {
		resp, err := record(kbv1.ArticleUse_ARTICLE_USE_INSERTED)
		require.NoError(t, err)
		require.True(t, resp.GetInserted())
		require.Equal(t, kbv1.ArticleUse_ARTICLE_USE_UNSPECIFIED, resp.GetFeedback())
	}
	resp, err := record(kbv1.ArticleUse_ARTICLE_USE_HELPED)
	require.NoError(t, err)
	require.Equal(t, kbv1.ArticleUse_ARTICLE_USE_HELPED, resp.GetFeedback())
	resp, err = record(kbv1.ArticleUse_ARTICLE_USE_NOT_HELPED)
	require.NoError(t, err)
	require.Equal(t, kbv1.ArticleUse_ARTICLE_USE_NOT_HELPED, resp.GetFeedback(), "the last mark wins")
	resp, err = record(kbv1.ArticleUse_ARTICLE_USE_INSERTED)
	require.NoError(t, err)
	require.Equal(t, kbv1.ArticleUse_ARTICLE_USE_NOT_HELPED, resp.GetFeedback(), "a repeated insertion keeps the mark")

	report, err := s.kb.GetKbReport(as(t.Context(), adminP), &kbv1.GetKbReportRequest{StartTime: timestamppb.New(t0.Add(-time.Hour)),
		EndTime: timestamppb.New(t0.Add(time.Hour)), MinFeedback: 1, MinTickets: 1_000})
	require.NoError(t, err)
	require.Len(t, report.GetMostUsed(), 1)
	require.EqualValues(t, 1, report.GetMostUsed()[0].GetInsertedCount(), "inserted once per ticket")
	require.Len(t, report.GetMostHelpful(), 1)
	require.EqualValues(t, 0, report.GetMostHelpful()[0].GetHelpedCount())
	require.EqualValues(t, 1, report.GetMostHelpful()[0].GetNotHelpedCount())

	t.Run("a draft cannot be inserted, and readers do not see it", func(t *testing.T) {
		_, err := s.kb.RecordArticleUse(ctx, &kbv1.RecordArticleUseRequest{ArticleId: draft.GetArticleId(), TicketId: tk.GetTicketId(),
			Use: kbv1.ArticleUse_ARTICLE_USE_INSERTED})
		requireCode(t, err, codes.NotFound)
		_, err = s.kb.RecordArticleUse(as(t.Context(), adminP), &kbv1.RecordArticleUseRequest{
			ArticleId: draft.GetArticleId(), TicketId: tk.GetTicketId(), Use: kbv1.ArticleUse_ARTICLE_USE_INSERTED})
		requireCode(t, err, codes.FailedPrecondition)
		require.Equal(t, "ARTICLE_NOT_PUBLISHED", errorInfo(err).GetReason())
		require.Equal(t, "draft", errorInfo(err).GetMetadata()["current_state"])
	})
	t.Run("a ticket outside the caller's scope is not found", func(t *testing.T) {
		_, err := s.kb.RecordArticleUse(agentIn(t.Context(), groupB), &kbv1.RecordArticleUseRequest{ArticleId: a.GetArticleId(),
			TicketId: tk.GetTicketId(), Use: kbv1.ArticleUse_ARTICLE_USE_INSERTED})
		requireCode(t, err, codes.NotFound)
	})
	t.Run("auditors change nothing", func(t *testing.T) {
		_, err := s.kb.RecordArticleUse(as(t.Context(), auditorP, auth.RoleAuditor), &kbv1.RecordArticleUseRequest{
			ArticleId: a.GetArticleId(), TicketId: tk.GetTicketId(), Use: kbv1.ArticleUse_ARTICLE_USE_HELPED})
		requireCode(t, err, codes.PermissionDenied)
	})
	t.Run("a use is required", func(t *testing.T) {
		_, err := record(kbv1.ArticleUse_ARTICLE_USE_UNSPECIFIED)
		requireCode(t, err, codes.InvalidArgument)
		require.Equal(t, []string{"use"}, badFields(err))
	})
}

// TestKbReport fills a period with uses and tickets (through intake and its events) and checks each list.
func TestKbReport(t *testing.T) {
	t.Parallel()
	s := start(t)
	refund := s.article(t, corpus[0], false)  // request.refund
	invoice := s.article(t, corpus[2], false) // inquiry.policy
	address := s.article(t, corpus[1], false) // request.information_change
	s.article(t, &kbv1.Article{Title: "物流投诉草稿", Body: "草稿", Language: "zh-CN", Subcategories: []string{"complaint.logistics"}}, true)

	// Tickets: 3 logistics complaints (only a draft covers them), 2 product-quality complaints (nothing),
	// 4 refunds (covered), 1 unclassified.
	var tickets []string
	for range 3 {
		tickets = append(tickets, s.submit(t, intakev1.TicketType_TICKET_TYPE_COMPLAINT, "logistics", "", "快递太慢").GetTicketId())
	}
	for range 2 {
		s.submit(t, intakev1.TicketType_TICKET_TYPE_COMPLAINT, "product_quality", "", "东西坏了")
	}
	for range 4 {
		tickets = append(tickets, s.submit(t, intakev1.TicketType_TICKET_TYPE_REQUEST, "refund", "", "退款").GetTicketId())
	}
	ctx := as(t.Context(), adminP)
	use := func(article, ticket string, u kbv1.ArticleUse) {
		_, err := s.kb.RecordArticleUse(ctx, &kbv1.RecordArticleUseRequest{ArticleId: article, TicketId: ticket, Use: u})
		require.NoError(t, err)
	}
	// refund: inserted on 4 tickets, helped 3 of 4; invoice: on 2, helped both; address: on 1, helped.
	for i, tk := range tickets[3:] {
		use(refund.GetArticleId(), tk, kbv1.ArticleUse_ARTICLE_USE_INSERTED)
		mark := kbv1.ArticleUse_ARTICLE_USE_HELPED
		if i == 0 {
			mark = kbv1.ArticleUse_ARTICLE_USE_NOT_HELPED
		}
		use(refund.GetArticleId(), tk, mark)
	}
	for _, tk := range tickets[:2] {
		use(invoice.GetArticleId(), tk, kbv1.ArticleUse_ARTICLE_USE_INSERTED)
		use(invoice.GetArticleId(), tk, kbv1.ArticleUse_ARTICLE_USE_HELPED)
	}
	use(address.GetArticleId(), tickets[2], kbv1.ArticleUse_ARTICLE_USE_INSERTED)
	use(address.GetArticleId(), tickets[2], kbv1.ArticleUse_ARTICLE_USE_HELPED)

	period := func(min int32) *kbv1.GetKbReportRequest {
		return &kbv1.GetKbReportRequest{StartTime: timestamppb.New(t0.Add(-time.Hour)), EndTime: timestamppb.New(t0.Add(time.Hour)),
			MinFeedback: 2, MinTickets: min}
	}
	var report *kbv1.GetKbReportResponse
	testkit.Eventually(t, func() bool {
		var err error
		report, err = s.kb.GetKbReport(as(t.Context(), auditorP, auth.RoleAuditor), period(2))
		require.NoError(t, err)
		return len(report.GetUncoveredSubcategories()) == 2 && report.GetUncoveredSubcategories()[0].GetTicketCount() == 3
	}, wait, "the kb-tickets consumer counts the tickets")
	require.Equal(t, "complaint.logistics", report.GetUncoveredSubcategories()[0].GetSubcategory(), "a draft covers nothing")
	require.Equal(t, "complaint.product_quality", report.GetUncoveredSubcategories()[1].GetSubcategory())
	require.EqualValues(t, 2, report.GetUncoveredSubcategories()[1].GetTicketCount())

	require.Len(t, report.GetMostUsed(), 3)
	require.Equal(t, refund.GetArticleId(), report.GetMostUsed()[0].GetArticleId())
	require.EqualValues(t, 4, report.GetMostUsed()[0].GetInsertedCount())
	require.Equal(t, invoice.GetArticleId(), report.GetMostUsed()[1].GetArticleId())

	require.Len(t, report.GetMostHelpful(), 2, "the address article has one mark, below min_feedback")
	require.Equal(t, invoice.GetArticleId(), report.GetMostHelpful()[0].GetArticleId())
	require.InDelta(t, 1.0, report.GetMostHelpful()[0].GetHelpedRatio(), 1e-9)
	require.Equal(t, refund.GetArticleId(), report.GetMostHelpful()[1].GetArticleId())
	require.InDelta(t, 0.75, report.GetMostHelpful()[1].GetHelpedRatio(), 1e-9)

	t.Run("a reclassified ticket moves", func(t *testing.T) {
		tk, err := s.intake.GetTicket(ctx, &intakev1.GetTicketRequest{TicketId: tickets[0]})
		require.NoError(t, err)
		_, err = s.intake.UpdateTicket(ctx, &intakev1.UpdateTicketRequest{Ticket: &intakev1.Ticket{TicketId: tickets[0],
			Type: intakev1.TicketType_TICKET_TYPE_COMPLAINT, Subcategory: "product_quality", Etag: tk.GetTicket().GetEtag()},
			UpdateMask: mask("subcategory")})
		require.NoError(t, err)
		testkit.Eventually(t, func() bool {
			r, err := s.kb.GetKbReport(ctx, period(2))
			require.NoError(t, err)
			return len(r.GetUncoveredSubcategories()) == 2 && r.GetUncoveredSubcategories()[0].GetSubcategory() == "complaint.product_quality" &&
				r.GetUncoveredSubcategories()[0].GetTicketCount() == 3
		}, wait, "the update moves the ticket to product_quality")
	})
	t.Run("a period without activity is empty", func(t *testing.T) {
		r, err := s.kb.GetKbReport(ctx, &kbv1.GetKbReportRequest{StartTime: timestamppb.New(t0.Add(time.Hour)),
			EndTime: timestamppb.New(t0.Add(2 * time.Hour))})
		require.NoError(t, err)
		require.Empty(t, r.GetMostUsed())
		require.Empty(t, r.GetMostHelpful())
		require.Empty(t, r.GetUncoveredSubcategories())
	})
	t.Run("the end must follow the start", func(t *testing.T) {
		_, err := s.kb.GetKbReport(ctx, &kbv1.GetKbReportRequest{StartTime: timestamppb.New(t0), EndTime: timestamppb.New(t0)})
		requireCode(t, err, codes.InvalidArgument)
	})
}
