package kb_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	kbv1 "kefu.dev/pkg/api/kefu/kb/v1"
	"kefu.dev/pkg/auth"
)

// corpus is a small knowledge base in both languages, written like a real help centre: each article has a
// topic its neighbours share words with (refunds appear in the returns, cancellation and lost-parcel
// articles too), so ranking, not mere matching, has to put the right one first.
var corpus = []*kbv1.Article{
	{Title: "退款到账时间说明", Language: "zh-CN", Tags: []string{"退款", "到账"}, Subcategories: []string{"request.refund"},
		Body: "## 退款什么时候到账\n\n退款审核通过后，款项将按**原支付方式**退回：\n\n- 银行卡退款一般需要3到7个工作日到账，具体以银行处理时间为准；\n- 微信、支付宝退款通常在24小时内到账。\n\n如超过上述时间仍未收到，请在[退款详情](https://help.example.com/refund)页面找到退款单号，联系在线客服核查。"},
	{Title: "如何修改收货地址", Language: "zh-CN", Tags: []string{"地址", "订单"}, Subcategories: []string{"request.information_change"},
		Body: "订单**发货前**，您可以在「我的订单」中点击修改收货地址，填写新的收货人、电话和详细地址后保存。\n\n订单已发货的，无法在线修改，请联系快递员改派，或拒收后重新下单。"},
	{Title: "发票开具与重开", Language: "zh-CN", Tags: []string{"发票"}, Subcategories: []string{"inquiry.policy"},
		Body: "下单时可选择开具电子发票或纸质发票。电子发票会在订单完成后发送到您的邮箱，也可以在订单详情中下载。\n\n需要增值税专用发票的企业客户，请提供公司名称、税号、开户行和账号。发票抬头填写错误的，可在开票后30天内申请重开。"},
	{Title: "快递丢件理赔流程", Language: "zh-CN", Tags: []string{"快递", "丢件", "理赔"}, Subcategories: []string{"complaint.logistics"},
		Body: "物流信息显示已签收，但您没有收到包裹时，请先联系快递员或驿站核实。\n\n确认包裹丢失后，我们会为您补发商品或全额退款。申请理赔时请提供订单号和情况说明，一般3个工作日内处理完成。"},
	{Title: "会员积分兑换规则", Language: "zh-CN", Tags: []string{"积分", "会员"}, Subcategories: []string{"inquiry.service"},
		Body: "每消费1元累计1积分，积分有效期为12个月。积分可以在积分商城兑换优惠券、礼品和会员权益，兑换后不能撤销。"},
	{Title: "账号登录异常处理", Language: "zh-CN", Tags: []string{"登录", "密码", "验证码"}, Subcategories: []string{"inquiry.service"},
		Body: "登录时提示密码错误，可以点击「忘记密码」通过手机验证码重新设置。连续5次输错密码，账号会被锁定，24小时后自动解锁。\n\n收不到短信验证码时，请检查手机是否开启了短信拦截，或稍后重试。"},
	{Title: "七天无理由退货", Language: "zh-CN", Tags: []string{"退货", "售后"}, Subcategories: []string{"request.return_exchange"},
		Body: "签收后7天内，商品完好、不影响二次销售的，可以申请无理由退货。退货运费由买家承担；定制商品、生鲜食品和已激活的电子产品不支持无理由退货。退货验收后，退款按原路退回。"},
	{Title: "商品保修政策", Language: "zh-CN", Tags: []string{"保修", "维修"}, Subcategories: []string{"inquiry.policy"},
		Body: "整机保修一年，主要部件保修两年。保修期内非人为损坏可以免费维修，维修时需要提供购买凭证或发票。\n\n进水、摔坏等人为损坏不在保修范围内，可以付费维修。"},
	{Title: "订单取消与退款", Language: "zh-CN", Tags: []string{"取消订单"}, Subcategories: []string{"inquiry.order_status"},
		Body: "未发货的订单可以在订单详情页直接取消，款项会原路退回。已发货的订单无法取消，请在签收后申请退货。预售订单取消后定金不退。"},
	{Title: "优惠券使用说明", Language: "zh-CN", Tags: []string{"优惠券"}, Subcategories: []string{"inquiry.policy"},
		Body: "优惠券需要在有效期内使用，每笔订单限用一张。特价商品、礼品卡和虚拟商品不能使用优惠券。订单取消后，未过期的优惠券会退回账户。"},
	{Title: "配送时效说明", Language: "zh-CN", Tags: []string{"配送", "物流"}, Subcategories: []string{"inquiry.logistics_status"},
		Body: "一般地区下单后48小时内发货，发货后1到3天送达。新疆、西藏等偏远地区配送需要5到7天；大促期间发货可能延迟。"},
	{Title: "Refund timeline", Language: "en", Tags: []string{"refund", "payment"}, Subcategories: []string{"request.refund"},
		Body: "Once a refund is approved, the money goes back to your original payment method.\n\n* Card refunds take 3-5 business days to show on your statement.\n* Wallet refunds arrive within 24 hours.\n\nStill waiting after that? Contact us with the refund number from your order page."},
	{Title: "Changing your shipping address", Language: "en", Tags: []string{"shipping", "address"}, Subcategories: []string{"request.information_change"},
		Body: "You can edit the delivery address on your order page until the order ships. After dispatch, contact the courier to redirect the parcel, or refuse it and order again."},
	{Title: "Reset your password", Language: "en", Tags: []string{"password", "account", "login"}, Subcategories: []string{"inquiry.service"},
		Body: "If you forgot your password, choose **Forgot password** on the sign-in page and follow the link we email you. The link expires after 30 minutes. After five wrong attempts the account locks for 24 hours."},
	{Title: "Lost or missing packages", Language: "en", Tags: []string{"lost", "claim", "courier"}, Subcategories: []string{"complaint.logistics"},
		Body: "If tracking shows the parcel as delivered but it never arrived, tell us within 7 days. Once the carrier confirms it is lost we send a replacement or refund you in full."},
	{Title: "Requesting an invoice", Language: "en", Tags: []string{"invoice", "receipt"}, Subcategories: []string{"inquiry.policy"},
		Body: "Invoices are emailed as PDF when the order completes, and you can download them from the order page. A company can add its name and VAT number before checkout."},
	{Title: "Loyalty points", Language: "en", Tags: []string{"points", "membership"}, Subcategories: []string{"inquiry.service"},
		Body: "Earn one point for every dollar you spend. Redeem points for coupons and gifts in the rewards store. Points expire after 12 months."},
	{Title: "Warranty and repairs", Language: "en", Tags: []string{"warranty", "repair"}, Subcategories: []string{"inquiry.policy"},
		Body: "Devices carry a one-year warranty against manufacturing defects. Repairs under warranty are free with proof of purchase. Accidental damage and water damage are not covered."},
	{Title: "Cancelling an order", Language: "en", Tags: []string{"cancel", "order"}, Subcategories: []string{"inquiry.order_status"},
		Body: "You can cancel an order before it ships and get a full refund. Shipped orders cannot be cancelled: return the item after delivery instead."},
}

