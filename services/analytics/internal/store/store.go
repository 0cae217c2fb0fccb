// Package store is the analytics service's Postgres persistence: the ticket projection, the hourly rollups
// and the report queries over them. Ingestion runs inside the batch consumer's transaction (Tx): one
// batch's tickets are locked in id order, saved, and its rollup deltas applied in key order, so two
// batches ingesting at once (the consumer's concurrency, or two replicas) queue behind each other
// instead of deadlocking.
package store

import (
	"cmp"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"kefu.dev/pkg/auth/apikeys"
	"kefu.dev/pkg/auth/audit"
	"kefu.dev/pkg/auth/ratelimit"
	"kefu.dev/pkg/events"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/outbox"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/analytics/internal/domain/facts"
)

// Schema is the service's Postgres schema; the pool's search_path, so SQL here is unqualified.
const Schema = "analytics"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns every migration set the service applies, in order: the shared idempotency keys,
// outbox, API keys, audit log, rate-limit buckets and event inbox, then the service's tables.
func Migrations() []pgxutil.MigrationSet {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic("store: embedded migrations missing: " + err.Error()) // fixed at build time
	}
	return []pgxutil.MigrationSet{
		idempotency.Migrations(),
		outbox.Migrations(),
		apikeys.Migrations(),
		audit.Migrations(),
		ratelimit.Migrations(),
		events.Migrations(),
		{Name: "analytics", FS: sub},
	}
}

// Store reads the schema through a pool whose search_path is that schema.
type Store struct {
	pool *pgxpool.Pool
	// zone is the business zone the day grains' days are cut in (facts.Grain).
	zone *time.Location
}

// New returns a store on pool whose day grains are cut in zone.
func New(pool *pgxpool.Pool, zone *time.Location) *Store { return &Store{pool: pool, zone: zone} }

// Zone returns the business zone.
func (s *Store) Zone() *time.Location { return s.zone }

// Tx is a transaction on the schema.
type Tx struct{ tx pgx.Tx }

// Wrap returns the store's view of a transaction the caller opened (the batch consumer's).
func Wrap(tx pgx.Tx) *Tx { return &Tx{tx: tx} }

// Stored is a ticket's projection as stored, with its revision: a random number every write replaces (0
// for a ticket never stored; NewRev). Random rather than counted, because two writers planning on one state
// would count to the same number and each take the other's write for its own plan's base.
type Stored struct {
	facts.Ticket
	Rev int64
}

// NewRev returns a new revision: random, never 0.
func NewRev() int64 { return rand.Int64N(math.MaxInt64) + 1 }

// ReadTickets reads the projections of ids without locking them; a ticket never stored is absent.
func (t *Tx) ReadTickets(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Stored, error) {
	out := make(map[uuid.UUID]Stored, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT id, state, rev FROM tickets WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read tickets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var state []byte
		var st Stored
		if err := rows.Scan(&id, &state, &st.Rev); err != nil {
			return nil, fmt.Errorf("scan ticket: %w", err)
		}
		if err := st.UnmarshalBinary(state); err != nil {
			return nil, fmt.Errorf("decode ticket %s: %w", id, err)
		}
		out[id] = st
	}
	return out, rows.Err()
}

