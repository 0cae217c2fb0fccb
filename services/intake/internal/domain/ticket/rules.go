package ticket

// DefaultRules are the keyword rules a fresh installation starts with; the store seeds them once and admins
// own them afterwards. Positions leave gaps of 10 so admins can slot rules in between.
//
// The order encodes precedence, strongest signal first:
//  1. Raise-only rules (safety, urgency) have no target, so their position does not matter; they come first
//     to be easy to find. Safety is deliberately broad ("fire" also hits a product called Fire): a false
//     alarm costs an agent a downgrade, a missed injury costs far more.
//  2. Complaints before anything else, the specific ones (attitude, quality, process, logistics) before the
//     generic 投诉/complaint, so "快递员态度很差我要投诉" is a service-attitude complaint and "质量太差我要投诉"
//     a product-quality one. A bare complaint defaults to service attitude, the most common kind.
//  3. Requests (refund, return/exchange, information change): the customer wants an action, which matters
//     more than the topic they mention ("refund for my delivery" is a refund, not a delivery question).
//  4. Suggestions, then inquiries by topic (logistics, order, policy, product, service), whose keywords are
//     the broadest and so must come last.
//
// ASCII keywords match whole words and case-insensitively; Chinese keywords match as substrings (see
// kefu.dev/pkg/keyword), which is why Chinese keywords are phrases ("质量问题") rather than single characters.
func DefaultRules() []Rule {
	rules := []Rule{
		{ID: "default.safety", Position: 10, SetUrgency: UrgencyCritical, SetLevel: LevelL1, Keywords: []string{
			"受伤", "起火", "着火", "爆炸", "安全事故", "触电", "烫伤", "冒烟", "漏电",
			"injury", "injured", "fire", "explosion", "exploded", "burn", "burned", "burnt", "electric shock",
		}},
		{ID: "default.urgent", Position: 20, SetUrgency: UrgencyUrgent, Keywords: []string{
			"加急", "紧急", "尽快处理", "马上处理",
			"urgent", "urgently", "asap", "as soon as possible", "emergency",
		}},
		{ID: "default.complaint.attitude", Position: 30, Target: "complaint.service_attitude", Keywords: []string{
			"态度", "不礼貌", "不耐烦", "骂人",
			"rude", "impolite", "attitude",
		}},
		{ID: "default.complaint.quality", Position: 40, Target: "complaint.product_quality", Keywords: []string{
			"质量问题", "质量差", "质量太差", "质量不好", "坏了", "破损", "损坏", "次品", "假货", "故障",
			"defect", "defective", "broken", "faulty", "damaged", "counterfeit",
		}},
		{ID: "default.complaint.process", Position: 50, Target: "complaint.process", SetLevel: LevelL2, Keywords: []string{
			"没人处理", "没人管", "推诿", "踢皮球", "一直没解决", "多次联系",
			"no one responded", "nobody responded", "still not resolved", "no response",
		}},
		{ID: "default.complaint.logistics", Position: 60, Target: "complaint.logistics", Keywords: []string{
			"丢件", "快递丢了", "包裹丢了", "送错", "物流太慢",
			"lost package", "lost parcel", "late delivery", "wrong address delivered",
		}},
		{ID: "default.complaint", Position: 70, Target: "complaint.service_attitude", Keywords: []string{
			"投诉", "complaint", "complain",
		}},
		{ID: "default.request.refund", Position: 80, Target: "request.refund", Keywords: []string{
			"退款", "退钱", "refund", "money back",
		}},
		{ID: "default.request.return_exchange", Position: 90, Target: "request.return_exchange", Keywords: []string{
			"退货", "换货", "退换", "return", "exchange", "send back",
		}},
		{ID: "default.request.information_change", Position: 100, Target: "request.information_change", Keywords: []string{
			"修改地址", "更改地址", "改地址", "修改信息", "更改信息", "修改手机号",
			"change address", "change my address", "update my address", "change my phone number",
		}},
		{ID: "default.suggestion.feature", Position: 110, Target: "suggestion.product_feature", Keywords: []string{
			"希望增加", "增加功能", "新功能", "feature request", "add a feature", "new feature",
		}},
		{ID: "default.suggestion", Position: 120, Target: "suggestion.service_improvement", Keywords: []string{
			"建议", "suggest", "suggestion",
		}},
		{ID: "default.inquiry.logistics", Position: 130, Target: "inquiry.logistics_status", Keywords: []string{
			"物流", "快递", "配送", "发货", "送货", "包裹",
			"delivery", "shipping", "shipment", "courier", "tracking", "package", "parcel",
		}},
		{ID: "default.inquiry.order", Position: 140, Target: "inquiry.order_status", Keywords: []string{
			"订单", "order status", "my order",
		}},
		{ID: "default.inquiry.policy", Position: 150, Target: "inquiry.policy", Keywords: []string{
			"政策", "保修", "质保", "发票", "warranty", "policy", "invoice",
		}},
		{ID: "default.inquiry.product", Position: 160, Target: "inquiry.product", Keywords: []string{
			"规格", "参数", "怎么用", "使用方法", "specification", "how to use",
		}},
		{ID: "default.inquiry.service", Position: 170, Target: "inquiry.service", Keywords: []string{
			"营业时间", "会员", "opening hours", "membership",
		}},
	}
	for i := range rules {
		rules[i].Enabled = true
	}
	return rules
}
