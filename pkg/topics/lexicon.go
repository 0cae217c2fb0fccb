package topics

// defaultTopics is the built-in lexicon: complaints common in Chinese e-commerce, education, finance and
// local services. It is a function, not a variable, so that no caller can change the table another sees.
//
// Terms are written as customers write them, typos included (登陆 for 登录, 优惠卷 for 优惠券). Bare
// single characters (货, 卡, 脏) are avoided as concepts of their own because they occur inside unrelated
// words (退货, 银行卡, 心脏) and in names. English terms are written in plain form; stemming covers their
// inflections (see stem), so "arrive" needs no "arrived". The order is the priority when a text matches
// more than MaxTopics topics: the concrete order and delivery problems first, the broad ones last.
func defaultTopics() []Topic {
	return []Topic{
		{
			ID: "delivery_delay", Zh: "物流延迟", En: "Delivery delayed",
			Rules: []Rule{
				{{
					"物流延迟", "快递延迟", "配送延迟", "发货延迟", "物流太慢", "快递太慢", "物流慢", "快递慢",
					"物流不更新", "物流没更新", "不发货", "没发货", "未发货", "还没发货", "没有发货", "迟迟不发",
					"催发货", "催快递", "催件",
				}},
				{
					{"快递", "物流", "包裹", "快件", "的货", "货物", "商品", "东西", "配送", "外卖", "骑手", "送餐"},
					{
						"没到", "未到", "没收到", "未收到", "没有收到", "没送到", "没有送到", "还没送", "不送",
						"迟迟", "延迟", "延误", "太慢", "好慢", "很慢", "慢死", "不更新", "没更新", "没有更新",
						"未更新", "停止更新", "不动", "没动", "停在", "卡在", "超时", "还没来", "没派送", "不派送",
						"一直在路上", "没消息", "没有消息", "没动静",
					},
				},
				{{
					"late delivery", "delayed delivery", "delivery delay", "shipping delay", "not shipped",
					"hasn't shipped", "haven't shipped", "not been shipped", "where is my order",
					"where is my package", "where is my parcel",
				}},
				{
					{"package", "parcel", "order", "delivery", "shipment", "item", "courier"},
					{
						"not arrive", "hasn't arrive", "haven't arrive", "never arrive", "didn't arrive",
						"not yet arrive", "not receive", "hasn't receive", "haven't receive", "never receive",
						"didn't receive", "not get", "didn't get", "never got", "haven't got", "haven't gotten",
						"still wait", "still not here", "not here yet", "isn't here", "not deliver",
						"hasn't been deliver", "taking forever",
					},
				},
				{
					{"delivery", "shipment", "shipping", "courier", "package", "parcel"},
					{"late", "delay", "slow", "overdue", "stuck"},
				},
				{
					{"tracking", "track"},
					{"not update", "hasn't update", "no update", "stuck", "hasn't move", "not move", "not changed"},
				},
			},
		},
		{
			ID: "lost_parcel", Zh: "包裹丢失", En: "Parcel lost",
			Rules: []Rule{
				{{"丢件", "虚假签收", "显示已签收", "显示签收", "被人签收", "被签收", "冒领", "代签"}},
				{
					{"快递", "包裹", "物流", "快件", "货物", "的货"},
					{"丢了", "丢失", "弄丢", "遗失", "不见了", "找不到了"},
				},
				{{
					"marked as delivered", "says delivered", "says it was delivered", "shows delivered",
					"shows as delivered", "lost package", "lost parcel", "stolen package", "stolen parcel",
				}},
				{
					{"package", "parcel", "shipment"},
					{"lost", "stolen", "missing", "disappear"},
				},
			},
		},
		{
			ID: "wrong_item", Zh: "发错货", En: "Wrong item sent",
			Rules: []Rule{
				{{
					"发错", "寄错", "错发", "送错", "发成了", "不是我买的", "不是我要的", "不是我订的", "不是我下单的",
					"颜色不对", "尺码不对", "尺寸不对", "型号不对", "规格不对", "款式不对",
				}},
				{{
					"wrong item", "wrong size", "wrong colour", "wrong color", "wrong product", "wrong model",
					"wrong one", "wrong order", "wrong thing", "sent the wrong", "sent me the wrong",
					"received the wrong", "got the wrong", "not what i ordered", "different item",
				}},
			},
		},
		{
			ID: "damaged_item", Zh: "商品破损", En: "Item damaged",
			Rules: []Rule{
				{{"破损", "摔坏", "压坏", "压碎", "碎了", "磕坏", "磕碰", "压扁", "漏液", "撒了", "洒了", "外包装破"}},
				{
					{"收到", "到货", "拿到", "到手", "快递", "包裹", "打开", "拆开", "开箱", "的货", "送来"},
					{"坏的", "坏了", "破了", "烂了", "裂了", "划痕", "凹陷", "变形", "碎的"},
				},
				{{"damaged", "damage", "dented", "crushed", "shattered", "smashed", "arrived broken"}},
				{
					{"arrive", "receive", "package", "parcel", "box", "item", "delivery", "delivered", "opened"},
					{"broken", "cracked", "torn", "leaking"},
				},
			},
		},
		{
			ID: "missing_item", Zh: "少发漏发", En: "Item missing from order",
			Rules: []Rule{
				{{
					"少发", "漏发", "少了一件", "少了一个", "少了一样", "少寄", "漏寄", "缺件", "少件", "配件不全",
					"缺少配件", "少配件", "少东西", "少了东西", "空包裹", "空盒", "只收到一件", "只收到一个",
				}},
				{{"empty box", "empty package", "incomplete order", "only received one", "only got one"}},
				{
					{"item", "part", "piece", "accessory", "product", "order"},
					{"missing"},
				},
			},
		},
		{
			ID: "not_as_described", Zh: "与描述不符", En: "Not as described",
			Rules: []Rule{
				{{"货不对板", "色差", "虚假宣传", "夸大宣传", "实物不符", "图文不符", "描述不符"}},
				{
					{"描述", "图片", "宣传", "详情页", "介绍", "照片", "样品"},
					{"不符", "不一样", "不一致", "不同", "差太多", "差很多", "差距"},
				},
				{{
					"not as described", "not as advertised", "not as pictured", "false advertising",
					"misleading", "looks nothing like",
				}},
				{
					{"description", "picture", "photo", "image", "advert", "listing"},
					{"not match", "doesn't match", "didn't match", "different", "differ"},
				},
			},
		},
		{
			ID: "counterfeit", Zh: "假货", En: "Counterfeit product",
			Rules: []Rule{
				{{"假货", "假冒", "仿冒", "仿品", "高仿", "山寨", "不是正品", "非正品", "冒牌", "盗版", "是假的"}},
				{{"fake", "counterfeit", "knockoff", "knock off", "not genuine", "not authentic", "replica"}},
			},
		},
		{
			ID: "quality", Zh: "质量问题", En: "Poor quality",
			Rules: []Rule{
				{{
					"劣质", "次品", "残次品", "三无产品", "瑕疵", "起球", "掉色", "褪色", "开线", "开胶", "异味",
					"质量差", "质量问题",
				}},
				{
					{"质量", "品质", "做工", "材质", "用料"},
					{"差", "不好", "问题", "太烂", "很烂", "垃圾", "粗糙", "不行", "堪忧"},
				},
				{
					{"用了", "没用几天", "用几天", "几天就", "刚买", "才用", "一个月就", "没多久", "穿了", "洗了"},
					{"坏了", "坏掉", "不能用", "不工作", "失灵", "故障", "出问题", "不亮", "没反应", "开线", "破了"},
				},
				{{
					"poor quality", "bad quality", "low quality", "terrible quality", "cheap quality",
					"defective", "faulty", "stopped working", "fell apart", "malfunction", "cheaply made",
				}},
			},
		},
		{
			ID: "return_exchange", Zh: "退换货", En: "Return or exchange",
			Rules: []Rule{
				{{"退货", "换货", "退换", "无理由退", "寄回", "换一个", "换新", "拒绝退货", "不给退"}},
				{{"return", "exchange", "send it back", "send back", "return label", "rma"}},
			},
		},
		{
			ID: "refund_request", Zh: "申请退款", En: "Refund request",
			Rules: []Rule{
				{{
					"我要退款", "申请退款", "要求退款", "退款申请", "给我退款", "要退款", "全额退款", "退钱",
					"不给退款", "拒绝退款", "不退款", "怎么退款", "能退款吗",
				}},
				{{
					"want a refund", "want my refund", "request a refund", "refund request", "refund please",
					"full refund", "money back", "refuse to refund", "refused a refund", "refused to refund",
					"won't refund", "no refund", "how do i get a refund",
				}},
			},
		},
		{
			ID: "refund_delay", Zh: "退款未到账", En: "Refund not received",
			Rules: []Rule{
				{{"退款没到账", "退款未到账", "退款还没到", "迟迟不退", "退款太慢", "退款慢"}},
				{
					{"退款", "退费", "退的钱", "退回的钱", "款项"},
					{
						"没到账", "未到账", "还没到", "没收到", "没有收到", "还没退", "没退", "迟迟", "太慢", "好慢",
						"很慢", "多久", "几天了", "一直没", "还没有", "没有到",
					},
				},
				{
					{"refund", "money back", "reimbursement"},
					{
						"not receive", "hasn't receive", "haven't receive", "never receive", "didn't receive",
						"not arrive", "hasn't arrive", "haven't arrive", "never arrive", "didn't arrive",
						"haven't got", "didn't get", "never got", "still wait", "delay", "slow", "not yet",
						"taking forever", "still not", "where is", "hasn't come", "not credited", "pending",
					},
				},
			},
		},
		{
			ID: "price_charge", Zh: "扣费异常", En: "Wrong or extra charge",
			Rules: []Rule{
				{{
					"多扣", "多收", "重复扣", "扣了两次", "扣两次", "扣了两遍", "乱扣", "扣错", "莫名扣费",
					"莫名其妙扣", "扣费", "乱收费", "收费不合理", "额外收费", "隐形收费", "多付了", "重复支付",
					"重复付款",
				}},
				{{
					"overcharge", "double charged", "charged double", "charged twice", "charged me twice",
					"billed twice", "double billing", "extra charge", "charged extra", "hidden fee",
					"hidden charge", "unexpected charge", "paid twice", "wrong amount",
				}},
			},
		},
		{
			ID: "price_protection", Zh: "降价保价", En: "Price drop after purchase",
			Rules: []Rule{
				{{"降价", "保价", "价保", "买贵了", "补差价", "退差价", "差价"}},
				{{
					"price drop", "price dropped", "price protection", "price match", "price difference",
					"price adjustment", "cheaper now", "price went down",
				}},
			},
		},
		{
			ID: "invoice", Zh: "发票问题", En: "Invoice or receipt",
			Rules: []Rule{
				{{"发票", "开票", "收据", "专票", "普票", "报销凭证"}},
				{{"invoice", "receipt", "fapiao", "vat"}},
			},
		},
		{
			ID: "payment_failed", Zh: "支付失败", En: "Payment failed",
			Rules: []Rule{
				{{
					"支付失败", "付款失败", "支付不了", "付不了款", "付不了", "无法支付", "不能支付", "支付不成功",
					"付款不成功", "付不上款", "交易失败", "支付异常", "付款异常", "支付报错", "充值失败",
					"充值不成功", "充值没到账", "充值未到账", "扣款失败",
				}},
				{{"card declined", "can't pay", "cannot pay", "can not pay", "couldn't pay", "unable to pay"}},
				{
					{"payment", "transaction", "checkout", "top up", "topup"},
					{
						"fail", "failure", "decline", "error", "rejected", "not go through", "didn't go through",
						"won't go through", "not going through",
					},
				},
			},
		},
		{
			ID: "account_login", Zh: "账号登录问题", En: "Account or login problem",
			Rules: []Rule{
				{{
					"登录不了", "登录不上", "登不上", "登不进", "无法登录", "不能登录", "登录失败", "登录异常",
					"登陆不了", "登陆不上", "无法登陆", "不能登陆", "登陆失败", "密码", "验证码", "账号被封", "封号",
					"账号异常", "账号被盗", "盗号", "找回账号", "注册不了", "注册失败",
				}},
				{{"password", "locked out", "verification code", "account locked", "account suspended", "otp"}},
				{
					{"log in", "login", "log into", "sign in", "signin", "sign into", "access my account"},
					{
						"can't", "cannot", "can not", "couldn't", "unable", "not able", "fail", "failure", "error",
						"problem", "issue", "won't", "trouble",
					},
				},
			},
		},
		{
			ID: "app_crash", Zh: "应用闪退", En: "App crashes or won't open",
			Rules: []Rule{
				{{"闪退", "崩溃"}},
				{
					{"app", "软件", "应用", "程序", "小程序", "网页", "页面", "网站", "系统", "链接", "客户端"},
					{
						"打不开", "进不去", "加载不出", "白屏", "黑屏", "卡死", "卡住", "卡顿", "无响应", "报错",
						"一直转圈", "用不了",
					},
				},
				{{"crash", "keeps crashing"}},
				{
					{"app", "application", "website", "site", "page", "software", "program", "system"},
					{
						"freeze", "frozen", "won't open", "not open", "can't open", "cannot open", "won't load",
						"not load", "doesn't load", "blank screen", "white screen", "black screen", "error", "bug",
						"glitch", "stuck", "hang", "not responding", "not working",
					},
				},
			},
		},
		{
			ID: "staff_attitude", Zh: "服务态度差", En: "Rude staff",
			Rules: []Rule{
				{{"服务态度", "态度差", "骂人", "辱骂", "爱答不理", "不耐烦", "爱理不理"}},
				{
					{"态度"},
					{"差", "恶劣", "不好", "很凶", "冷漠", "敷衍", "嚣张", "傲慢", "骂"},
				},
				{{
					"rude", "impolite", "unprofessional", "arrogant", "disrespectful", "yelled at", "shouted at",
					"hung up on me", "hang up on me", "swore at", "insulted",
				}},
				{
					{"attitude"},
					{"bad", "terrible", "poor", "awful", "horrible"},
				},
			},
		},
		{
			ID: "no_response", Zh: "无人回复", En: "No response",
			Rules: []Rule{
				{{
					"没人回复", "没人回", "没人理", "没人管", "没人接", "无人接听", "无人回复", "无人处理", "联系不上",
					"联系不到", "打不通", "找不到客服", "找不到人", "不回复", "不回消息", "没有回复", "没回复",
					"没回应", "没有回应", "一直占线", "石沉大海", "没人处理",
				}},
				{{
					"no one replied", "nobody replied", "no one answer", "nobody answer", "no one respond",
					"nobody respond", "never respond", "hasn't respond", "haven't respond", "didn't respond",
					"never replied", "no response", "no reply", "no answer", "never got back", "no one got back",
					"ignored", "can't reach", "cannot reach", "couldn't reach", "unable to reach",
					"can't get through", "couldn't get through", "no one picks up", "nobody picks up",
					"unanswered", "unresponsive",
				}},
			},
		},
		{
			ID: "cancellation", Zh: "取消订单", En: "Cancellation",
			Rules: []Rule{
				{{"取消订单", "退订", "取消不了", "无法取消", "怎么取消", "解约", "注销账号", "注销账户"}},
				{
					{"取消"},
					{"订单", "订阅", "合同", "服务", "预订", "套餐"},
				},
				{{"unsubscribe", "cancellation", "want to cancel", "how to cancel", "close my account", "delete my account"}},
				{
					{"cancel"},
					{"order", "subscription", "account", "contract", "plan", "service", "membership"},
				},
			},
		},
		{
			ID: "course_schedule", Zh: "课程安排", En: "Class schedule",
			Rules: []Rule{
				{{"调课", "排课", "停课", "约课", "课被取消", "课程取消", "上课时间"}},
				{
					{"课程", "上课", "课时", "课表", "网课", "直播课", "这节课", "的课"},
					{
						"调整", "取消", "改期", "改时间", "换时间", "时间冲突", "时间不合适", "改了时间", "延期",
						"推迟", "临时", "排不上", "约不上",
					},
				},
				{
					{"class", "lesson", "course", "session", "tutoring"},
					{"cancel", "reschedule", "schedule", "postpone", "moved"},
				},
			},
		},
		{
			ID: "teacher", Zh: "老师问题", En: "Teacher problem",
			Rules: []Rule{
				{{"换老师", "频繁换老师", "老师不专业", "老师迟到", "老师缺课"}},
				{
					{"老师", "教练", "讲师", "助教", "班主任", "外教"},
					{
						"态度", "迟到", "缺课", "不来", "没来", "早退", "敷衍", "不负责", "水平", "不专业", "骂",
						"体罚", "频繁更换",
					},
				},
				{
					{"teacher", "tutor", "instructor", "coach"},
					{
						"late", "didn't show", "no show", "absent", "rude", "unprofessional", "skip", "changed",
						"replace", "not qualified", "unqualified", "bad",
					},
				},
			},
		},
		{
			ID: "loan_interest", Zh: "利息费用", En: "Loan interest or fees",
			Rules: []Rule{
				{{"利息", "利率", "年化", "罚息", "砍头息", "高利贷", "服务费太高", "手续费太高"}},
				{
					{"贷款", "借款", "分期", "借钱", "网贷"},
					{"手续费", "费用太高", "多收", "太高", "不合理"},
				},
				{{"interest rate", "loan interest", "interest charge", "late fee", "penalty interest", "usury", "apr"}},
				{
					{"loan", "installment", "instalment", "credit card"},
					{"interest", "fee"},
				},
			},
		},
		{
			ID: "debt_collection", Zh: "催收骚扰", En: "Debt collection harassment",
			Rules: []Rule{
				{{"催收", "催债", "爆通讯录", "暴力催"}},
				{
					{"联系人", "家人", "同事", "通讯录", "亲戚", "朋友", "单位", "领导"},
					{"打电话", "骚扰", "催", "发短信"},
				},
				{{"debt collector", "collection call", "collection agency"}},
				{
					{"debt", "collector", "collection"},
					{"harass", "harassment", "threaten", "call my family", "called my family"},
				},
			},
		},
		{
			ID: "credit_report", Zh: "征信问题", En: "Credit report",
			Rules: []Rule{
				{{"征信", "信用记录", "信用报告", "上黑名单"}},
				{{"credit report", "credit score", "credit record", "credit bureau", "credit history"}},
			},
		},
		{
			ID: "card_blocked", Zh: "账户冻结", En: "Card or account blocked",
			Rules: []Rule{
				{{"冻结", "止付", "锁卡", "卡被锁", "卡被停用", "限制交易", "账户被限制", "非柜面", "限制收款", "被风控"}},
				{
					{"card", "bank account", "account"},
					{"block", "frozen", "freeze", "froze", "suspend", "deactivate"},
				},
			},
		},
		{
			ID: "fraud", Zh: "诈骗盗刷", En: "Fraud or unauthorised charge",
			Rules: []Rule{
				{{
					"诈骗", "盗刷", "被骗", "骗子", "骗局", "欺诈", "被盗", "冒充客服", "假客服", "钓鱼",
					"不是本人操作", "非本人操作", "不是我本人",
				}},
				{{
					"fraud", "fraudulent", "scam", "scammer", "scammed", "phishing", "unauthorized",
					"unauthorised", "didn't authorize", "didn't authorise", "stolen card", "someone used my card",
					"identity theft",
				}},
			},
		},
		{
			ID: "appointment", Zh: "预约问题", En: "Appointment problem",
			Rules: []Rule{
				{{"约不上", "约不到", "预约失败", "预约不上", "挂不上号", "挂不到号"}},
				{
					{"预约", "约好", "约定", "挂号", "订好的"},
					{"取消", "改期", "改时间", "失败", "不准时", "推迟", "迟到", "爽约", "没有号", "等了", "不认"},
				},
				{
					{"appointment", "booking", "reservation"},
					{
						"cancel", "reschedule", "late", "miss", "no show", "not honour", "not honor", "delay",
						"postpone", "waited",
					},
				},
				{{"can't book", "cannot book", "couldn't book", "unable to book"}},
			},
		},
		{
			ID: "technician_late", Zh: "上门服务迟到", En: "Technician late or no-show",
			Rules: []Rule{
				{
					{"师傅", "上门", "维修工", "维修人员", "安装工", "安装人员", "工人", "技师", "保洁", "阿姨", "工程师"},
					{
						"迟到", "没来", "不来", "没上门", "不上门", "爽约", "放鸽子", "晚到", "等了", "没按时",
						"没准时", "不准时", "一直没到",
					},
				},
				{
					{
						"technician", "engineer", "repairman", "plumber", "electrician", "installer", "cleaner",
						"handyman", "worker",
					},
					{
						"late", "didn't show", "didn't come", "never came", "never show", "no show", "not show",
						"didn't turn up", "not turn up", "stood me up", "waited",
					},
				},
			},
		},
		{
			ID: "after_sales_repair", Zh: "保修维修", En: "Warranty or repair",
			Rules: []Rule{
				{{
					"保修", "维修", "返修", "修不好", "修好了又坏", "售后不处理", "售后不管", "拒绝保修", "不给修",
					"过保", "三包",
				}},
				{{"warranty", "repair", "fix it", "not fixed", "still broken"}},
			},
		},
		{
			ID: "privacy", Zh: "隐私泄露", En: "Privacy or spam calls",
			Rules: []Rule{
				{{"泄露", "隐私", "骚扰电话", "骚扰短信", "垃圾短信", "推销电话", "营销电话", "个人信息被"}},
				{
					{"信息", "资料", "号码", "数据"},
					{"泄漏", "被卖", "倒卖", "外泄"},
				},
				{{
					"privacy", "spam call", "spam text", "spam message", "data leak", "data breach",
					"sold my data", "sold my information", "personal data", "telemarketing",
				}},
				{
					{"information", "info", "detail", "data", "number", "address"},
					{"leak", "breach", "sold", "sell"},
				},
			},
		},
		{
			ID: "coupon_promotion", Zh: "优惠活动", En: "Coupon or promotion",
			Rules: []Rule{
				{{
					"优惠券", "优惠卷", "优惠码", "代金券", "抵用券", "满减", "红包", "返现", "折扣", "促销",
					"活动价", "活动规则", "参加活动", "活动优惠", "赠品", "优惠没有", "没有优惠",
				}},
				{{"coupon", "voucher", "promo", "promotion", "promo code", "discount", "cashback"}},
			},
		},
		{
			ID: "membership", Zh: "会员续费", En: "Membership or auto-renewal",
			Rules: []Rule{
				{{"会员", "自动续费", "自动扣费", "续费", "包月", "包年", "订阅", "积分", "vip"}},
				{{
					"membership", "subscription", "auto renew", "auto renewal", "autorenew", "automatically renew",
					"renewed automatically", "premium plan", "loyalty points",
				}},
			},
		},
		{
			ID: "service_outage", Zh: "服务中断", En: "Service outage",
			Rules: []Rule{
				{{
					"断网", "没网", "网速慢", "网速太慢", "网络差", "信号差", "没信号", "停水", "停电", "断电", "停气",
					"没有热水",
				}},
				{{"outage", "no internet", "internet down", "no signal", "power cut", "no water", "service down"}},
			},
		},
		{
			ID: "hygiene", Zh: "卫生问题", En: "Hygiene",
			Rules: []Rule{
				{{
					"不卫生", "卫生差", "卫生问题", "卫生太差", "很脏", "太脏", "好脏", "脏乱", "脏兮兮", "蟑螂",
					"老鼠", "吃出头发", "吃出了头发", "有头发", "头发丝", "吃出虫", "有虫子", "有苍蝇",
				}},
				{{"dirty", "filthy", "unhygienic", "unsanitary", "cockroach", "roach", "hair in", "not clean"}},
			},
		},
		{
			ID: "expired_spoiled", Zh: "过期变质", En: "Expired or spoiled",
			Rules: []Rule{
				{{
					"变质", "发霉", "霉变", "长毛", "馊了", "发臭", "臭了", "过了保质期", "超过保质期", "过期食品",
					"异物",
				}},
				{
					{"过期", "临期"},
					{"食品", "食物", "吃", "喝", "奶", "药", "零食", "面包", "饮料", "商品", "产品", "生产日期", "保质期"},
				},
				{{
					"expired food", "expired product", "past the expiry", "past its expiry", "out of date",
					"moldy", "mouldy", "mold", "mould", "rotten", "spoiled", "stale", "gone off", "foreign object",
				}},
				{
					{"expired", "expiry"},
					{"food", "milk", "meat", "product", "medicine", "snack", "bread", "drink", "eat", "ate"},
				},
			},
		},
		{
			ID: "safety", Zh: "安全问题", En: "Safety hazard",
			Rules: []Rule{
				{{
					"安全隐患", "安全问题", "起火", "着火", "失火", "爆炸", "自燃", "冒烟", "漏电", "触电", "烫伤",
					"烧伤", "受伤", "划伤", "割伤", "过敏", "食物中毒", "中毒", "吃坏肚子", "拉肚子", "腹泻",
					"呕吐", "上吐下泻", "燃气泄漏", "漏气",
				}},
				{{
					"food poisoning", "poisoned", "safety hazard", "safety issue", "caught fire", "on fire",
					"explode", "explosion", "smoke", "electric shock", "allergic", "allergy", "injured", "injury",
					"hurt", "burned", "burnt", "vomit", "diarrhea", "diarrhoea", "made me sick", "got sick",
				}},
			},
		},
	}
}
