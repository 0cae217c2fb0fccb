package topics

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDefaultMatch(t *testing.T) {
	t.Parallel()
	l := Default()
	tests := []struct {
		name string
		text string
		want []string
	}{
		// Delivery.
		{"物流延迟 is a delivery delay", "物流延迟", []string{"delivery_delay"}},
		{"快递没到 is a delivery delay", "快递没到", []string{"delivery_delay"}},
		{"three days and the courier has still not come", "快递三天了还没到", []string{"delivery_delay"}},
		{"a parcel never received", "我的包裹一直没收到", []string{"delivery_delay"}},
		{"tracking that does not move", "物流信息一直不更新", []string{"delivery_delay"}},
		{"goods not shipped", "下单一个星期了还不发货", []string{"delivery_delay"}},
		{"chinese with stray spaces", "快 递 没 到", []string{"delivery_delay"}},
		{"a package that hasn't arrived", "My package hasn't arrived yet", []string{"delivery_delay"}},
		{"a late delivery", "the delivery is late", []string{"delivery_delay"}},
		{"tracking not updated", "The tracking hasn't updated in a week", []string{"delivery_delay"}},
		{"a parcel signed for by someone else", "快递显示已签收，但是我根本没拿到", []string{"lost_parcel"}},
		{"a parcel marked delivered", "It says delivered but there is nothing at my door", []string{"lost_parcel"}},
		// Goods.
		{"goods received broken", "收到的货是坏的", []string{"damaged_item"}},
		{"a box arriving damaged", "The box was damaged and the cup inside is broken", []string{"damaged_item"}},
		{"the wrong goods sent", "发错货了", []string{"wrong_item"}},
		{"the wrong item received", "I received the wrong item, I ordered a blue one", []string{"wrong_item"}},
		{"one piece short", "买了三件衣服，少发了一件", []string{"missing_item"}},
		{"poor quality after one wear", "质量太差了，穿了一次就开线", []string{"quality"}},
		{"a fake", "买到假货了，要求退款", []string{"counterfeit", "refund_request"}},
		{"a price drop right after buying", "刚买就降价了，能不能补差价", []string{"price_protection"}},
		{"a return", "我要退货，怎么申请？", []string{"return_exchange"}},
		{"an invoice", "麻烦帮我开一张发票", []string{"invoice"}},
		// Money.
		{"a refund not yet credited", "退款一直没到账", []string{"refund_delay"}},
		{"refunded, inflected, still not arrived", "I was refunded but the money hasn't arrived in my account", []string{"refund_delay"}},
		{"a refund still pending", "My refund is still pending", []string{"refund_delay"}},
		{"a top-up not credited", "充值没到账", []string{"payment_failed"}},
		{"charged twice", "I was charged twice", []string{"price_charge"}},
		{"a failed payment", "付款失败，页面一直报错", []string{"app_crash", "payment_failed"}},
		{"interest too high", "贷款利息太高了", []string{"loan_interest"}},
		{"a frozen bank card", "我的银行卡被冻结了", []string{"card_blocked"}},
		{"a stolen card", "信用卡被盗刷了三千块", []string{"fraud"}},
		{"collectors calling the family", "催收天天打电话骚扰我家人", []string{"debt_collection"}},
		{"a credit record", "逾期会不会影响我的征信", []string{"credit_report"}},
		{"an auto-renewal", "会员自动续费了我都不知道", []string{"membership"}},
		{"a coupon that does not work", "优惠券用不了", []string{"coupon_promotion"}},
		// Service.
		{"rude customer service", "客服态度很差", []string{"staff_attitude"}},
		{"nobody answers the phone", "打了好几次电话都没人接", []string{"no_response"}},
		{"no one replied in english", "I emailed three times and no one replied", []string{"no_response"}},
		{"an app that crashes", "APP闪退", []string{"app_crash"}},
		{"an app that crashes, full width", "ＡＰＰ一打开就闪退", []string{"app_crash"}},
		{"cannot log in", "登录不了", []string{"account_login"}},
		{"cannot log in, in english", "I can’t log in, it says my password is wrong", []string{"account_login"}},
		{"cancelling an order", "我想取消订单", []string{"cancellation"}},
		{"a rescheduled class", "孩子的课程又被临时调课了", []string{"course_schedule"}},
		{"a teacher who is late", "老师上课经常迟到", []string{"teacher"}},
		{"a late technician on an appointment", "预约的师傅迟到了两个小时", []string{"appointment", "technician_late"}},
		{"a technician who never came", "安装师傅说好上午来，结果一直没来", []string{"technician_late"}},
		{"leaked personal data", "我的个人信息被泄露了，天天接到骚扰电话", []string{"privacy"}},
		{"food poisoning", "吃了你们家的外卖，食物中毒了", []string{"safety"}},
		{"food poisoning in english", "We all got food poisoning after the dinner", []string{"safety"}},
		{"spoiled milk", "牛奶过期了还在卖", []string{"expired_spoiled"}},
		{"hair in the food", "外卖里吃出了头发", []string{"hygiene"}},
		{"a broadband outage", "家里宽带断网两天了", []string{"service_outage"}},
		{
			"a long ticket with several complaints",
			"订单号20231026001，快递三天了还没到，客服态度很差，打电话也打不通。",
			[]string{"delivery_delay", "no_response", "staff_attitude"},
		},
		// Nothing.
		{"thanks match nothing", "谢谢，问题已经解决了", nil},
		{"thanks in english match nothing", "Thanks a lot for your help!", nil},
		{"a name and a phone number match nothing", "张伟 13800138000", nil},
		{"an english name and number match nothing", "John Smith, +1 415 555 0100, john@example.com", nil},
		{"refundable is not an inflection of refund", "Is this item refundable?", nil},
		{"empty text matches nothing", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, l.Match(tc.text))
		})
	}
}

