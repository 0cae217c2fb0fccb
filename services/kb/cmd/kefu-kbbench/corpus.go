package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// topic is one subject a knowledge base writes many articles about: a title core, the sentences its
// articles are made of, its tags, its subcategory, and questions customers and agents ask about it.
type topic struct {
	title       string
	sentences   []string
	tags        []string
	subcategory string
	queries     []string
}

// The corpus: topics in Chinese and English, general sentences every article borrows, and the words that
// vary titles and fill slots ({p} product, {r} region, {n} a number of days, {a} an amount, {c} a
// channel), so 100,000 articles are 100,000 different texts with the term statistics of a real knowledge
// base: a few words everywhere, topic words in a few percent of articles, names in fewer.
var zhTopics = []topic{
	{"退款到账时间", []string{"退款审核通过后，款项将按原支付方式退回。", "银行卡退款一般需要{n}个工作日到账，具体以银行处理时间为准。", "微信和支付宝退款通常在24小时内到账。", "如超过{n}个工作日仍未到账，请提供退款单号联系客服核查。", "部分退款会在订单详情页显示退款进度。"},
		[]string{"退款", "到账"}, "request.refund", []string{"退款多久到账", "退款什么时候到账", "退款一直没到账"}},
	{"申请退货流程", []string{"在订单详情页点击申请退货，选择退货原因并上传商品照片。", "退货申请审核通过后，请在{n}天内寄回商品。", "寄回时请保持商品及配件完整，并在包裹内附上订单号。", "仓库签收并检验后，系统会自动为您办理退款。"},
		[]string{"退货", "售后"}, "request.return_exchange", []string{"怎么申请退货", "退货怎么寄回"}},
	{"换货服务说明", []string{"商品存在质量问题时，可在签收后{n}天内申请换货。", "换货需要先寄回原商品，仓库确认后发出新商品。", "换货产生的运费由我们承担。", "同款商品缺货时，可改为退货退款。"},
		[]string{"换货", "售后"}, "request.return_exchange", []string{"换货要多久", "可以换货吗"}},
	{"修改收货地址", []string{"订单未发货前，可在订单详情页修改收货地址。", "订单已发货后无法直接修改地址，请联系快递员改派。", "修改地址后请核对收货人姓名和联系电话。", "{r}地区的订单修改地址可能影响配送时效。"},
		[]string{"地址", "收货"}, "request.information_change", []string{"怎么改地址", "收货地址填错了"}},
	{"发票开具指南", []string{"下单时可以选择开具电子发票或纸质发票。", "电子发票会在订单完成后发送到您的邮箱。", "如需开具增值税专用发票，请提供公司名称和税号。", "发票抬头填写错误可以在{n}天内申请重开。"},
		[]string{"发票", "报销"}, "inquiry.policy", []string{"发票怎么开", "发票抬头写错了", "电子发票在哪里下载"}},
	{"快递丢件理赔", []string{"如物流显示已签收但未收到包裹，请先联系快递员确认。", "确认包裹丢失后，我们会为您补发商品或全额退款。", "理赔需要提供订单号和未收到商品的说明。", "丢件理赔一般在{n}个工作日内处理完成。"},
		[]string{"丢件", "理赔", "快递"}, "complaint.logistics", []string{"快递丢了怎么办", "包裹丢失能赔吗"}},
	{"物流信息查询", []string{"发货后可在订单详情页查看物流轨迹。", "物流信息一般在发货后{n}小时内更新。", "如物流长时间未更新，可能是快递中转延误。", "也可以使用运单号在快递公司官网查询。"},
		[]string{"物流", "快递"}, "inquiry.logistics_status", []string{"物流信息查不到", "我的快递到哪了"}},
	{"配送延迟说明", []string{"受天气和节假日影响，{r}地区的配送可能延迟。", "大促期间订单量增加，发货时间会顺延{n}天。", "配送延迟期间您可以申请取消订单。", "我们会主动通知延迟发货的订单。"},
		[]string{"配送", "延迟"}, "complaint.logistics", []string{"为什么还没发货", "配送太慢了"}},
	{"会员积分兑换", []string{"积分可在积分商城兑换优惠券和礼品。", "每消费1元累计1积分，积分有效期为{n}个月。", "兑换成功的礼品将在{n}个工作日内发出。", "{m}可享受双倍积分。"},
		[]string{"积分", "会员"}, "inquiry.service", []string{"积分怎么兑换", "积分过期了吗"}},
	{"账号登录异常", []string{"登录时提示密码错误，可通过找回密码重新设置。", "账号因多次输错密码被锁定，{n}小时后自动解锁。", "更换设备登录需要短信验证码验证。", "收不到验证码时请检查手机是否拦截短信。"},
		[]string{"登录", "账号", "密码"}, "inquiry.service", []string{"登录不上去", "账号被锁定了", "忘记密码怎么办"}},
	{"修改绑定手机号", []string{"在账号设置中选择更换手机号，验证原手机号后即可修改。", "原手机号已停用时，需要上传身份证照片进行人工审核。", "人工审核一般在{n}个工作日内完成。"},
		[]string{"手机号", "账号"}, "request.information_change", []string{"换手机号了怎么改", "手机号停用了"}},
	{"支付失败处理", []string{"支付失败可能是银行卡余额不足或超出限额。", "请确认支付密码正确后重新支付。", "如扣款成功但订单显示未支付，款项会在{n}个工作日内原路退回。", "可以尝试更换支付方式完成支付。"},
		[]string{"支付", "付款"}, "inquiry.order_status", []string{"付款失败怎么办", "扣款了订单没成功"}},
	{"优惠券使用规则", []string{"优惠券需在有效期内使用，过期后自动失效。", "每笔订单只能使用一张优惠券。", "部分特价商品不能使用优惠券。", "退货后优惠券不予退还。"},
		[]string{"优惠券", "活动"}, "inquiry.policy", []string{"优惠券用不了", "优惠券怎么用"}},
	{"取消订单说明", []string{"订单未发货前可以直接取消，款项原路退回。", "已发货的订单无法取消，请在签收后申请退货。", "预售订单取消后定金不予退还。"},
		[]string{"取消订单", "订单"}, "inquiry.order_status", []string{"订单怎么取消", "不想要了能取消吗"}},
	{"商品质量问题处理", []string{"收到的商品存在破损或质量问题，请在{n}天内拍照反馈。", "经核实为质量问题的，我们承担往返运费。", "您可以选择维修、换货或退款。"},
		[]string{"质量", "售后"}, "complaint.product_quality", []string{"收到的东西坏了", "商品有质量问题"}},
	{"保修政策", []string{"{p}整机保修{n}个月，主要部件保修更长时间。", "保修期内非人为损坏可免费维修。", "维修需要提供购买凭证或发票。", "人为损坏和进水不在保修范围内。"},
		[]string{"保修", "维修"}, "inquiry.policy", []string{"保修多久", "坏了能免费修吗"}},
	{"上门安装预约", []string{"大家电签收后可预约师傅上门安装。", "安装师傅会在{n}小时内电话联系您确认时间。", "{r}部分偏远地区安装可能收取远程费。"},
		[]string{"安装", "预约"}, "inquiry.service", []string{"什么时候上门安装", "怎么预约安装"}},
	{"价格保护规则", []string{"签收后{n}天内商品降价，可申请价格保护补差价。", "价格保护的差额以优惠券或余额形式返还。", "秒杀和清仓商品不参与价格保护。"},
		[]string{"价保", "降价"}, "inquiry.policy", []string{"买完就降价了", "怎么申请价保"}},
	{"七天无理由退货", []string{"签收后七天内，商品完好可申请无理由退货。", "无理由退货的运费由买家承担。", "定制商品和生鲜食品不支持无理由退货。"},
		[]string{"退货", "七天无理由"}, "request.return_exchange", []string{"七天无理由怎么退", "拆封了还能退吗"}},
	{"预售定金规则", []string{"预售商品需先支付定金，尾款在指定时间支付。", "未按时支付尾款，定金不予退还。", "定金膨胀金额以活动页面为准。"},
		[]string{"预售", "定金"}, "inquiry.policy", []string{"定金能退吗", "尾款什么时候付"}},
	{"实名认证说明", []string{"部分服务需要完成实名认证后才能使用。", "实名认证需要填写真实姓名和身份证号。", "认证信息仅用于身份核验，我们依法保护您的个人信息。"},
		[]string{"实名", "认证"}, "inquiry.service", []string{"怎么实名认证", "实名认证失败"}},
	{"注销账号", []string{"注销账号前请确认订单已完成且无售后服务。", "注销后账号内的积分、优惠券和余额将全部清空。", "注销申请提交后有{n}天的冷静期。"},
		[]string{"注销", "账号"}, "request.information_change", []string{"怎么注销账号", "注销后还能恢复吗"}},
	{"服务投诉处理", []string{"我们重视每一条服务投诉，会在{n}小时内回复。", "投诉处理结果会通过短信通知您。", "对处理结果不满意可以申请升级处理。"},
		[]string{"投诉", "服务"}, "complaint.service_attitude", []string{"我要投诉客服", "客服态度太差"}},
	{"产品使用说明", []string{"{p}首次使用前请完整阅读说明书。", "开机后按照屏幕提示完成初始设置。", "如遇到无法开机，请先充电{n}小时后再试。"},
		[]string{"使用", "说明书"}, "inquiry.product", []string{"开不了机", "第一次怎么用"}},
	{"以旧换新活动", []string{"旧机回收价格根据成色评估。", "以旧换新的补贴会在新机订单中直接抵扣。", "回收旧机需要清除个人数据并退出账号。"},
		[]string{"以旧换新", "回收"}, "inquiry.policy", []string{"旧手机能换新的吗", "回收价格多少"}},
	{"分期付款说明", []string{"订单金额满{a}元可以选择分期付款。", "分期手续费以支付页面显示为准。", "提前还款不收取违约金。"},
		[]string{"分期", "付款"}, "inquiry.policy", []string{"能分期吗", "分期有手续费吗"}},
	{"礼品卡充值与使用", []string{"礼品卡可以在账户余额中充值使用。", "礼品卡不能兑换现金，有效期{n}年。", "礼品卡丢失请及时联系客服冻结。"},
		[]string{"礼品卡", "余额"}, "inquiry.service", []string{"礼品卡怎么用", "礼品卡丢了"}},
	{"企业采购服务", []string{"企业客户可以申请对公账户付款和月结。", "批量采购满{a}元可享受专属折扣。", "企业采购支持开具增值税专用发票。"},
		[]string{"企业", "采购"}, "inquiry.service", []string{"公司批量采购", "对公转账"}},
	{"门店营业时间", []string{"{r}门店营业时间为每天10点至22点。", "节假日营业时间可能调整，请以门店公告为准。", "门店支持自提和售后服务。"},
		[]string{"门店", "营业时间"}, "inquiry.service", []string{"门店几点关门", "附近门店在哪"}},
	{"个人信息保护", []string{"我们依据个人信息保护法处理您的个人信息。", "您可以申请查询、更正或删除个人信息。", "个人信息请求会在{n}个工作日内处理。"},
		[]string{"隐私", "个人信息"}, "inquiry.policy", []string{"怎么删除我的信息", "隐私政策"}},
}

