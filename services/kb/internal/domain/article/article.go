// Package article is the knowledge base's article model in plain Go: an article's content (title,
// Markdown body, tags, linked subcategories, language) and its rules, its status (draft, published,
// archived) and the transitions between them, and when an edit makes a new version. Errors are
// *apierr.Error values naming the request field ("article.title") or the current state.
package article

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
)

// Limits of an article's content.
const (
	MaxTitleRunes       = 200
	MaxBodyRunes        = 100_000
	MaxTags             = 20
	MaxTagRunes         = 40
	MaxSubcategories    = 20
	maxSubcategoryBytes = 80
)

// Languages an article may be written in.
const (
	LangZh = "zh-CN"
	LangEn = "en"
)

// Content is what an article says: every change of it is a new version.
type Content struct {
	Title string
	// Body is Markdown.
	Body string
	Tags []string
	// Subcategories are full taxonomy codes ("request.refund") the article answers.
	Subcategories []string
	Language      string
}

// Equal reports whether c and o say the same.
func (c Content) Equal(o Content) bool {
	return c.Title == o.Title && c.Body == o.Body && c.Language == o.Language &&
		slices.Equal(c.Tags, o.Tags) && slices.Equal(c.Subcategories, o.Subcategories)
}

// Normalize checks c and returns it cleaned: title trimmed, tags trimmed, lower-cased and without
// duplicates, subcategories without duplicates. Every bad field is reported, named under prefix
// ("article.").
func (c Content) Normalize(prefix string) (Content, error) {
	var vs []apierr.FieldViolation
	bad := func(field, format string, args ...any) {
		vs = append(vs, apierr.FieldViolation{Field: prefix + field, Description: fmt.Sprintf(format, args...)})
	}
	c.Title = strings.TrimSpace(c.Title)
	if msg := checkText(c.Title, MaxTitleRunes, true); msg != "" {
		bad("title", "%s", msg)
	}
	if msg := checkText(c.Body, MaxBodyRunes, true); msg != "" {
		bad("body", "%s", msg)
	}
	tags := make([]string, 0, len(c.Tags))
	for i, t := range c.Tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if msg := checkText(t, MaxTagRunes, true); msg != "" {
			bad(fmt.Sprintf("tags[%d]", i), "%s", msg)
			continue
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if len(tags) > MaxTags {
		bad("tags", "has more than %d tags", MaxTags)
	}
	c.Tags = tags
	subs := make([]string, 0, len(c.Subcategories))
	for i, s := range c.Subcategories {
		if !ValidSubcategory(s) {
			bad(fmt.Sprintf("subcategories[%d]", i), "must be a full subcategory code <type>.<code> such as request.refund")
			continue
		}
		if !slices.Contains(subs, s) {
			subs = append(subs, s)
		}
	}
	if len(subs) > MaxSubcategories {
		bad("subcategories", "has more than %d subcategories", MaxSubcategories)
	}
	c.Subcategories = subs
	if c.Language != LangZh && c.Language != LangEn {
		bad("language", "must be zh-CN or en")
	}
	if len(vs) > 0 {
		return Content{}, apierr.InvalidFields(vs...)
	}
	return c, nil
}

func checkText(s string, maxRunes int, required bool) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "contains a NUL byte"
	case utf8.RuneCountInString(s) > maxRunes:
		return fmt.Sprintf("is longer than %d characters", maxRunes)
	case required && strings.TrimSpace(s) == "":
		return "is required"
	}
	return ""
}

// types are the ticket types of intake's taxonomy; a subcategory code is "<type>.<code>".
var types = []string{"inquiry", "complaint", "request", "suggestion"}

// ValidSubcategory reports whether s has the shape of a full subcategory code: a ticket type, a dot, and a
// lower snake code (intake's taxonomy rules). Whether intake has the subcategory is not checked: the
// taxonomy changes, and an article may be written before its subcategory exists.
func ValidSubcategory(s string) bool {
	typ, code, ok := strings.Cut(s, ".")
	if !ok || len(s) > maxSubcategoryBytes || !slices.Contains(types, typ) || code == "" {
		return false
	}
	if code[0] < 'a' || code[0] > 'z' || code[len(code)-1] == '_' || strings.Contains(code, "__") {
		return false
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Article is an article's current state.
type Article struct {
	ID uuid.UUID
	Content
	Status Status
	// Author is who created it ("<kind>:<id>").
	Author string
	// Version counts content changes: 1 at creation, one more for each edit that changed the content.
	Version int
	// Revision counts every change (content or status): the etag.
	Revision    int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	UpdateActor string
	PublishedAt time.Time // the latest publication; zero if never published
	ArchivedAt  time.Time // zero unless archived
}

// New returns a draft of c (already normalized) by author, version 1.
func New(id uuid.UUID, c Content, author string, now time.Time) *Article {
	return &Article{ID: id, Content: c, Status: Draft, Author: author, Version: 1, Revision: 1, CreatedAt: now,
		UpdatedAt: now, UpdateActor: author}
}

// Edit replaces the fields of the content named in paths (title, body, tags, subcategories, language)
// with c's (already normalized). It reports whether the content changed, which makes a new version. An
// archived article cannot be edited.
func (a *Article) Edit(c Content, paths []string, actor string, now time.Time) (bool, error) {
	if a.Status == Archived {
		return false, &TransitionError{From: a.Status, Action: ActionEdit}
	}
	next := a.Content
	next.Tags, next.Subcategories = slices.Clone(next.Tags), slices.Clone(next.Subcategories)
	for _, p := range paths {
		switch p {
		case "title":
			next.Title = c.Title
		case "body":
			next.Body = c.Body
		case "tags":
			next.Tags = c.Tags
		case "subcategories":
			next.Subcategories = c.Subcategories
		case "language":
			next.Language = c.Language
		default:
			return false, apierr.InvalidField("update_mask", "unknown path "+p)
		}
	}
	if next.Equal(a.Content) {
		return false, nil
	}
	a.Content = next
	a.Version++
	a.touch(actor, now)
	return true, nil
}

func (a *Article) touch(actor string, now time.Time) {
	a.Revision++
	a.UpdatedAt, a.UpdateActor = now, actor
}

// UpdatablePaths are the update_mask paths of UpdateArticle; OutputOnlyPaths are ignored there.
var (
	UpdatablePaths  = []string{"title", "body", "tags", "subcategories", "language"}
	OutputOnlyPaths = []string{"article_id", "status", "author", "version", "create_time", "update_time", "update_actor",
		"publish_time", "archive_time", "etag"}
)
