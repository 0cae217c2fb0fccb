package topics

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNewRejectsBadLexicons(t *testing.T) {
	t.Parallel()
	ok := Topic{ID: "delivery_delay", Zh: "物流延迟", En: "Delivery delayed", Rules: []Rule{{{"物流延迟"}}}}
	with := func(change func(*Topic)) Topic {
		c := cloneTopic(ok)
		change(&c)
		return c
	}
	tests := []struct {
		name   string
		topics []Topic
		want   string
	}{
		{"no topics", nil, "no topics"},
		{"a duplicate id", []Topic{ok, with(func(t *Topic) { t.Zh = "别的" })}, "appears twice"},
		{"an id with capitals", []Topic{with(func(t *Topic) { t.ID = "DeliveryDelay" })}, "snake_case"},
		{"an id with a hyphen", []Topic{with(func(t *Topic) { t.ID = "delivery-delay" })}, "snake_case"},
		{"an id with a trailing underscore", []Topic{with(func(t *Topic) { t.ID = "delivery_" })}, "snake_case"},
		{"an empty id", []Topic{with(func(t *Topic) { t.ID = "" })}, "snake_case"},
		{"a missing chinese label", []Topic{with(func(t *Topic) { t.Zh = " " })}, "label"},
		{"a missing english label", []Topic{with(func(t *Topic) { t.En = "" })}, "label"},
		{"no rules", []Topic{with(func(t *Topic) { t.Rules = nil })}, "no rules"},
		{"a rule without concepts", []Topic{with(func(t *Topic) { t.Rules = []Rule{{}} })}, "no concepts"},
		{"a concept without terms", []Topic{with(func(t *Topic) { t.Rules = []Rule{{{"快递"}, {}}} })}, "no terms"},
		{"an empty term", []Topic{with(func(t *Topic) { t.Rules = []Rule{{{"快递", ""}}} })}, "empty once normalized"},
		{"a blank term", []Topic{with(func(t *Topic) { t.Rules = []Rule{{{"\u3000 "}}} })}, "empty once normalized"},
		{"an english term without a word", []Topic{with(func(t *Topic) { t.Rules = []Rule{{{"!?"}}} })}, "empty once normalized"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := New(tc.topics)
			require.ErrorIs(t, err, ErrInvalidLexicon)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, l)
		})
	}
}

func TestMatchRules(t *testing.T) {
	t.Parallel()
	l, err := New([]Topic{
		{ID: "delivery_delay", Zh: "物流延迟", En: "Delivery delayed", Rules: []Rule{
			{{"快递", "包裹"}, {"没到", "延迟"}},
			{{"package"}, {"hasn't arrived", "late"}},
		}},
		{ID: "wrong_item", Zh: "发错货", En: "Wrong item", Rules: []Rule{{{"发错货", "wrong item"}}}},
	})
	require.NoError(t, err)
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"every concept of a rule must occur", "快递三天了还没到", []string{"delivery_delay"}},
		{"concepts may be far apart", "我的快递，下单那天说好第二天送，现在还没到", []string{"delivery_delay"}},
		{"one concept alone is not enough", "快递员人很好", nil},
		{"the other concept alone is not enough", "还没到时间", nil},
		{"an english term matches an inflected text", "the packages are LATE", []string{"delivery_delay"}},
		{"an english multi-word term matches its words in a row", "My package hasn’t arrived yet", []string{"delivery_delay"}},
		{"an english multi-word term does not match the words apart", "package arrived? it hasn't", nil},
		{"an english term does not match inside a word", "prepackaged meals and latex gloves", nil},
		{"several topics come sorted", "发错货了，而且包裹还延迟了", []string{"delivery_delay", "wrong_item"}},
		{"a topic matched by several rules appears once", "包裹没到, package late, 快递延迟", []string{"delivery_delay"}},
		{"empty text matches nothing", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, l.Match(tc.text))
		})
	}
}

func TestMatchCapsAtMaxTopicsInLexiconOrder(t *testing.T) {
	t.Parallel()
	// Ids run against the alphabet, so the result shows both the cut (by lexicon order) and the sort.
	var topics []Topic
	var text []string
	for i := range MaxTopics + 3 {
		word := fmt.Sprintf("word%d", i)
		topics = append(topics, Topic{
			ID: fmt.Sprintf("topic_%c", 'z'-i), Zh: "话题", En: "Topic",
			Rules: []Rule{{{word}}},
		})
		text = append(text, word)
	}
	l, err := New(topics)
	require.NoError(t, err)

	got := l.Match(strings.Join(text, " "))

	require.Equal(t, []string{"topic_v", "topic_w", "topic_x", "topic_y", "topic_z"}, got)
	require.Len(t, got, MaxTopics)
	require.True(t, slices.IsSorted(got))
	require.Len(t, slices.Compact(slices.Clone(got)), len(got), "ids are unique")
}

func TestLexiconIsImmutable(t *testing.T) {
	t.Parallel()
	table := []Topic{{ID: "wrong_item", Zh: "发错货", En: "Wrong item", Rules: []Rule{{{"发错货"}}}}}
	l, err := New(table)
	require.NoError(t, err)

	table[0].ID = "changed"
	table[0].Rules[0][0][0] = "changed"
	got, ok := l.Topic("wrong_item")
	require.True(t, ok)
	got.Zh = "changed"
	got.Rules[0][0][0] = "changed"
	all := l.Topics()
	all[0].Rules[0][0][0] = "changed"

	again, ok := l.Topic("wrong_item")
	require.True(t, ok)
	require.Equal(t, Topic{ID: "wrong_item", Zh: "发错货", En: "Wrong item", Rules: []Rule{{{"发错货"}}}}, again)
	require.Equal(t, []string{"wrong_item"}, l.Match("发错货了"))
	_, ok = l.Topic("changed")
	require.False(t, ok)
}