var enTopics = []topic{
	{"Refund timeline", []string{"Once the refund is approved, the money goes back to your original payment method.", "Card refunds usually take {n} business days to appear on your statement.", "Wallet refunds normally arrive within 24 hours.", "If your refund has not arrived after {n} business days, contact us with the refund number."},
		[]string{"refund", "payment"}, "request.refund", []string{"how long does a refund take", "when will I get my money back", "refund not received"}},
	{"Returning an item", []string{"Start a return from the order page and choose a reason.", "Print the prepaid label and drop the parcel at any {c} point within {n} days.", "Keep all accessories and the original packaging.", "We refund you after the warehouse inspects the item."},
		[]string{"return", "after-sales"}, "request.return_exchange", []string{"how do I return an item", "return label"}},
	{"Exchanging an item", []string{"You can exchange a faulty item within {n} days of delivery.", "We ship the replacement once the original item reaches the warehouse.", "Exchanges are free of shipping costs."},
		[]string{"exchange", "after-sales"}, "request.return_exchange", []string{"swap for another size", "exchange a faulty item"}},
	{"Changing your shipping address", []string{"You can change the shipping address until the order ships.", "After shipping, ask the courier to redirect the parcel.", "Check the recipient name and phone number after editing the address."},
		[]string{"address", "shipping"}, "request.information_change", []string{"change delivery address", "wrong address on my order"}},
	{"Invoices and receipts", []string{"Electronic invoices are emailed when the order is complete.", "Business customers can add a company name and tax number.", "You can request a corrected invoice within {n} days."},
		[]string{"invoice", "receipt"}, "inquiry.policy", []string{"need an invoice", "download my receipt"}},
	{"Lost package claims", []string{"If tracking says delivered but you have no parcel, check with neighbours first.", "Once the carrier confirms the package is lost, we send a replacement or refund you.", "Claims are handled within {n} business days."},
		[]string{"lost", "claim", "courier"}, "complaint.logistics", []string{"package lost", "my parcel never arrived"}},
	{"Tracking your order", []string{"Tracking details appear on the order page once the parcel ships.", "Tracking can take {n} hours to update after dispatch.", "Use the tracking number on the carrier website for more detail."},
		[]string{"tracking", "delivery"}, "inquiry.logistics_status", []string{"where is my order", "tracking not updating"}},
	{"Delivery delays", []string{"Weather and holidays can delay deliveries in {r}.", "During sales events dispatch may take {n} extra days.", "You can cancel an order that is delayed."},
		[]string{"delivery", "delay"}, "complaint.logistics", []string{"why is my delivery late", "order delayed"}},
	{"Loyalty points", []string{"Redeem points for coupons and gifts in the rewards store.", "You earn one point for every dollar spent; points expire after {n} months.", "{m} earn double points."},
		[]string{"points", "membership"}, "inquiry.service", []string{"redeem my points", "do points expire"}},
	{"Reset your password", []string{"Choose Forgot password on the sign-in page to get a reset link.", "The reset link expires after {n} minutes.", "Accounts lock after five wrong passwords and unlock after {n} hours.", "Check your spam folder if the reset email does not arrive."},
		[]string{"password", "account", "login"}, "inquiry.service", []string{"forgot my password", "can't sign in", "account locked"}},
	{"Changing your phone number", []string{"Update your phone number in account settings after verifying the old one.", "If you lost the old number, upload an ID document for a manual review.", "Reviews take up to {n} business days."},
		[]string{"phone", "account"}, "request.information_change", []string{"new phone number", "lost access to my number"}},
	{"Payment failed", []string{"A payment can fail because of the card limit or insufficient funds.", "If you were charged but the order shows unpaid, the charge is reversed within {n} business days.", "Try another payment method to complete the order."},
		[]string{"payment", "card"}, "inquiry.order_status", []string{"payment declined", "charged but order failed"}},
	{"Coupon rules", []string{"Coupons must be used before they expire.", "Only one coupon applies to each order.", "Some clearance items are excluded from coupons."},
		[]string{"coupon", "promotion"}, "inquiry.policy", []string{"coupon not working", "how to use a coupon"}},
	{"Cancelling an order", []string{"You can cancel an order before it ships and get a full refund.", "Shipped orders cannot be cancelled; return the item after delivery instead.", "Deposits on pre-orders are not refundable."},
		[]string{"cancel", "order"}, "inquiry.order_status", []string{"cancel my order", "stop an order"}},
	{"Damaged or defective items", []string{"Report damage within {n} days of delivery with photos.", "We pay return shipping for defective items.", "Choose a repair, replacement or refund."},
		[]string{"damaged", "quality"}, "complaint.product_quality", []string{"item arrived broken", "product is defective"}},
	{"Warranty coverage", []string{"The {p} carries a {n}-month warranty.", "Repairs under warranty are free unless the damage was accidental.", "Keep your receipt as proof of purchase."},
		[]string{"warranty", "repair"}, "inquiry.policy", []string{"is it under warranty", "free repair"}},
	{"Installation appointments", []string{"Book installation for large appliances after delivery.", "A technician calls within {n} hours to confirm the visit.", "Remote areas in {r} may carry a travel fee."},
		[]string{"installation", "appointment"}, "inquiry.service", []string{"book an installer", "when will the technician come"}},
	{"Price protection", []string{"If the price drops within {n} days of delivery, claim the difference.", "The difference is paid as store credit.", "Flash sale items are not covered."},
		[]string{"price", "protection"}, "inquiry.policy", []string{"price dropped after I bought it", "price match"}},
	{"Gift cards", []string{"Add a gift card to your account balance to use it.", "Gift cards cannot be exchanged for cash and are valid for {n} years.", "Report a lost gift card so we can freeze it."},
		[]string{"gift card", "balance"}, "inquiry.service", []string{"use a gift card", "lost gift card"}},
	{"Closing your account", []string{"Finish open orders and returns before closing your account.", "Points, coupons and balance are deleted when the account closes.", "There is a {n}-day cooling-off period."},
		[]string{"account", "privacy"}, "request.information_change", []string{"delete my account", "close account"}},
	{"Making a complaint", []string{"We answer every complaint within {n} hours.", "You receive the outcome by email.", "Ask for an escalation if you are not satisfied."},
		[]string{"complaint", "service"}, "complaint.service_attitude", []string{"I want to complain", "rude support agent"}},
	{"Getting started with your device", []string{"Read the quick start guide before first use of the {p}.", "Follow the on-screen steps to finish setup.", "If it does not turn on, charge it for {n} hours first."},
		[]string{"setup", "manual"}, "inquiry.product", []string{"won't turn on", "first time setup"}},
	{"Trade-in program", []string{"We value your old device by its condition.", "The trade-in credit is deducted from the new order.", "Erase your data and sign out before sending the old device."},
		[]string{"trade-in", "recycle"}, "inquiry.policy", []string{"trade in my old phone", "how much for my old device"}},
	{"Paying in instalments", []string{"Orders over {a} dollars can be paid in instalments.", "Instalment fees are shown at checkout.", "Early repayment is free."},
		[]string{"instalments", "payment"}, "inquiry.policy", []string{"pay monthly", "instalment fees"}},
	{"Business purchasing", []string{"Business customers can pay by bank transfer on monthly terms.", "Bulk orders over {a} dollars get a dedicated discount.", "We issue VAT invoices for business orders."},
		[]string{"business", "bulk"}, "inquiry.service", []string{"bulk order for my company", "pay by bank transfer"}},
	{"Store opening hours", []string{"Stores in {r} open from 10 am to 10 pm.", "Holiday hours may differ; check the store notice.", "Stores offer pickup and after-sales service."},
		[]string{"store", "hours"}, "inquiry.service", []string{"when does the store close", "nearest store"}},
	{"Your personal data", []string{"We process personal data under applicable privacy law.", "You can ask to see, correct or delete your data.", "Data requests are answered within {n} business days."},
		[]string{"privacy", "data"}, "inquiry.policy", []string{"delete my data", "privacy policy"}},
}