// TestSearchFindsTheExpectedArticleFirst runs real questions, worded unlike the titles, in Chinese and in
// English, and requires the article that answers each one to rank first, with its matches marked.
func TestSearchFindsTheExpectedArticleFirst(t *testing.T) {
	t.Parallel()
	s := start(t)
	for _, a := range corpus {
		s.article(t, a, false)
	}
	tests := []struct {
		query string
		want  string
	}{
		{"退款多久到账", "退款到账时间说明"},
		{"银行卡退款几天能到", "退款到账时间说明"},
		{"怎么改地址", "如何修改收货地址"},
		{"收货地址填错了", "如何修改收货地址"},
		{"发票怎么开", "发票开具与重开"},
		{"发票抬头写错了", "发票开具与重开"},
		{"快递丢了怎么办", "快递丢件理赔流程"},
		{"包裹丢失能赔吗", "快递丢件理赔流程"},
		{"积分怎么兑换", "会员积分兑换规则"},
		{"登录不上去", "账号登录异常处理"},
		{"忘记密码怎么办", "账号登录异常处理"},
		{"不想要了能退货吗", "七天无理由退货"},
		{"手机进水了能保修吗", "商品保修政策"},
		{"没发货的订单怎么取消", "订单取消与退款"},
		{"优惠券用不了", "优惠券使用说明"},
		{"偏远地区配送要几天", "配送时效说明"},
		{"how long does a refund take", "Refund timeline"},
		{"when do I get my money back", "Refund timeline"},
		{"change delivery address", "Changing your shipping address"},
		{"wrong address on my order", "Changing your shipping address"},
		{"forgot my password", "Reset your password"},
		{"can't sign in to my account", "Reset your password"},
		{"package lost", "Lost or missing packages"},
		{"my parcel never arrived", "Lost or missing packages"},
		{"need an invoice for my company", "Requesting an invoice"},
		{"redeem points", "Loyalty points"},
		{"is water damage covered by the warranty", "Warranty and repairs"},
		{"cancel my order", "Cancelling an order"},
		{"ＲＥＦＵＮＤ　ＴＩＭＥＬＩＮＥ", "Refund timeline"},
	}
	ctx := agentIn(t.Context())
	for _, tc := range tests {
		resp, err := s.kb.SearchArticles(ctx, &kbv1.SearchArticlesRequest{Query: tc.query})
		require.NoError(t, err, tc.query)
		require.NotEmpty(t, resp.GetHits(), "%q found nothing", tc.query)
		var titles []string
		for _, h := range resp.GetHits() {
			titles = append(titles, h.GetArticle().GetTitle())
		}
		require.Equal(t, tc.want, titles[0], "%q ranked %v", tc.query, titles)
		top := resp.GetHits()[0]
		require.Contains(t, top.GetTitleSnippet()+top.GetBodySnippet(), "<mark>", "%q: no match marked", tc.query)
		require.Empty(t, top.GetArticle().GetBody(), "hits carry snippets, not bodies")
		for i := 1; i < len(resp.GetHits()); i++ {
			require.GreaterOrEqual(t, resp.GetHits()[i-1].GetScore(), resp.GetHits()[i].GetScore(), "%q: hits best first", tc.query)
		}
	}
}

