package apikeys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"kefu.dev/pkg/paging"
)

// Page sizes (AIP-158); see paging.
const (
	DefaultPageSize = paging.DefaultSize
	MaxPageSize     = paging.MaxSize
)

// PageSize applies the default and the cap to a requested page size.
func PageSize(requested int) int { return paging.Size(requested) }

// Filter selects keys; the zero Filter lists every active key.
type Filter struct {
	PrincipalID     string // "": every principal
	IncludeInactive bool   // also revoked and expired keys
}

// Page is one page of a key listing.
type Page struct {
	Keys          []Key
	NextPageToken string // "" on the last page
}

// List returns one page of the keys matching f, newest first ((created_at, key_id) descending), after the
// position pageToken names. It reads one row more than the page to know whether another follows, and seeks
// with a row comparison on the order's index rather than an OFFSET. A token from a listing with other
// filters, or not from a listing at all, is InvalidArgument on page_token.
func (s *Store) List(ctx context.Context, f Filter, pageSize int, pageToken string) (Page, error) {
	size := PageSize(pageSize)
	scope := filterHash(f)
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.PrincipalID != "" {
		where = append(where, "principal_id = "+arg(f.PrincipalID))
	}
	if !f.IncludeInactive {
		where = append(where, "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > "+arg(s.now())+")")
	}
	if pageToken != "" {
		c, err := decodeCursor(pageToken, scope)
		if err != nil {
			return Page{}, err
		}
		where = append(where, "(created_at, key_id) < ("+arg(c.createdAt())+", "+arg(c.ID)+")")
	}
	q := `SELECT ` + keyColumns + ` FROM api_keys`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY created_at DESC, key_id DESC LIMIT ` + arg(size+1)

	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("list API keys: %w", err)
	}
	defer rows.Close()
	var page Page
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return Page{}, fmt.Errorf("list API keys: %w", err)
		}
		page.Keys = append(page.Keys, k)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("list API keys: %w", err)
	}
	if len(page.Keys) > size {
		page.Keys = page.Keys[:size]
		last := page.Keys[size-1]
		page.NextPageToken = encodeCursor(cursor{Created: last.CreatedAt.UnixMicro(), ID: last.ID}, scope)
	}
	return page, nil
}

// cursor is the position after the last key of a page: its sort key and id, and the hash of the filters
// it belongs to.
type cursor struct {
	Created int64  `json:"c"` // created_at in Unix microseconds (Postgres's precision)
	ID      string `json:"i"`
}

func (c cursor) createdAt() time.Time { return time.UnixMicro(c.Created).UTC() }

// filterHash names a listing's filters in its tokens, so a token cannot be replayed against other filters
// (which would silently skip or repeat keys).
func filterHash(f Filter) string {
	b, _ := json.Marshal(f) // plain fields: always encodes, deterministically
	sum := sha256.Sum256(append([]byte("api_keys\x00"), b...))
	return hex.EncodeToString(sum[:8])
}

func encodeCursor(c cursor, scope string) string { return paging.Encode(c, scope) }

func decodeCursor(token, scope string) (cursor, error) {
	var c cursor
	if err := paging.Decode(token, scope, &c); err != nil {
		return cursor{}, err
	}
	return c, nil
}