var (
	zhGeneral = []string{"如有其他问题，欢迎随时联系在线客服。", "本说明适用于通过{c}下单的订单。", "具体规则以页面公示为准。", "感谢您的理解与支持。",
		"客服工作时间为每天9点至21点。", "您可以在App的帮助中心查看更多说明。", "为保障您的权益，请勿向他人透露验证码。", "处理进度会通过短信和站内信通知您。",
		"特殊情况下处理时间可能延长{n}个工作日。", "{m}享有专属客服通道。", "请保留好相关凭证以便核查。", "以上内容于近期更新。"}
	enGeneral = []string{"Contact our support team if you have any other questions.", "This applies to orders placed through {c}.", "The rules shown at checkout take precedence.", "Thank you for your patience.",
		"Support is available every day from 9 am to 9 pm.", "See the help centre in the app for more.", "Never share your verification code with anyone.", "We will keep you updated by email and in-app messages.",
		"In rare cases processing takes {n} extra business days.", "{m} have a dedicated support line.", "Keep your receipts in case we need to check.", "This article was updated recently."}
	zhProducts = []string{"手机", "笔记本电脑", "平板电脑", "蓝牙耳机", "智能手表", "电视", "冰箱", "洗衣机", "空调", "扫地机器人", "咖啡机", "电饭煲", "吹风机", "显示器", "机械键盘",
		"无线鼠标", "路由器", "相机", "音箱", "充电宝", "运动鞋", "羽绒服", "双肩包", "行李箱", "婴儿车", "奶粉", "护肤品", "洗发水", "猫粮", "茶叶", "净水器", "电动牙刷", "投影仪", "游戏机", "自行车"}
	enProducts = []string{"phone", "laptop", "tablet", "earbuds", "smartwatch", "television", "fridge", "washing machine", "air conditioner", "robot vacuum", "coffee machine", "rice cooker",
		"hair dryer", "monitor", "keyboard", "mouse", "router", "camera", "speaker", "power bank", "running shoes", "down jacket", "backpack", "suitcase", "stroller", "blender", "projector", "console", "bicycle", "kettle"}
	zhBrands   = []string{"星河", "云帆", "青禾", "木棉", "远山", "北辰", "海蓝", "朗逸", "知行", "悦家", "启明", "拾光", "安和", "巧匠", "白鹭", "翠竹", "金穗", "晨曦", "乐途", "聚能", "优品", "智联", "鲸歌", "橙意"}
	enBrands   = []string{"Northwind", "Contoso", "Fabrikam", "Tailspin", "Litware", "Proseware", "Wingtip", "Lucerne", "Alpine", "Coho", "Trey", "Woodgrove", "Relecloud", "Adatum", "Southridge", "Lamna", "Bellows", "Kestrel", "Marlow", "Quill", "Ember", "Orbit", "Vantage", "Willow"}
	zhRegions  = []string{"北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安", "南京", "重庆", "天津", "苏州", "长沙", "郑州", "青岛", "沈阳", "厦门", "昆明", "哈尔滨", "乌鲁木齐", "拉萨", "海口"}
	enRegions  = []string{"London", "Manchester", "Dublin", "Sydney", "Melbourne", "Toronto", "Vancouver", "Singapore", "Auckland", "Edinburgh", "Cardiff", "Perth", "Ottawa", "Brisbane", "Glasgow"}
	zhChannels = []string{"App", "小程序", "官网", "门店", "微信商城", "电话"}
	enChannels = []string{"the app", "the website", "our stores", "phone orders", "partner marketplaces"}
	zhMembers  = []string{"金卡会员", "钻石会员", "银卡会员", "企业客户", "新用户"}
	enMembers  = []string{"Gold members", "Platinum members", "Business customers", "New customers"}
	zhTitleFmt = []string{"%s", "%s（%s）", "%s常见问题", "%s：%s专区", "关于%s的说明", "%s地区%s", "%s操作指南"}
	enTitleFmt = []string{"%s", "%s (%s)", "%s: frequently asked questions", "%s for %s", "About %s", "%s in %s", "%s: step by step"}
)