func TestDefaultTopics(t *testing.T) {
	t.Parallel()
	l := Default()
	topics := l.Topics()
	require.GreaterOrEqual(t, len(topics), 25)
	for _, want := range topics {
		got, ok := l.Topic(want.ID)
		require.True(t, ok, want.ID)
		require.Equal(t, want, got)
	}
	_, ok := l.Topic("no_such_topic")
	require.False(t, ok)
}

func TestDefaultMatchIsCapped(t *testing.T) {
	t.Parallel()
	text := "快递没到，发错货，破损，少发，假货，质量差，我要退货，发票，支付失败，登录不了，闪退"
	got := Default().Match(text)
	require.Equal(t, []string{"counterfeit", "damaged_item", "delivery_delay", "missing_item", "wrong_item"}, got)
}

// benchText is a ~300-character ticket mixing Chinese and English, several complaints, a name and a number.
var benchText = "" +
	"订单号 GD202310260001：你好，我是王小明，电话 13912345678。我上周在你们店买了一台咖啡机，" +
	"快递三天了还没到，物流信息一直不更新，打了好几次客服电话都没人接，在线客服态度也很差。" +
	"昨天终于收到了，结果外包装破损，机器也是坏的，少发了一个配件。I already asked for a refund " +
	"but nobody replied, and I was charged twice for the shipping fee. Please check the order and " +
	"call me back as soon as possible, otherwise I will file a complaint. 谢谢！"

func BenchmarkMatch(b *testing.B) {
	l := Default()
	b.ReportMetric(float64(len([]rune(benchText))), "runes/op")
	for b.Loop() {
		l.Match(benchText)
	}
}

// BenchmarkMatchLong shows Match on a ticket at the 10,000-character limit.
func BenchmarkMatchLong(b *testing.B) {
	l := Default()
	text := strings.Repeat(benchText, 10000/len([]rune(benchText)))
	for b.Loop() {
		l.Match(text)
	}
}
