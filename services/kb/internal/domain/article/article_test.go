package article

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
)

var now = time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC)

func valid() Content {
	return Content{Title: "退款到账时间", Body: "退款会在3到7个工作日到账。", Tags: []string{"退款"}, Subcategories: []string{"request.refund"}, Language: LangZh}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		edit   func(c *Content)
		fields []string
	}{
		{"a valid article passes", func(c *Content) {}, nil},
		{"a blank title is refused", func(c *Content) { c.Title = "  " }, []string{"article.title"}},
		{"a long title is refused", func(c *Content) { c.Title = strings.Repeat("长", MaxTitleRunes+1) }, []string{"article.title"}},
		{"an empty body is refused", func(c *Content) { c.Body = "" }, []string{"article.body"}},
		{"a body over 100,000 characters is refused", func(c *Content) { c.Body = strings.Repeat("字", MaxBodyRunes+1) }, []string{"article.body"}},
		{"a blank tag is refused by index", func(c *Content) { c.Tags = []string{"ok", " "} }, []string{"article.tags[1]"}},
		{"too many tags are refused", func(c *Content) {
			c.Tags = nil
			for i := range MaxTags + 1 {
				c.Tags = append(c.Tags, strings.Repeat("t", i+1))
			}
		}, []string{"article.tags"}},
		{"a subcategory without its type is refused", func(c *Content) { c.Subcategories = []string{"refund"} }, []string{"article.subcategories[0]"}},
		{"a subcategory of an unknown type is refused", func(c *Content) { c.Subcategories = []string{"other.refund"} }, []string{"article.subcategories[0]"}},
		{"an unknown language is refused", func(c *Content) { c.Language = "fr" }, []string{"article.language"}},
		{"every bad field is reported", func(c *Content) { c.Title, c.Language = "", "" }, []string{"article.title", "article.language"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tc.edit(&c)
			_, err := c.Normalize("article.")
			if tc.fields == nil {
				require.NoError(t, err)
				return
			}
			e, ok := apierr.As(err)
			require.True(t, ok)
			require.Equal(t, apierr.KindInvalidArgument, e.Kind)
			var got []string
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
			require.Equal(t, tc.fields, got)
		})
	}
}

func TestNormalizeCleans(t *testing.T) {
	t.Parallel()
	c := valid()
	c.Title, c.Tags, c.Subcategories = "  退款  ", []string{" VIP ", "vip", "退款"}, []string{"request.refund", "request.refund"}
	got, err := c.Normalize("article.")
	require.NoError(t, err)
	require.Equal(t, "退款", got.Title)
	require.Equal(t, []string{"vip", "退款"}, got.Tags)
	require.Equal(t, []string{"request.refund"}, got.Subcategories)
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		from  Status
		act   func(a *Article) error
		to    Status
		legal bool
	}{
		{"a draft is published", Draft, func(a *Article) error { return a.Publish("staff:s", now) }, Published, true},
		{"a published article cannot be published again", Published, func(a *Article) error { return a.Publish("staff:s", now) }, Published, false},
		{"an archived article cannot be published without a restore", Archived, func(a *Article) error { return a.Publish("staff:s", now) }, Archived, false},
		{"a draft is archived", Draft, func(a *Article) error { return a.Archive("staff:s", now) }, Archived, true},
		{"a published article is archived", Published, func(a *Article) error { return a.Archive("staff:s", now) }, Archived, true},
		{"an archived article cannot be archived again", Archived, func(a *Article) error { return a.Archive("staff:s", now) }, Archived, false},
		{"an archived article is restored as a draft", Archived, func(a *Article) error { return a.Restore("staff:s", now) }, Draft, true},
		{"a draft cannot be restored", Draft, func(a *Article) error { return a.Restore("staff:s", now) }, Draft, false},
		{"an archived article cannot be edited", Archived, func(a *Article) error {
			_, err := a.Edit(valid(), []string{"title"}, "staff:s", now)
			return err
		}, Archived, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := New(uuid.New(), valid(), "staff:a", now.Add(-time.Hour))
			a.Status = tc.from
			rev := a.Revision
			err := tc.act(a)
			require.Equal(t, tc.to, a.Status)
			if tc.legal {
				require.NoError(t, err)
				require.Equal(t, rev+1, a.Revision)
				return
			}
			var te *TransitionError
			require.ErrorAs(t, err, &te)
			require.Equal(t, tc.from, te.From)
			e, ok := apierr.As(err)
			require.True(t, ok)
			require.Equal(t, apierr.KindFailedPrecondition, e.Kind)
			require.Equal(t, ReasonIllegalTransition, e.Reason)
			require.Equal(t, string(tc.from), e.Meta["current_state"])
			require.Contains(t, e.Message, string(tc.from))
			require.Equal(t, rev, a.Revision)
		})
	}
}

func TestEditMakesAVersionOnlyWhenTheContentChanges(t *testing.T) {
	t.Parallel()
	a := New(uuid.New(), valid(), "staff:a", now)
	changed, err := a.Edit(Content{Title: "退款到账时间"}, []string{"title"}, "staff:b", now)
	require.NoError(t, err)
	require.False(t, changed, "the same title is no change")
	require.Equal(t, 1, a.Version)

	changed, err = a.Edit(Content{Title: "退款多久到账", Tags: []string{"ignored"}}, []string{"title"}, "staff:b", now.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, changed)
	require.Equal(t, 2, a.Version)
	require.Equal(t, "退款多久到账", a.Title)
	require.Equal(t, []string{"退款"}, a.Tags, "paths not in the mask are kept")
	require.Equal(t, "staff:b", a.UpdateActor)

	_, err = a.Edit(Content{}, []string{"status"}, "staff:b", now)
	require.True(t, errors.As(err, new(*apierr.Error)))
}
