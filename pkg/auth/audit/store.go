package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/paging"
)

// Page sizes (AIP-158); see paging.
const (
	DefaultPageSize = paging.DefaultSize
	MaxPageSize     = paging.MaxSize
)

// PageSize applies the default and the cap to a requested page size.
func PageSize(requested int) int { return paging.Size(requested) }

// Filter selects records; every set field must match, and the zero Filter selects all.
type Filter struct {
	Principal  string // "<kind>:<id>"
	Method     string // full gRPC method
	ObjectType string // ticket, customer, ...
	ObjectID   string
	Result     string    // gRPC code name
	Kind       Kind      // "": either kind
	Start      time.Time // records at or after; zero: no lower bound
	End        time.Time // records before; zero: no upper bound
}

// Page is one page of a listing.
type Page struct {
	Records       []Record
	NextPageToken string // "" on the last page
}

// Store reads the audit_records table of the pool's schema.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// List returns one page of the records matching f, newest first ((at, record_id) descending), after the
// position pageToken names. It reads one row more than the page to know whether another follows and seeks
// with a row comparison on the order's index, never an OFFSET. Errors: InvalidArgument on end_time when
// f.Start is after f.End, on kind for an unknown kind, and on page_token for a token not from a listing
// with the same filters.
func (s *Store) List(ctx context.Context, f Filter, pageSize int, pageToken string) (Page, error) {
	f, err := normalize(f)
	if err != nil {
		return Page{}, err
	}
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
	if f.Principal != "" {
		where = append(where, "principal = "+arg(f.Principal))
	}
	if f.Method != "" {
		where = append(where, "method = "+arg(f.Method))
	}
	if f.ObjectType != "" {
		where = append(where, "object_type = "+arg(f.ObjectType))
	}
	if f.ObjectID != "" {
		// The repeated predicate lets a generic plan, which cannot see the parameter, use the partial index.
		where = append(where, "object_id = "+arg(f.ObjectID)+" AND object_id <> ''")
	}
	if f.Result != "" {
		where = append(where, "result = "+arg(f.Result))
	}
	if f.Kind != "" {
		where = append(where, "kind = "+arg(string(f.Kind)))
	}
	if !f.Start.IsZero() {
		where = append(where, "at >= "+arg(f.Start))
	}
	if !f.End.IsZero() {
		where = append(where, "at < "+arg(f.End))
	}
	if pageToken != "" {
		c, err := decodeCursor(pageToken, scope)
		if err != nil {
			return Page{}, err
		}
		where = append(where, "(at, record_id) < ("+arg(c.at())+", "+arg(c.ID)+")")
	}
	q := `SELECT ` + recordColumns + ` FROM audit_records`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY at DESC, record_id DESC LIMIT ` + arg(size+1)

	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("list audit records: %w", err)
	}
	defer rows.Close()
	var page Page
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return Page{}, fmt.Errorf("list audit records: %w", err)
		}
		page.Records = append(page.Records, r)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("list audit records: %w", err)
	}
	if len(page.Records) > size {
		page.Records = page.Records[:size]
		last := page.Records[size-1]
		page.NextPageToken = encodeCursor(cursor{At: last.At.UnixMicro(), ID: last.ID}, scope)
	}
	return page, nil
}

// normalize checks f and rounds its bounds up to Postgres's microseconds, which keeps their meaning: a
// stored time is at or after Start exactly when it is at or after Start rounded up, and likewise before End.
func normalize(f Filter) (Filter, error) {
	if f.Kind != "" && !f.Kind.valid() {
		return Filter{}, apierr.InvalidField("kind", fmt.Sprintf("unknown kind %q", f.Kind))
	}
	if !f.Start.IsZero() && !f.End.IsZero() && f.Start.After(f.End) {
		return Filter{}, apierr.InvalidField("end_time", "must not be before start_time")
	}
	f.Start, f.End = ceilMicro(f.Start), ceilMicro(f.End)
	return f, nil
}

func ceilMicro(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	c := t.UTC().Truncate(time.Microsecond)
	if c.Before(t) {
		c = c.Add(time.Microsecond)
	}
	return c
}

// recordColumns are the columns scanRecord reads, in its order.
const recordColumns = `record_id, at, principal, key_id, method, object_type, object_id, result, trace_id, kind, on_behalf_of,
	reason, fields`

func scanRecord(row pgx.Row) (Record, error) {
	var (
		r    Record
		kind string
	)
	if err := row.Scan(&r.ID, &r.At, &r.Principal, &r.KeyID, &r.Method, &r.ObjectType, &r.ObjectID, &r.Result,
		&r.TraceID, &kind, &r.OnBehalfOf, &r.Reason, &r.Fields); err != nil {
		return Record{}, err
	}
	r.At, r.Kind = r.At.UTC(), Kind(kind)
	return r, nil
}

// cursor is the position after the last record of a page: its sort key, and the hash of the filters it
// belongs to.
type cursor struct {
	At int64     `json:"t"` // at in Unix microseconds (Postgres's precision)
	ID uuid.UUID `json:"i"`
}

func (c cursor) at() time.Time { return time.UnixMicro(c.At).UTC() }

// filterHash names a listing's filters in its tokens, so a token cannot be replayed against other filters
// (which would silently skip or repeat records). f is normalized, so equal filters hash alike.
func filterHash(f Filter) string {
	vals := []any{f.Principal, f.Method, f.ObjectID, f.Result, f.Kind, micros(f.Start), micros(f.End)}
	if f.ObjectType != "" {
		// Appended only when set, so tokens issued before the filter existed stay valid.
		vals = append(vals, f.ObjectType)
	}
	b, _ := json.Marshal(vals) // plain values: always encodes
	sum := sha256.Sum256(append([]byte("audit_records\x00"), b...))
	return hex.EncodeToString(sum[:8])
}

// micros renders a bound for filterHash; zero (no bound) is distinct from every real time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func encodeCursor(c cursor, scope string) string { return paging.Encode(c, scope) }

func decodeCursor(token, scope string) (cursor, error) {
	var c cursor
	if err := paging.Decode(token, scope, &c); err != nil {
		return cursor{}, err
	}
	return c, nil
}