// LockTickets locks the projections of ids in id order and returns their revisions (0 for a ticket not
// stored yet). A ticket not stored yet is first inserted empty, to be written whole by Write in the same
// transaction, so that two transactions meeting a new ticket at once queue on its row: the second then
// sees the first's revision instead of overwriting its state.
func (t *Tx) LockTickets(ctx context.Context, ids []uuid.UUID, now time.Time) (map[uuid.UUID]int64, error) {
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO tickets (id, state, updated_at) SELECT id, '\x'::bytea, $2 FROM unnest($1::uuid[]) AS id ORDER BY id
		ON CONFLICT (id) DO NOTHING`, ids, now)
	b.Queue(`SELECT id, rev FROM tickets WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
	br := t.tx.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, fmt.Errorf("create tickets: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("lock tickets: %w", err)
	}
	out := make(map[uuid.UUID]int64, len(ids))
	var id uuid.UUID
	var rev int64
	_, err = pgx.ForEachRow(rows, []any{&id, &rev}, func() error {
		out[id] = rev
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("lock tickets: %w", err)
	}
	return out, nil
}

// Write is a batch's writes, prepared (encoded, sorted) before its transaction takes the locks they need.
type Write struct {
	batch *pgx.Batch
	hist  histChanges
}

// Prepare encodes a batch's writes: the tickets' new states (each with a NewRev), delta's rollup
// changes and the count of events ingested.
func Prepare(tickets []Stored, d *facts.Delta, events int, now time.Time) (*Write, error) {
	b := &pgx.Batch{}
	if len(tickets) > 0 {
		ids := make([]uuid.UUID, len(tickets))
		states := make([][]byte, len(tickets))
		revs := make([]int64, len(tickets))
		for i, tk := range tickets {
			s, err := tk.MarshalBinary()
			if err != nil {
				return nil, fmt.Errorf("encode ticket %s: %w", tk.ID, err)
			}
			ids[i], states[i], revs[i] = tk.ID, s, tk.Rev
		}
		b.Queue(`INSERT INTO tickets (id, state, rev, updated_at) SELECT id, state, rev, $4 FROM unnest($1::uuid[], $2::bytea[], $3::bigint[]) AS u(id, state, rev)
			ORDER BY id ON CONFLICT (id) DO UPDATE SET state = excluded.state, rev = excluded.rev, updated_at = excluded.updated_at`,
			ids, states, revs, now)
	}
	queueTicketRollup(b, d.Tickets)
	queueSLA(b, d.SLA)
	queueAgents(b, d.Agents)
	queueTopics(b, d.Topics)
	queueStays(b, d.Stays)
	b.Queue(`UPDATE ingest_stats SET events = events + $1, last_at = $2 WHERE id = 1`, events, now)
	return &Write{batch: b, hist: prepareHist(d.Hist)}, nil
}

// Write applies w, in four round trips when the batch has new histogram rows, else two; the caller holds
// the tickets' locks (LockTickets). The histogram rows are locked just before the writes, so rows a
// concurrent batch also changes (the coarse grains) stay locked only while they are written. Locks are
// taken in one order by every batch, so concurrent batches queue instead of deadlocking: inbox, tickets,
// duration_hist (mergeHist: the rows stored, then those created), then the rollups in Prepare's order
// and ingest_stats; each table's rows in key order.
func (t *Tx) Write(ctx context.Context, w *Write) error {
	updates, err := t.mergeHist(ctx, w.hist)
	if err != nil {
		return err
	}
	queueHist(w.batch, w.hist, updates)
	if err := t.tx.SendBatch(ctx, w.batch).Close(); err != nil {
		return fmt.Errorf("ingest: %w", err)
	}
	return nil
}

// dimCols are the rollup key's classification columns.
const dimCols = `channel, group_id, type, subcategory, urgency, level`

// keyCols are a rollup row's key columns before the table's own.
const keyCols = `grain, hour, ` + dimCols

// dimArrays collects keys' dims into column arrays.
type dimArrays struct {
	grain                                            []int16
	hour                                             []time.Time
	channel, group, typ, subcategory, urgency, level []string
}

func (a *dimArrays) add(d facts.Dims) {
	a.grain = append(a.grain, int16(d.Grain))
	a.hour = append(a.hour, d.Hour)
	a.channel = append(a.channel, d.Channel)
	a.group = append(a.group, d.Group)
	a.typ = append(a.typ, d.Type)
	a.subcategory = append(a.subcategory, d.Subcategory)
	a.urgency = append(a.urgency, d.Urgency)
	a.level = append(a.level, d.Level)
}

func (a *dimArrays) args() []any {
	return []any{a.grain, a.hour, a.channel, a.group, a.typ, a.subcategory, a.urgency, a.level}
}

// compareDims orders keys so concurrent writers update rollup rows in the same order.
func compareDims(x, y facts.Dims) int {
	return cmp.Or(cmp.Compare(x.Grain, y.Grain), x.Hour.Compare(y.Hour), cmp.Compare(x.Channel, y.Channel), cmp.Compare(x.Group, y.Group),
		cmp.Compare(x.Type, y.Type), cmp.Compare(x.Subcategory, y.Subcategory), cmp.Compare(x.Urgency, y.Urgency),
		cmp.Compare(x.Level, y.Level))
}

const dimUnnest = `unnest($1::smallint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]`

func queueTicketRollup(b *pgx.Batch, m map[facts.Dims]facts.Counts) {
	keys := sortedKeys(m, compareDims)
	if len(keys) == 0 {
		return
	}
	var a dimArrays
	cols := make([][]int64, len(facts.CountColumns))
	for _, k := range keys {
		a.add(k)
		for i, v := range m[k].Values() {
			cols[i] = append(cols[i], v)
		}
	}
	args := a.args()
	types, sets := make([]string, len(cols)), make([]string, len(cols))
	for i, c := range cols {
		args = append(args, c)
		name := facts.CountColumns[i]
		types[i] = fmt.Sprintf("$%d::bigint[]", 9+i)
		sets[i] = name + " = ticket_rollup." + name + " + excluded." + name
	}
	b.Queue(`INSERT INTO ticket_rollup (`+keyCols+`, `+strings.Join(facts.CountColumns, ", ")+`)
		SELECT * FROM `+dimUnnest+`, `+strings.Join(types, ", ")+`)
		ON CONFLICT ON CONSTRAINT ticket_rollup_pkey DO UPDATE SET `+strings.Join(sets, ", "), args...)
}

func queueTopics(b *pgx.Batch, m map[facts.TopicKey]int64) {
	keys := sortedKeys(m, func(x, y facts.TopicKey) int {
		return cmp.Or(compareDims(x.Dims, y.Dims), cmp.Compare(x.Topic, y.Topic))
	})
	if len(keys) == 0 {
		return
	}
	var a dimArrays
	var topic []string
	var n []int64
	for _, k := range keys {
		a.add(k.Dims)
		topic, n = append(topic, k.Topic), append(n, m[k])
	}
	b.Queue(`INSERT INTO topic_rollup (`+keyCols+`, topic, tickets)
		SELECT * FROM `+dimUnnest+`, $9::text[], $10::bigint[])
		ON CONFLICT ON CONSTRAINT topic_rollup_pkey DO UPDATE SET tickets = topic_rollup.tickets + excluded.tickets`,
		append(a.args(), topic, n)...)
}

func queueStays(b *pgx.Batch, m map[facts.Dims]facts.StayCounts) {
	keys := sortedKeys(m, compareDims)
	if len(keys) == 0 {
		return
	}
	var a dimArrays
	var stays, ms []int64
	for _, k := range keys {
		a.add(k)
		stays, ms = append(stays, m[k].Stays), append(ms, m[k].MS)
	}
	b.Queue(`INSERT INTO group_time_rollup (`+keyCols+`, stays, stay_ms)
		SELECT * FROM `+dimUnnest+`, $9::bigint[], $10::bigint[])
		ON CONFLICT ON CONSTRAINT group_time_rollup_pkey DO UPDATE SET stays = group_time_rollup.stays + excluded.stays,
			stay_ms = group_time_rollup.stay_ms + excluded.stay_ms`, append(a.args(), stays, ms)...)
}

// histKey is a duration_hist row's key.
type histKey struct {
	facts.Dims
	metric string
}

// histKeyCols names histKey's columns for the unnest of dimArrays and metrics.
const histKeyCols = `grain, hour, channel, group_id, type, subcategory, urgency, level, metric`

// histChanges are a batch's histogram changes, one per stored row, in key order.
type histChanges struct {
	keys    []histKey
	changes []facts.Histogram
	// args are keys as the column arrays of dimUnnest and the metric.
	args []any
}

// prepareHist gathers the histogram changes in m by stored row.
func prepareHist(m map[facts.HistKey]int64) histChanges {
	changes := map[histKey]facts.Histogram{}
	for k, n := range m {
		if n == 0 {
			continue
		}
		hk := histKey{k.Dims, k.Metric}
		if changes[hk] == nil {
			changes[hk] = facts.Histogram{}
		}
		changes[hk][k.Bucket] += n
	}
	var h histChanges
	h.keys = make([]histKey, 0, len(changes))
	for k := range changes {
		h.keys = append(h.keys, k)
	}
	slices.SortFunc(h.keys, func(x, y histKey) int { return cmp.Or(compareDims(x.Dims, y.Dims), cmp.Compare(x.metric, y.metric)) })
	h.changes = make([]facts.Histogram, len(h.keys))
	for i, k := range h.keys {
		h.changes[i] = changes[k]
	}
	h.args = h.keyArgs(nil)
	return h
}

// keyArgs returns the keys at idx (all of them for nil) as the column arrays of dimUnnest and the metric.
func (h histChanges) keyArgs(idx []int) []any {
	var a dimArrays
	var metrics []string
	add := func(k histKey) {
		a.add(k.Dims)
		metrics = append(metrics, k.metric)
	}
	if idx == nil {
		for _, k := range h.keys {
			add(k)
		}
	} else {
		for _, i := range idx {
			add(h.keys[i])
		}
	}
	return slices.Clip(append(a.args(), metrics)) // clipped: each query appends its own arguments
}

// histUpdate is a stored histogram's new packed counts.
type histUpdate struct {
	i      int // in histChanges.keys
	packed []byte
}

// mergeHist adds the changes in h to the stored histograms and returns the rows to rewrite, for
// queueHist. A histogram is packed in one row, so it is read, added to and written back rather than
// summed by an upsert; rows are locked in key order, so two batches queue instead of deadlocking.
//
// It locks and reads the rows that exist, then creates the missing ones with their changes as they are
// (most are: every new hour has new rows), each written once. Should another transaction have created one
// of them since (it had not committed when the rows were read), that creation is undone and the missing
// rows go the long way: created empty, locked, read and added to. Two transactions cannot deadlock here
// (the second creator waits for the first to commit before it goes the long way); three at once, one of
// them going the long way, can, rarely: Postgres then aborts one, and the consumer runs it again.
func (t *Tx) mergeHist(ctx context.Context, h histChanges) ([]histUpdate, error) {
	if len(h.keys) == 0 {
		return nil, nil
	}
	updates, err := t.lockHist(ctx, h, nil, h.args)
	if err != nil {
		return nil, err
	}
	missing := make([]int, 0, len(h.keys)-len(updates))
	have := make([]bool, len(h.keys))
	for _, u := range updates {
		have[u.i] = true
	}
	for i := range h.keys {
		if !have[i] {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return updates, nil
	}
	args := h.keyArgs(missing)
	packed := make([][]byte, len(missing))
	for j, i := range missing {
		packed[j] = h.changes[i].Encode()
	}
	b := &pgx.Batch{}
	b.Queue(`SAVEPOINT hist_create`)
	b.Queue(`INSERT INTO duration_hist (`+histKeyCols+`, counts) SELECT * FROM `+dimUnnest+`, $9::text[], $10::bytea[])
		ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9 ON CONFLICT ON CONSTRAINT duration_hist_pkey DO NOTHING`, append(args, packed)...)
	br := t.tx.SendBatch(ctx, b)
	_, err = br.Exec()
	var created int64
	if err == nil {
		var tag pgconn.CommandTag
		tag, err = br.Exec()
		created = tag.RowsAffected()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("create histograms: %w", err)
	}
	if created == int64(len(missing)) {
		// Released, so that the batch's other writes are the transaction's own rather than a
		// subtransaction's, which every later reader of those rows would have to look up.
		if _, err := t.tx.Exec(ctx, `RELEASE SAVEPOINT hist_create`); err != nil {
			return nil, fmt.Errorf("create histograms: %w", err)
		}
		return updates, nil
	}
	if _, err := t.tx.Exec(ctx, `ROLLBACK TO SAVEPOINT hist_create`); err != nil {
		return nil, fmt.Errorf("create histograms: %w", err)
	}
	more, err := t.lockHist(ctx, h, missing, args)
	if err != nil {
		return nil, err
	}
	if len(more) != len(missing) {
		return nil, fmt.Errorf("lock histograms: %d of %d rows found", len(more), len(missing))
	}
	return append(updates, more...), nil
}

// lockHist locks and reads the stored histograms of the keys at idx (all for nil; args are their column
// arrays) in key order, and returns them with h's changes added. With idx it first creates the rows
// missing, empty.
func (t *Tx) lockHist(ctx context.Context, h histChanges, idx []int, args []any) ([]histUpdate, error) {
	b := &pgx.Batch{}
	if idx != nil {
		b.Queue(`INSERT INTO duration_hist (`+histKeyCols+`, counts) SELECT u.*, '\x'::bytea FROM `+dimUnnest+`, $9::text[]) AS u
			ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9 ON CONFLICT ON CONSTRAINT duration_hist_pkey DO NOTHING`, args...)
	}
	b.Queue(`SELECT u.i, h.counts FROM duration_hist h JOIN `+dimUnnest+`, $9::text[]) WITH ORDINALITY AS u(`+histKeyCols+`, i)
		USING (`+histKeyCols+`) ORDER BY u.i FOR UPDATE OF h`, args...)
	br := t.tx.SendBatch(ctx, b)
	defer br.Close()
	if idx != nil {
		if _, err := br.Exec(); err != nil {
			return nil, fmt.Errorf("create histograms: %w", err)
		}
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("lock histograms: %w", err)
	}
	var out []histUpdate
	for rows.Next() {
		var j int
		var stored []byte
		if err := rows.Scan(&j, &stored); err != nil {
			return nil, fmt.Errorf("lock histograms: %w", err)
		}
		i := j - 1
		if idx != nil {
			i = idx[j-1]
		}
		sum := facts.Histogram{}
		if err := sum.Decode(stored); err != nil {
			return nil, fmt.Errorf("histogram %v: %w", h.keys[i], err)
		}
		sum.Add(h.changes[i])
		out = append(out, histUpdate{i: i, packed: sum.Encode()})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lock histograms: %w", err)
	}
	return out, nil
}

// queueHist rewrites the histograms mergeHist added to.
func queueHist(b *pgx.Batch, h histChanges, updates []histUpdate) {
	if len(updates) == 0 {
		return
	}
	idx := make([]int, len(updates))
	packed := make([][]byte, len(updates))
	for j, u := range updates {
		idx[j], packed[j] = u.i, u.packed
	}
	b.Queue(`UPDATE duration_hist h SET counts = u.counts FROM `+dimUnnest+`, $9::text[], $10::bytea[]) AS u(`+histKeyCols+`, counts)
		WHERE (h.grain, h.hour, h.channel, h.group_id, h.type, h.subcategory, h.urgency, h.level, h.metric) =
			(u.grain, u.hour, u.channel, u.group_id, u.type, u.subcategory, u.urgency, u.level, u.metric)`,
		append(h.keyArgs(idx), packed)...)
}

func queueSLA(b *pgx.Batch, m map[facts.SLAKey]facts.SLACounts) {
	keys := sortedKeys(m, func(x, y facts.SLAKey) int {
		return cmp.Or(compareDims(x.Dims, y.Dims), cmp.Compare(x.Target, y.Target))
	})
	if len(keys) == 0 {
		return
	}
	var a dimArrays
	var target []string
	var tickets, breached, recovered, warnedBreached []int64
	for _, k := range keys {
		a.add(k.Dims)
		c := m[k]
		target = append(target, k.Target)
		tickets, breached = append(tickets, c.Tickets), append(breached, c.Breached)
		recovered, warnedBreached = append(recovered, c.WarnedRecovered), append(warnedBreached, c.WarnedBreached)
	}
	b.Queue(`INSERT INTO sla_rollup (`+keyCols+`, target, tickets, breached, warned_recovered, warned_breached)
		SELECT * FROM `+dimUnnest+`, $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[])
		ON CONFLICT ON CONSTRAINT sla_rollup_pkey DO UPDATE SET tickets = sla_rollup.tickets + excluded.tickets,
			breached = sla_rollup.breached + excluded.breached,
			warned_recovered = sla_rollup.warned_recovered + excluded.warned_recovered,
			warned_breached = sla_rollup.warned_breached + excluded.warned_breached`,
		append(a.args(), target, tickets, breached, recovered, warnedBreached)...)
}

func queueAgents(b *pgx.Batch, m map[facts.AgentKey]facts.AgentCounts) {
	keys := sortedKeys(m, func(x, y facts.AgentKey) int {
		return cmp.Or(compareDims(x.Dims, y.Dims), cmp.Compare(x.Agent, y.Agent))
	})
	if len(keys) == 0 {
		return
	}
	var a dimArrays
	var agent []string
	var assigned, resolved, open, handled, handleMS []int64
	for _, k := range keys {
		a.add(k.Dims)
		c := m[k]
		agent = append(agent, k.Agent)
		assigned, resolved, open = append(assigned, c.Assigned), append(resolved, c.Resolved), append(open, c.Open)
		handled, handleMS = append(handled, c.Handled), append(handleMS, c.HandleMS)
	}
	b.Queue(`INSERT INTO agent_rollup (`+keyCols+`, agent, assigned, resolved, open, handled, handle_ms)
		SELECT * FROM `+dimUnnest+`, $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[])
		ON CONFLICT ON CONSTRAINT agent_rollup_pkey DO UPDATE SET assigned = agent_rollup.assigned + excluded.assigned,
			resolved = agent_rollup.resolved + excluded.resolved, open = agent_rollup.open + excluded.open,
			handled = agent_rollup.handled + excluded.handled, handle_ms = agent_rollup.handle_ms + excluded.handle_ms`,
		append(a.args(), agent, assigned, resolved, open, handled, handleMS)...)
}

// sortedKeys returns m's keys whose values are not zero, sorted by cmpKey.
func sortedKeys[K comparable, V comparable](m map[K]V, cmpKey func(a, b K) int) []K {
	var zero V
	keys := make([]K, 0, len(m))
	for k, v := range m {
		if v != zero {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, cmpKey)
	return keys
}

// Stats is what ingestion has done.
type Stats struct {
	Events  int64
	LastAt  time.Time
	Tickets int64
}

// Stats reads the ingestion counters.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	var last *time.Time
	err := s.pool.QueryRow(ctx, `SELECT events, last_at, (SELECT count(*) FROM tickets) FROM ingest_stats WHERE id = 1`).
		Scan(&st.Events, &last, &st.Tickets)
	if err != nil {
		return st, fmt.Errorf("read ingestion stats: %w", err)
	}
	if last != nil {
		st.LastAt = *last
	}
	return st, nil
}

// Current reports whether the tables hold projections of this release's version (facts.ProjectionVersion)
// whose day rollups were cut in the store's business zone.
func (s *Store) Current(ctx context.Context) (bool, error) {
	var v int
	var zone string
	if err := s.pool.QueryRow(ctx, `SELECT projection_version, business_zone FROM ingest_stats WHERE id = 1`).Scan(&v, &zone); err != nil {
		return false, fmt.Errorf("read the projection version: %w", err)
	}
	return v >= facts.ProjectionVersion && zone == s.zone.String(), nil
}

// Reset empties the projection and the rollups and forgets which events consumer took (the rebuild's
// first step; the caller then replays the stream), and records that the projections to come are of this
// release's version, cut in zone. It runs as the schema's owner. With onlyIfStale it does so only while
// the tables hold projections of an older version or another zone, checked under a row lock, so of
// several replicas upgrading at once only the first resets.
func Reset(ctx context.Context, ownerURL, consumer, zone string, onlyIfStale bool) error {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL search_path = `+pgx.Identifier{Schema}.Sanitize()); err != nil {
			return err
		}
		var v int
		var was string
		if err := tx.QueryRow(ctx, `SELECT projection_version, business_zone FROM ingest_stats WHERE id = 1 FOR UPDATE`).Scan(&v, &was); err != nil {
			return err
		}
		if onlyIfStale && v >= facts.ProjectionVersion && was == zone {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE ingest_stats SET business_zone = $1`, zone); err != nil {
			return err
		}
		for _, q := range []string{
			`TRUNCATE tickets, ticket_rollup, duration_hist, sla_rollup, agent_rollup, topic_rollup, group_time_rollup`,
			fmt.Sprintf(`UPDATE ingest_stats SET events = 0, last_at = NULL, projection_version = %d`, facts.ProjectionVersion),
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		for _, q := range []string{`DELETE FROM inbox WHERE consumer = $1`, `DELETE FROM dead_letters WHERE consumer = $1`} {
			if _, err := tx.Exec(ctx, q, consumer); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reset the projections: %w", err)
	}
	return nil
}
