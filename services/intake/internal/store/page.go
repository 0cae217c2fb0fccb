package store

import (
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/paging"
)

// PageSize applies the default and the cap to a requested page size (see paging.Size).
func PageSize(requested int) int { return paging.Size(requested) }

// cursor is the position after the last row of a page: the sort key and the id that breaks ties. Only the
// fields of the listing's order are set.
type cursor struct {
	Created  int64     `json:"c,omitempty"` // created_at in Unix microseconds (Postgres's precision)
	Priority int16     `json:"p,omitempty"`
	Seq      int64     `json:"q,omitempty"`
	ID       uuid.UUID `json:"i"`
}

func (c cursor) createdAt() time.Time { return time.UnixMicro(c.Created).UTC() }

// encodeCursor renders the opaque page token of the listing scope names (see paging).
func encodeCursor(c cursor, scope string) string { return paging.Encode(c, scope) }

// decodeCursor reads a page token made by encodeCursor for the same scope; anything else is
// InvalidArgument on page_token.
func decodeCursor(token, scope string) (cursor, error) {
	var c cursor
	if err := paging.Decode(token, scope, &c); err != nil {
		return cursor{}, err
	}
	return c, nil
}