// generated is one generated article.
type generated struct {
	title, body, language, status string
	tags, subcategories           []string
}

// generate returns the next article: 60 % Chinese, 40 % English; 90 % published, 7 % drafts, 3 %
// archived; 4 to 9 paragraphs of 2 to 5 sentences.
func generate(r *rand.Rand) generated {
	zh := r.IntN(10) < 6
	topics, general, products, brands, regions, channels, members := enTopics, enGeneral, enProducts, enBrands, enRegions, enChannels, enMembers
	formats, sep := enTitleFmt, " "
	if zh {
		topics, general, products, brands, regions, channels, members = zhTopics, zhGeneral, zhProducts, zhBrands, zhRegions, zhChannels, zhMembers
		formats, sep = zhTitleFmt, ""
	}
	// A product is a brand's product, often with a model code (X350, K-12): the names and codes make the
	// rare terms a real catalogue has.
	product := func() string {
		p := pick(r, brands) + sep + pick(r, products)
		if r.IntN(2) == 0 {
			p += " " + model(r)
		}
		return p
	}
	// Topics are skewed: the first ones are written about most (the first of 30 in 7 % of a language's
	// articles, the last in 2.6 %).
	t := topics[int(float64(len(topics))*math.Pow(r.Float64(), 1.3))]
	fill := func(s string) string {
		return strings.NewReplacer("{p}", product(), "{r}", pick(r, regions), "{c}", pick(r, channels),
			"{m}", pick(r, members), "{n}", fmt.Sprint(1+r.IntN(14)), "{a}", fmt.Sprint(100*(1+r.IntN(50)))).Replace(s)
	}
	var title string
	switch f := pick(r, formats); strings.Count(f, "%s") {
	case 1:
		title = fmt.Sprintf(f, t.title)
	default:
		extra := product()
		if strings.Contains(f, "地区") || strings.Contains(f, " in ") {
			extra = pick(r, regions)
		}
		if zh && strings.HasPrefix(f, "%s地区") {
			title = fmt.Sprintf(f, extra, t.title)
		} else {
			title = fmt.Sprintf(f, t.title, extra)
		}
	}
	var body strings.Builder
	for p := range 4 + r.IntN(6) {
		if p > 0 {
			body.WriteString("\n\n")
		}
		if p == 0 || r.IntN(4) == 0 {
			body.WriteString("## " + t.title + "\n\n")
		}
		for s := range 2 + r.IntN(4) {
			if s > 0 && !zh {
				body.WriteByte(' ')
			}
			if r.IntN(3) == 0 {
				body.WriteString(fill(pick(r, general)))
			} else {
				body.WriteString(fill(pick(r, t.sentences)))
			}
		}
	}
	status := "published"
	switch n := r.IntN(100); {
	case n < 7:
		status = "draft"
	case n < 10:
		status = "archived"
	}
	lang := "en"
	if zh {
		lang = "zh-CN"
	}
	tags := append([]string(nil), t.tags...)
	if r.IntN(3) == 0 {
		tags = append(tags, pick(r, brands))
	}
	return generated{title: title, body: body.String(), language: lang, status: status, tags: tags,
		subcategories: []string{t.subcategory}}
}

