package store

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
)

// Page sizes (AIP-158): a request's page_size of 0 means DefaultPageSize; larger values than MaxPageSize are
// coerced to it rather than refused.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// PageSize applies the default and the cap to a requested page size.
func PageSize(requested int) int {
	switch {
	case requested <= 0:
		return DefaultPageSize
	case requested > MaxPageSize:
		return MaxPageSize
	default:
		return requested
	}
}

// cursor is the position after the last row of a page: the sort key and the id that breaks ties. Only the
// fields of the listing's order are set.
type cursor struct {
	Scope    string    `json:"s"`           // hash of what the listing is over (filters and order, or the ticket)
	Created  int64     `json:"c,omitempty"` // created_at in Unix microseconds (Postgres's precision)
	Priority int16     `json:"p,omitempty"`
	Seq      int64     `json:"q,omitempty"`
	ID       uuid.UUID `json:"i"`
}

func (c cursor) createdAt() time.Time { return time.UnixMicro(c.Created).UTC() }

// scopeHash names a listing in its tokens, so a token cannot be replayed against other filters (which would
// silently skip or repeat rows).
func scopeHash(scope string) string {
	sum := sha256.Sum256([]byte(scope))
	return hex.EncodeToString(sum[:8])
}

// encodeCursor renders the opaque page token.
func encodeCursor(c cursor, scope string) string {
	c.Scope = scopeHash(scope)
	b, _ := json.Marshal(c) // a struct of plain fields always encodes
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a page token made by encodeCursor for the same scope; anything else is
// InvalidArgument on page_token.
func decodeCursor(token, scope string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return cursor{}, apierr.InvalidField("page_token", "is not a token this listing returned")
	}
	if c.Scope != scopeHash(scope) {
		return cursor{}, apierr.InvalidField("page_token", "belongs to a listing with other filters or order")
	}
	return c, nil
}