func TestSearchSnippetsAndFilters(t *testing.T) {
	t.Parallel()
	s := start(t)
	for _, a := range corpus[:3] {
		s.article(t, a, false)
	}
	s.article(t, corpus[11], false)
	draft := s.article(t, &kbv1.Article{Title: "退款政策草稿", Body: "新的退款政策还在审核。", Language: "zh-CN"}, true)
	ctx := agentIn(t.Context())

	resp, err := s.kb.SearchArticles(ctx, &kbv1.SearchArticlesRequest{Query: "退款多久到账"})
	require.NoError(t, err)
	require.Len(t, resp.GetHits(), 1, "drafts are not searchable by readers; the English article has no Chinese term")
	top := resp.GetHits()[0]
	require.Equal(t, "<mark>退款到账</mark>时间说明", top.GetTitleSnippet())
	require.Contains(t, top.GetBodySnippet(), "<mark>退款</mark>")
	require.Contains(t, top.GetBodySnippet(), "<mark>到账</mark>")
	require.NotContains(t, top.GetBodySnippet(), "https://", "link targets are not text")
	require.NotContains(t, top.GetBodySnippet(), "**")

	t.Run("a writer finds drafts when asking for them", func(t *testing.T) {
		sup := as(t.Context(), supervisor, auth.RoleSupervisor)
		resp, err := s.kb.SearchArticles(sup, &kbv1.SearchArticlesRequest{Query: "退款政策", IncludeDrafts: true})
		require.NoError(t, err)
		require.Equal(t, draft.GetArticleId(), resp.GetHits()[0].GetArticle().GetArticleId())
		resp, err = s.kb.SearchArticles(ctx, &kbv1.SearchArticlesRequest{Query: "退款政策", IncludeDrafts: true})
		require.NoError(t, err)
		for _, h := range resp.GetHits() {
			require.NotEqual(t, draft.GetArticleId(), h.GetArticle().GetArticleId(), "include_drafts is ignored for readers")
		}
	})
	t.Run("language and subcategory filter", func(t *testing.T) {
		resp, err := s.kb.SearchArticles(ctx, &kbv1.SearchArticlesRequest{Query: "退款 refund", Language: "en"})
		require.NoError(t, err)
		require.Len(t, resp.GetHits(), 1)
		require.Equal(t, "Refund timeline", resp.GetHits()[0].GetArticle().GetTitle())
		resp, err = s.kb.SearchArticles(ctx, &kbv1.SearchArticlesRequest{Query: "订单 发票 地址", Subcategory: "inquiry.policy"})
		require.NoError(t, err)
		require.Len(t, resp.GetHits(), 1)
		require.Equal(t, "发票开具与重开", resp.GetHits()[0].GetArticle().GetTitle())
	})
	t.Run("snippets are HTML-escaped", func(t *testing.T) {
		s.article(t, &kbv1.Article{Title: "Script <b>tags</b> & coupons", Body: "Use <script>alert(1)</script> coupons & more", Language: "en"}, false)
		resp, err := s.kb.SearchArticles(ctx, &kbv1.SearchArticlesRequest{Query: "coupons"})
		require.NoError(t, err)
		require.Equal(t, "Script &lt;b&gt;tags&lt;/b&gt; &amp; <mark>coupons</mark>", resp.GetHits()[0].GetTitleSnippet())
		require.NotContains(t, resp.GetHits()[0].GetBodySnippet(), "<script>")
	})
	t.Run("a query of stop words finds nothing", func(t *testing.T) {
		resp, err := s.kb.SearchArticles(ctx, &kbv1.SearchArticlesRequest{Query: "怎么 how to"})
		require.NoError(t, err)
		require.Empty(t, resp.GetHits())
	})
	t.Run("a query with no known term finds nothing", func(t *testing.T) {
		resp, err := s.kb.SearchArticles(ctx, &kbv1.SearchArticlesRequest{Query: "zzyzx 鳄鱼"})
		require.NoError(t, err)
		require.Empty(t, resp.GetHits())
	})
	t.Run("bad input names the field", func(t *testing.T) {
		_, err := s.kb.SearchArticles(ctx, &kbv1.SearchArticlesRequest{Query: strings.Repeat("长", 201)})
		requireCode(t, err, codes.InvalidArgument)
		require.Equal(t, []string{"query"}, badFields(err))
		_, err = s.kb.SearchArticles(ctx, &kbv1.SearchArticlesRequest{Query: "x", Language: "fr"})
		requireCode(t, err, codes.InvalidArgument)
		require.Equal(t, []string{"language"}, badFields(err))
	})
}
