package surge

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// h0 is the current hour of every case, a Monday; now is half past it.
var (
	h0  = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	now = h0.Add(30 * time.Minute)
	cfg = Config{Factor: 3, MinTickets: 20, BaselineWeeks: 4}
)

func hour(n int) time.Time { return h0.Add(time.Duration(n) * time.Hour) }

// count is tickets of value in the hour `at` hours from h0, or in the same hour `weeksAgo` weeks earlier.
type count struct {
	value    string
	at       int
	weeksAgo int
	n        int64
}

// weekly gives value n tickets in the hour `at` of each of the previous four weeks.
func weekly(value string, at int, n ...int64) []count {
	var out []count
	for k, v := range n {
		out = append(out, count{value: value, at: at, weeksAgo: k + 1, n: v})
	}
	return out
}

func counts(cs ...[]count) *Counts {
	c := NewCounts()
	for _, group := range cs {
		for _, x := range group {
			c.Add(x.value, hour(x.at).Add(-time.Duration(x.weeksAgo)*week), x.n)
		}
	}
	return c
}

func cur(value string, at int, n int64) []count { return []count{{value: value, at: at, n: n}} }

// active is a web_chat surge that began `since` hours from h0, last over at `lastOver`, with peak.
func active(since, lastOver int, peak int64) Surge {
	return Surge{Dimension: Channel, Value: "web_chat", Since: hour(since), Active: true, Tickets: 31, Baseline: 10,
		Factor: 3, Peak: peak, LastOver: hour(lastOver), DetectedAt: hour(since).Add(5 * time.Minute)}
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	cleared := func(s Surge, until int, peak int64) Surge {
		s.Active, s.Until, s.ClearedAt, s.Peak, s.LastOver = false, hour(until), now, peak, hour(until-1)
		return s
	}
	updated := func(s Surge, lastOver int, peak int64) Surge {
		s.LastOver, s.Peak = hour(lastOver), peak
		return s
	}
	tests := []struct {
		name   string
		dim    Dimension
		active []Surge
		counts *Counts
		want   []Change
	}{
		{
			name:   "a channel over three times its baseline and over the minimum fires",
			dim:    Channel,
			counts: counts(weekly("web_chat", 0, 10, 10, 10, 10), cur("web_chat", 0, 31), cur("email", 0, 4)),
			want: []Change{{Kind: Fired, Surge: Surge{Dimension: Channel, Value: "web_chat", Since: h0, Active: true,
				Tickets: 31, Baseline: 10, Factor: 3, Peak: 31, LastOver: h0, DetectedAt: now}}},
		},
		{
			name:   "a channel at exactly its threshold does not fire",
			dim:    Channel,
			counts: counts(weekly("web_chat", 0, 10, 10, 10, 10), cur("web_chat", 0, 30)),
		},
		{
			name:   "volume far above a small baseline but not above the minimum does not fire",
			dim:    Channel,
			counts: counts(weekly("web_chat", 0, 1, 1, 1, 1), cur("web_chat", 0, 20)),
		},
		{
			name:   "a value without history fires once over the minimum, with baseline 0",
			dim:    Subcategory,
			counts: counts(cur("return_exchange", 0, 21)),
			want: []Change{{Kind: Fired, Surge: Surge{Dimension: Subcategory, Value: "return_exchange", Since: h0, Active: true,
				Tickets: 21, Baseline: 0, Factor: 3, Peak: 21, LastOver: h0, DetectedAt: now}}},
		},
		{
			name:   "weeks without tickets count as 0 in the baseline",
			dim:    Channel,
			counts: counts(weekly("web_chat", 0, 40), cur("web_chat", 0, 31)),
			want: []Change{{Kind: Fired, Surge: Surge{Dimension: Channel, Value: "web_chat", Since: h0, Active: true,
				Tickets: 31, Baseline: 10, Factor: 3, Peak: 31, LastOver: h0, DetectedAt: now}}},
		},
		{
			name:   "the empty subcategory never fires",
			dim:    Subcategory,
			counts: counts(cur("", 0, 500)),
		},
		{
			name:   "an active surge still over at the same volume stays and changes nothing",
			dim:    Channel,
			active: []Surge{active(0, 0, 31)},
			counts: counts(weekly("web_chat", 0, 10, 10, 10, 10), cur("web_chat", 0, 31)),
		},
		{
			name:   "an active surge does not fire a second one for its value",
			dim:    Channel,
			active: []Surge{active(0, 0, 60)},
			counts: counts(cur("web_chat", 0, 60)),
		},
		{
			name:   "the peak follows the current hour",
			dim:    Channel,
			active: []Surge{active(0, 0, 31)},
			counts: counts(weekly("web_chat", 0, 10, 10, 10, 10), cur("web_chat", 0, 45)),
			want:   []Change{{Kind: Updated, Surge: updated(active(0, 0, 31), 0, 45)}},
		},
		{
			name:   "a new hour over moves the last hour over and the peak",
			dim:    Channel,
			active: []Surge{active(-1, -1, 40)},
			counts: counts(cur("web_chat", -1, 40), cur("web_chat", 0, 50)),
			want:   []Change{{Kind: Updated, Surge: updated(active(-1, -1, 40), 0, 50)}},
		},
		{
			name:   "it clears once the previous hour fell back and the current one is not over",
			dim:    Channel,
			active: []Surge{active(-2, -2, 40)},
			counts: counts(cur("web_chat", -2, 40), cur("web_chat", -1, 5), cur("web_chat", 0, 3)),
			want:   []Change{{Kind: Cleared, Surge: cleared(active(-2, -2, 40), -1, 40)}},
		},
		{
			name:   "it does not clear while the current hour is still over",
			dim:    Channel,
			active: []Surge{active(-1, -1, 40)},
			counts: counts(cur("web_chat", -1, 5), cur("web_chat", 0, 35)),
			want:   []Change{{Kind: Updated, Surge: updated(active(-1, -1, 40), 0, 40)}},
		},
		{
			name:   "it does not clear while the previous hour is still over",
			dim:    Channel,
			active: []Surge{active(-1, -1, 40)},
			counts: counts(cur("web_chat", -1, 40), cur("web_chat", 0, 2)),
		},
		{
			name:   "it does not clear in the hour it began, even if that hour's count fell",
			dim:    Channel,
			active: []Surge{active(0, 0, 31)},
			counts: counts(cur("web_chat", 0, 3)),
		},
		{
			name:   "after an outage it ends at the last hour over in the hours missed",
			dim:    Channel,
			active: []Surge{active(-5, -5, 40)},
			counts: counts(cur("web_chat", -5, 40), cur("web_chat", -4, 50), cur("web_chat", -3, 25), cur("web_chat", -2, 3),
				cur("web_chat", -1, 2), cur("web_chat", 0, 1)),
			want: []Change{{Kind: Cleared, Surge: cleared(active(-5, -5, 40), -2, 50)}},
		},
		{
			name:   "the peak leaves out a busier hour after the last one over that stayed under its own threshold",
			dim:    Channel,
			active: []Surge{active(-2, -2, 40)},
			counts: counts(cur("web_chat", -2, 40), weekly("web_chat", -1, 30, 30, 30, 30), cur("web_chat", -1, 60), cur("web_chat", 0, 0)),
			want:   []Change{{Kind: Cleared, Surge: cleared(active(-2, -2, 40), -1, 40)}},
		},
		{
			name:   "an evaluation of subcategories leaves channel surges alone",
			dim:    Subcategory,
			active: []Surge{active(-2, -2, 40)},
			counts: counts(cur("web_chat", 0, 0)),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, cfg.Evaluate(tc.dim, now, tc.active, tc.counts))
		})
	}
}

func TestReadsCoversWindowsAndBaselines(t *testing.T) {
	t.Parallel()
	c := Config{Factor: 3, MinTickets: 20, BaselineWeeks: 1}
	got := c.Reads(Channel, now, []Surge{active(-2, -2, 40)})
	w := func(n int) time.Time { return hour(n).Add(-week) }
	require.Equal(t, []time.Time{w(-2), w(-1), w(0), hour(-2), hour(-1), hour(0)}, got)
	require.Equal(t, []time.Time{w(-1), w(0), hour(-1), hour(0)}, c.Reads(Channel, now, nil), "no surge: the current and previous hours")
	require.Equal(t, c.Reads(Subcategory, now, nil), c.Reads(Subcategory, now, []Surge{active(-2, -2, 40)}), "another dimension's surge")
}

func TestRatioIsZeroWithoutBaseline(t *testing.T) {
	t.Parallel()
	require.Equal(t, 0.0, Surge{Tickets: 21}.Ratio())
	require.Equal(t, 3.1, Surge{Tickets: 31, Baseline: 10}.Ratio())
}
