package search

// Stop lists are small on purpose: they drop words that occur in nearly every question or article and
// carry no topic ("how do I", "请问怎么"). Everything else common is weighed by document frequency at
// query time (see Plan), which knows the corpus.

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// stopWords are English function words, folded (before stemming).
var stopWords = set(
	"a", "about", "am", "an", "and", "any", "are", "as", "at", "be", "been", "being", "but", "by", "can",
	"could", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her", "here", "his", "how", "i",
	"if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "please", "she", "should",
	"so", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to",
	"us", "was", "we", "were", "what", "when", "where", "which", "who", "why", "will", "with", "would",
	"you", "your", "yours",
)

// stopBigrams are Chinese function words and question phrases of two characters.
var stopBigrams = set(
	"怎么", "怎样", "什么", "如何", "请问", "为什", "可以", "一下", "是否", "我的", "你的", "您的", "我们", "你们",
	"这个", "那个", "的话", "您好", "你好", "谢谢",
)

// stopChars are Chinese particles and pronouns that say nothing alone (characters that also build real
// words, such as 地 in 地址, are not here).
var stopChars = set(
	"的", "了", "吗", "呢", "吧", "啊", "呀", "哦", "嘛", "是", "在", "和", "与", "及", "或", "我", "你", "您",
	"他", "她", "它", "们", "这", "那", "个", "么", "怎", "什", "请", "问",
)