// model returns a model code: a letter and two to four digits, sometimes with a suffix.
func model(r *rand.Rand) string {
	m := fmt.Sprintf("%c%d", 'A'+r.IntN(26), 10+r.IntN(9990))
	if r.IntN(4) == 0 {
		m += pick(r, []string{" Pro", " Max", " Lite", " Plus"})
	}
	return m
}

// queries returns the query mix: each topic's questions, its title, two-word combinations of its tags and
// products, a brand's product with a model code and a topic, and a few words alone.
func queries() []string {
	var out []string
	for _, ts := range [][]topic{zhTopics, enTopics} {
		for _, t := range ts {
			out = append(out, t.queries...)
			out = append(out, t.title)
			out = append(out, strings.Join(t.tags, " "))
		}
	}
	for i, p := range zhProducts {
		out = append(out, p+zhTopics[i%len(zhTopics)].tags[0])
	}
	for i, p := range enProducts {
		out = append(out, p+" "+enTopics[i%len(enTopics)].tags[0])
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		t := zhTopics[r.IntN(len(zhTopics))]
		out = append(out, pick(r, zhBrands)+pick(r, zhProducts)+model(r)+t.tags[0])
		e := enTopics[r.IntN(len(enTopics))]
		out = append(out, pick(r, enBrands)+" "+pick(r, enProducts)+" "+model(r)+" "+e.tags[0])
	}
	out = append(out, "退款", "发票", "密码", "refund", "order", "delivery", "account")
	return out
}

func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }
