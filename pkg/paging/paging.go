// Package paging is kefu's one way to page a listing (AIP-158): page sizes with a default and a cap, and
// opaque page tokens that carry a listing's cursor and are good only for the listing that made them.
package paging

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"

	"kefu.dev/pkg/apierr"
)

// Page sizes: a request's page_size of 0 means DefaultSize; values above MaxSize are coerced to it rather
// than refused.
const (
	DefaultSize = 50
	MaxSize     = 500
)

// Size applies the default and the cap to a requested page size.
func Size(requested int) int {
	switch {
	case requested <= 0:
		return DefaultSize
	case requested > MaxSize:
		return MaxSize
	default:
		return requested
	}
}

// token is what a page token encodes: the hash of the listing's scope (its filters and order, or the
// object it is over, and whose it is) and the listing's own cursor.
type token struct {
	Scope  string          `json:"s"`
	Cursor json.RawMessage `json:"c"`
}

// Encode renders cursor (a struct of plain fields: it always encodes) as the page token of the listing
// that scope names.
func Encode(cursor any, scope string) string {
	c, _ := json.Marshal(cursor)
	b, _ := json.Marshal(token{Scope: hash(scope), Cursor: c})
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode reads a token Encode made for the same scope into cursor. Anything else is InvalidArgument on
// page_token: a token garbled, made up, or made for other filters, another order, another object or
// another caller (which would silently skip or repeat rows, or show someone else's).
func Decode(tok, scope string, cursor any) error {
	var t token
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || json.Unmarshal(b, &t) != nil || len(t.Cursor) == 0 || json.Unmarshal(t.Cursor, cursor) != nil {
		return apierr.InvalidField("page_token", "is not a token this listing returned")
	}
	if t.Scope != hash(scope) {
		return apierr.InvalidField("page_token", "belongs to another listing (other filters, order or caller)")
	}
	return nil
}

func hash(scope string) string {
	sum := sha256.Sum256([]byte(scope))
	return hex.EncodeToString(sum[:8])
}
