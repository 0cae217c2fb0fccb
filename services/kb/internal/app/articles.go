package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"kefu.dev/pkg/etag"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/paging"
	"kefu.dev/services/kb/internal/domain/article"
	"kefu.dev/services/kb/internal/store"
)

// CreateArticle writes a draft authored by the caller. claim makes it idempotent: a repeat returns the
// first article.
func (a *App) CreateArticle(ctx context.Context, claim idempotency.Claim, c article.Content) (*article.Article, error) {
	c, err := c.Normalize("article.")
	if err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	now := a.clock.Now().UTC()
	art := article.New(id, c, actorOf(ctx), now)
	repeat := false
	err = a.st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		claim.ResourceID = id.String()
		got, err := claim.Claim(ctx, tx.Raw(), now)
		if err != nil {
			return err
		}
		if got != "" {
			repeat = true
			art.ID, err = uuid.Parse(got)
			return err
		}
		return tx.InsertArticle(ctx, art)
	})
	if err != nil {
		return nil, err
	}
	if repeat {
		return a.st.GetArticle(ctx, art.ID)
	}
	return art, nil
}

// GetArticle reads an article the caller may see.
func (a *App) GetArticle(ctx context.Context, id uuid.UUID) (*article.Article, error) {
	art, err := a.st.GetArticle(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(ctx, art) {
		return nil, notFound(id)
	}
	return art, nil
}

func notFound(id uuid.UUID) error {
	return store.NotFoundArticle(id)
}

// ListFilter filters ListArticles.
type ListFilter struct {
	Status                article.Status // "" for every status the caller may see
	Language, Tag, Subcat string
}

// ListArticles returns a page of the articles the caller may see, newest first.
func (a *App) ListArticles(ctx context.Context, f ListFilter, size int, token string) ([]*article.Article, string, error) {
	size = paging.Size(size)
	statuses := []article.Status{article.Published}
	if writer(ctx) {
		statuses = []article.Status{article.Draft, article.Published, article.Archived}
	}
	if f.Status != "" {
		if !slices.Contains(statuses, f.Status) {
			return nil, "", nil
		}
		statuses = []article.Status{f.Status}
	}
	sf := store.ArticleFilter{Statuses: statuses, Language: f.Language, Tag: strings.ToLower(strings.TrimSpace(f.Tag)), Subcat: f.Subcat}
	scope := fmt.Sprintf("articles:%v:%s:%s:%s", statuses, sf.Language, sf.Tag, sf.Subcat)
	var before uuid.UUID
	if token != "" {
		if err := paging.Decode(token, scope, &before); err != nil {
			return nil, "", err
		}
	}
	as, err := a.st.ListArticles(ctx, sf, before, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(as) > size {
		as = as[:size]
		next = paging.Encode(as[size-1].ID, scope)
	}
	return as, next, nil
}

// UpdateArticle changes the content fields named in paths (already checked against the updatable ones),
// given the etag the caller read. A change of content makes a new version.
func (a *App) UpdateArticle(ctx context.Context, id uuid.UUID, c article.Content, paths []string, tag string) (*article.Article, error) {
	var art *article.Article
	err := a.st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		cur, err := tx.LockArticle(ctx, id)
		if err != nil {
			return err
		}
		if err := etag.Check("article.etag", tag, cur.Revision, "article"); err != nil {
			return err
		}
		// The fields named take c's values, the others keep theirs; the whole is checked.
		merged := cur.Content
		for _, p := range paths {
			switch p {
			case "title":
				merged.Title = c.Title
			case "body":
				merged.Body = c.Body
			case "tags":
				merged.Tags = c.Tags
			case "subcategories":
				merged.Subcategories = c.Subcategories
			case "language":
				merged.Language = c.Language
			}
		}
		norm, err := merged.Normalize("article.")
		if err != nil {
			return err
		}
		changed, err := cur.Edit(norm, paths, actorOf(ctx), a.clock.Now().UTC())
		if err != nil {
			return err
		}
		art = cur
		if !changed {
			return nil
		}
		return tx.SaveArticle(ctx, cur, true)
	})
	if err != nil {
		return nil, err
	}
	return art, nil
}

// SetStatus publishes, archives or restores an article, given the etag the caller read when set.
func (a *App) SetStatus(ctx context.Context, id uuid.UUID, action article.Action, tag string) (*article.Article, error) {
	var art *article.Article
	err := a.st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		cur, err := tx.LockArticle(ctx, id)
		if err != nil {
			return err
		}
		if tag != "" {
			if err := etag.Check("etag", tag, cur.Revision, "article"); err != nil {
				return err
			}
		}
		actor, now := actorOf(ctx), a.clock.Now().UTC()
		switch action {
		case article.ActionPublish:
			err = cur.Publish(actor, now)
		case article.ActionArchive:
			err = cur.Archive(actor, now)
		case article.ActionRestore:
			err = cur.Restore(actor, now)
		default:
			err = fmt.Errorf("unknown status action %q", action)
		}
		if err != nil {
			return err
		}
		art = cur
		return tx.SaveArticle(ctx, cur, false)
	})
	if err != nil {
		return nil, err
	}
	return art, nil
}

// ListVersions returns a page of an article's versions, newest first, without bodies.
func (a *App) ListVersions(ctx context.Context, id uuid.UUID, size int, token string) ([]store.Version, string, error) {
	if _, err := a.GetArticle(ctx, id); err != nil {
		return nil, "", err
	}
	size = paging.Size(size)
	scope := "versions:" + id.String()
	before := 0
	if token != "" {
		if err := paging.Decode(token, scope, &before); err != nil {
			return nil, "", err
		}
	}
	vs, err := a.st.ListVersions(ctx, id, before, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(vs) > size {
		vs = vs[:size]
		next = paging.Encode(vs[size-1].Version, scope)
	}
	return vs, next, nil
}

// GetVersion returns one version of an article the caller may see.
func (a *App) GetVersion(ctx context.Context, id uuid.UUID, version int) (store.Version, error) {
	if _, err := a.GetArticle(ctx, id); err != nil {
		return store.Version{}, err
	}
	return a.st.GetVersion(ctx, id, version)
}
