package search

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseQuery(t *testing.T) {
	t.Parallel()
	q := ParseQuery("怎么改地址")
	require.Equal(t, []string{"么改", "改地", "地址"}, q.Terms)
	require.Equal(t, []string{"改", "地", "址"}, q.Chars)
	require.True(t, ParseQuery("怎么 how to the？").Empty())
	require.Len(t, ParseQuery(strings50()).Terms, MaxQueryTerms)
}

func strings50() string {
	s := ""
	for i := range 50 {
		s += "word" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + " "
	}
	return s
}

func TestMakePlan(t *testing.T) {
	t.Parallel()
	q := Query{Terms: []string{"退款", "款多", "多久", "久到", "到账"}, Chars: []string{"退", "到"}}
	tests := []struct {
		name       string
		df         map[string]int
		n          int
		wantHead   []string
		wantSelect []string
		wantAll    bool
		wantRank   []string
	}{
		{"terms no article has are dropped; the rarest select within the budget",
			map[string]int{"退款": 400, "多久": 50, "到账": 120, "退": 900}, 100_000,
			[]string{"退款", "多久", "到账"}, []string{"多久", "到账"}, false, []string{"退款", "多久", "到账", "退"}},
		{"when even the rarest term is over the budget, candidates need every term",
			map[string]int{"退款": 3000, "到账": 800, "退": 10}, 100_000,
			[]string{"退款", "到账"}, []string{"退款", "到账"}, true, []string{"退款", "到账", "退"}},
		{"terms in more than a fifth of the articles do not rank when rarer ones are left",
			map[string]int{"退款": 30_000, "到账": 100}, 100_000,
			[]string{"到账"}, []string{"到账"}, false, []string{"到账"}},
		{"common terms still rank when nothing rarer is left",
			map[string]int{"退款": 30_000}, 100_000,
			[]string{"退款"}, []string{"退款"}, true, []string{"退款"}},
		{"with the article count unknown nothing is common",
			map[string]int{"退款": 30_000, "到账": 100}, 0,
			[]string{"退款", "到账"}, []string{"到账"}, false, []string{"退款", "到账"}},
		{"characters select when the query has nothing else",
			map[string]int{"退": 40, "到": 70}, 100_000,
			[]string{"退", "到"}, []string{"退", "到"}, false, []string{"退", "到"}},
		{"nothing known plans nothing", map[string]int{}, 100_000, nil, nil, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := MakePlan(q, tc.df, tc.n, 500)
			require.Equal(t, tc.wantHead, p.Head)
			require.Equal(t, tc.wantSelect, p.Select)
			require.Equal(t, tc.wantAll, p.SelectAll)
			require.Equal(t, tc.wantRank, p.Rank)
			require.Equal(t, tc.wantRank == nil, p.Empty())
		})
	}
}

func TestMakePlanRanksTheRarestTerms(t *testing.T) {
	t.Parallel()
	q := ParseText(strings50(), 100)
	df := map[string]int{}
	for i, term := range q.Terms {
		df[term] = 1000 - i
	}
	p := MakePlan(q, df, 0, 10)
	require.Len(t, p.Rank, MaxRankTerms)
	require.Equal(t, q.Terms[len(q.Terms)-MaxRankTerms:], p.Rank, "the rarest, in the query's order")
}

func TestTSQuery(t *testing.T) {
	t.Parallel()
	require.Equal(t, `'退款' | 'it''s' | 'a\\b'`, TSQuery([]string{"退款", "it's", `a\b`}, "|"))
	require.Equal(t, `'a' & 'b'`, TSQuery([]string{"a", "b"}, "&"))
	require.Empty(t, TSQuery(nil, "|"))
}
