package app

import (
	"context"

	"github.com/google/uuid"

	"kefu.dev/pkg/etag"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/paging"
	"kefu.dev/services/kb/internal/domain/canned"
	"kefu.dev/services/kb/internal/store"
)

// CreateCanned adds a canned response to a group. claim makes it idempotent.
func (a *App) CreateCanned(ctx context.Context, claim idempotency.Claim, group uuid.UUID, r canned.Response) (store.CannedRow, error) {
	r, err := r.Normalize("canned_response.")
	if err != nil {
		return store.CannedRow{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return store.CannedRow{}, err
	}
	now, actor := a.clock.Now().UTC(), actorOf(ctx)
	row := store.CannedRow{ID: id, GroupID: group, Response: r, CreateActor: actor, CreatedAt: now, UpdateActor: actor,
		UpdatedAt: now, Revision: 1}
	repeat := false
	err = a.st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		claim.ResourceID = id.String()
		got, err := claim.Claim(ctx, tx.Raw(), now)
		if err != nil {
			return err
		}
		if got != "" {
			repeat = true
			row.ID, err = uuid.Parse(got)
			return err
		}
		return tx.InsertCanned(ctx, row)
	})
	if err != nil {
		return store.CannedRow{}, err
	}
	if repeat {
		return a.st.GetCanned(ctx, row.ID)
	}
	return row, nil
}

// GetCanned reads a canned response.
func (a *App) GetCanned(ctx context.Context, id uuid.UUID) (store.CannedRow, error) {
	return a.st.GetCanned(ctx, id)
}

// ListCanned returns a page of a group's canned responses by title.
func (a *App) ListCanned(ctx context.Context, group uuid.UUID, size int, token string) ([]store.CannedRow, string, error) {
	size = paging.Size(size)
	scope := "canned:" + group.String()
	var after *store.CannedCursor
	if token != "" {
		after = &store.CannedCursor{}
		if err := paging.Decode(token, scope, after); err != nil {
			return nil, "", err
		}
	}
	cs, err := a.st.ListCanned(ctx, group, after, size+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(cs) > size {
		cs = cs[:size]
		last := cs[size-1]
		next = paging.Encode(store.CannedCursor{Title: last.Title, ID: last.ID}, scope)
	}
	return cs, next, nil
}

// UpdateCanned changes the fields named in paths (title, body), given the etag the caller read.
func (a *App) UpdateCanned(ctx context.Context, id uuid.UUID, r canned.Response, paths []string, tag string) (store.CannedRow, error) {
	var out store.CannedRow
	err := a.st.InTx(ctx, func(ctx context.Context, tx *store.Tx) error {
		cur, err := tx.LockCanned(ctx, id)
		if err != nil {
			return err
		}
		if err := etag.Check("canned_response.etag", tag, cur.Revision, "canned response"); err != nil {
			return err
		}
		next := cur.Response
		for _, p := range paths {
			switch p {
			case "title":
				next.Title = r.Title
			case "body":
				next.Body = r.Body
			}
		}
		if next, err = next.Normalize("canned_response."); err != nil {
			return err
		}
		if next == cur.Response {
			out = cur
			return nil
		}
		cur.Response, cur.UpdateActor, cur.UpdatedAt = next, actorOf(ctx), a.clock.Now().UTC()
		cur.Revision++
		out = cur
		return tx.SaveCanned(ctx, cur)
	})
	return out, err
}

// DeleteCanned removes a canned response.
func (a *App) DeleteCanned(ctx context.Context, id uuid.UUID) error {
	return a.st.DeleteCanned(ctx, id)
}

// RenderCanned fills a canned response's variables from a ticket the caller may see.
func (a *App) RenderCanned(ctx context.Context, id, ticketID uuid.UUID) (string, error) {
	c, err := a.st.GetCanned(ctx, id)
	if err != nil {
		return "", err
	}
	t, err := a.ticket(ctx, ticketID)
	if err != nil {
		return "", err
	}
	return canned.Render(c.Body, map[string]string{"ticket_number": t.Number, "subject": t.Subject}), nil
}
