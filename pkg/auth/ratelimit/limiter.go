// Package ratelimit enforces per-principal rate limits (auth.Limit token buckets) across every replica of a
// service without a Postgres round trip per request. Each key's bucket lives in Postgres (rate_buckets);
// a replica leases tokens from it in blocks and spends them locally, and it remembers a refusal for as long
// as Postgres said no token would be due, so neither allowed nor refused requests ask Postgres each time.
//
// All replicas together never allow more than the bucket holds, Burst + Rate × elapsed: a token is spent
// only after Postgres granted it. The error is one-sided: a replica may hold up to a lease of tokens that it
// does not spend before the lease expires (Options.LeaseTTL), and those are dropped, not given back.
package ratelimit

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/pgxutil"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the rate_buckets table's migration set; a service that rate-limits lists it next to
// its own.
func Migrations() pgxutil.MigrationSet {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // embedded at build time: impossible
	}
	return pgxutil.MigrationSet{Name: "ratelimit", FS: sub}
}

// ErrInvalidLimit is returned by Allow for a limit that could never grant a token (auth.Limit.Valid): a
// configuration error, reported rather than guessed at.
var ErrInvalidLimit = errors.New("invalid rate limit")

const (
	// DefaultLeaseTTL is Options.LeaseTTL's default.
	DefaultLeaseTTL = time.Second
	// minRetryAfter is the least retry delay Allow reports, so a client told to wait never waits 0.
	minRetryAfter = time.Millisecond
	// shardCount spreads keys over that many map locks, so unrelated keys rarely contend.
	shardCount = 64
	// defaultSweepMin is how many local entries may exist before the first sweep for idle ones.
	defaultSweepMin = 4096
)

// Options configures a Limiter. The zero value is usable.
type Options struct {
	// Lease is how many tokens one trip to Postgres takes for this replica at most. Nil means a tenth of a
	// second's worth of the limit's rate. Whatever it returns is kept between 1 and the limit's burst.
	Lease func(l auth.Limit) int
	// LeaseTTL is how long leased tokens may wait to be spent before they are dropped, so an idle replica
	// does not sit on tokens another one needs. Zero or less means DefaultLeaseTTL.
	LeaseTTL time.Duration
	// Now tells the time; nil means time.Now. Every replica's clock ends up in the shared bucket, so they
	// should agree to well under a token's interval.
	Now func() time.Time
}

// Limiter spends the tokens of shared, per-key buckets for one replica. It is safe for concurrent use.
type Limiter struct {
	pool  *pgxpool.Pool
	lease func(auth.Limit) int
	ttl   time.Duration
	now   func() time.Time

	seed   maphash.Seed
	shards [shardCount]shard
	// entries counts the local entries across shards; when it passes sweepAt the caller that added one
	// sweeps the idle ones out. sweepAt then becomes twice what is left (at least sweepMin), so the work
	// of sweeping stays proportional to the entries added.
	entries  atomic.Int64
	sweepAt  atomic.Int64
	sweepMin int64
	sweeping atomic.Bool

	trips atomic.Int64
}

// shard holds some keys' entries. mu guards m and every entry's refs.
type shard struct {
	mu sync.Mutex
	m  map[string]*entry
}

// entry is one key's local state. refs counts the callers holding or waiting for lock; an entry is removed
// from its shard only at refs 0, so there is never a second entry for a key while one is in use. The other
// fields are guarded by lock, a one-slot channel rather than a mutex so a waiter can give up when its
// context ends. The holder keeps it across the trip to Postgres: concurrent callers of one key wait for
// that trip's lease instead of each making their own.
type entry struct {
	refs int
	lock chan struct{}

	limit       auth.Limit // what the lease or refusal below was taken under
	tokens      int        // leased and not yet spent
	expires     time.Time  // when unspent tokens are dropped
	deniedUntil time.Time  // Postgres had no whole token for this key before then
}

// idle reports whether e holds nothing worth keeping at now: no live lease and no refusal in force.
func (e *entry) idle(now time.Time) bool {
	return (e.tokens == 0 || !now.Before(e.expires)) && !now.Before(e.deniedUntil)
}

// New returns a limiter whose buckets live in the rate_buckets table of pool's schema.
func New(pool *pgxpool.Pool, o Options) *Limiter {
	l := &Limiter{
		pool:     pool,
		lease:    o.Lease,
		ttl:      o.LeaseTTL,
		now:      o.Now,
		seed:     maphash.MakeSeed(),
		sweepMin: defaultSweepMin,
	}
	if l.ttl <= 0 {
		l.ttl = DefaultLeaseTTL
	}
	if l.now == nil {
		l.now = time.Now
	}
	l.sweepAt.Store(l.sweepMin)
	for i := range l.shards {
		l.shards[i].m = make(map[string]*entry)
	}
	return l
}

// Allow spends one token of key's bucket under limit lim. ok=false means key is over its limit; retryAfter
// is then how long until a token is due (at least 1 ms). A token left from this replica's lease is spent
// without asking Postgres; otherwise Allow leases a new block, and concurrent callers of the same key share
// that trip.
//
// err is set, and ok is false, only when the answer is unknown: Postgres could not be asked (a wrapped
// driver error; pgxutil.IsUnavailable tells an outage), ctx ended while waiting for another caller's trip,
// or lim is not valid (ErrInvalidLimit). Whether to fail open or closed is the caller's policy.
//
// Every call with a given key should pass the same limit: a different one drops what this replica leased
// or was refused under the previous one.
func (l *Limiter) Allow(ctx context.Context, key string, lim auth.Limit) (ok bool, retryAfter time.Duration, err error) {
	if !lim.Valid() {
		return false, 0, fmt.Errorf("%w: rate %v, burst %d", ErrInvalidLimit, lim.Rate, lim.Burst)
	}
	sh := &l.shards[maphash.String(l.seed, key)%shardCount]
	e := l.enter(sh, key)
	defer l.leave(sh, e)

	select {
	case e.lock <- struct{}{}:
	case <-ctx.Done():
		return false, 0, ctx.Err()
	}
	defer func() { <-e.lock }()

	// Postgres keeps microseconds; taking the bucket at a time it can store means a replica reading it back
	// counts exactly the refill this one did, not up to a microsecond's worth more.
	now := l.now().UTC().Truncate(time.Microsecond)
	if e.limit != lim {
		e.limit, e.tokens, e.expires, e.deniedUntil = lim, 0, time.Time{}, time.Time{}
	}
	if e.tokens > 0 && now.Before(e.expires) {
		e.tokens--
		return true, 0, nil
	}
	if now.Before(e.deniedUntil) {
		return false, max(minRetryAfter, e.deniedUntil.Sub(now)), nil
	}

	granted, retry, err := l.take(ctx, key, lim, now, l.leaseSize(lim))
	if err != nil {
		return false, 0, err
	}
	if granted == 0 {
		// Leases only drain the bucket and it refills at lim.Rate, so no token can be due before retry,
		// whatever other replicas do: until then refuse here instead of asking again.
		e.tokens, e.deniedUntil = 0, now.Add(retry)
		return false, max(minRetryAfter, retry), nil
	}
	e.tokens, e.expires = granted-1, now.Add(l.ttl)
	return true, 0, nil
}

// Trips reports how many leases the limiter has asked Postgres for, granted or not, including those that
// failed: the load it puts on Postgres, for metrics and tests.
func (l *Limiter) Trips() int64 { return l.trips.Load() }

// leaseSize is how many tokens one trip asks for under lim.
func (l *Limiter) leaseSize(lim auth.Limit) int {
	var n int
	if l.lease != nil {
		n = l.lease(lim)
	} else {
		n = int(math.Min(lim.Rate/10, float64(lim.Burst))) // min first: a huge rate must not overflow int
	}
	return min(max(n, 1), lim.Burst)
}

// enter returns key's entry, created if missing, with a reference held for the caller.
func (l *Limiter) enter(sh *shard, key string) *entry {
	sh.mu.Lock()
	e, found := sh.m[key]
	if !found {
		e = &entry{lock: make(chan struct{}, 1)}
		sh.m[key] = e
	}
	e.refs++
	sh.mu.Unlock()
	if !found && l.entries.Add(1) > l.sweepAt.Load() {
		l.sweep()
	}
	return e
}

// leave drops the caller's reference taken by enter.
func (l *Limiter) leave(sh *shard, e *entry) {
	sh.mu.Lock()
	e.refs--
	sh.mu.Unlock()
}

// sweep removes idle entries nobody holds, one shard at a time. One sweep runs at a time; a caller that
// finds one running goes on, since the running one will reset the threshold.
func (l *Limiter) sweep() {
	if !l.sweeping.CompareAndSwap(false, true) {
		return
	}
	defer l.sweeping.Store(false)
	now := l.now()
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for key, e := range sh.m {
			// refs 0 under sh.mu: no caller holds or awaits e.lock, and the last one's writes happened
			// before its leave, so e's fields may be read here.
			if e.refs == 0 && e.idle(now) {
				delete(sh.m, key)
				l.entries.Add(-1)
			}
		}
		sh.mu.Unlock()
	}
	l.sweepAt.Store(max(l.sweepMin, 2*l.entries.Load()))
}

// take leases up to want tokens of key's bucket as of now and returns how many it got and, if none, how
// long until one is due. InTx's retry policy applies, though a single row locked FOR UPDATE under READ
// COMMITTED neither deadlocks nor fails to serialize.
func (l *Limiter) take(ctx context.Context, key string, lim auth.Limit, now time.Time, want int) (granted int, retryAfter time.Duration, err error) {
	l.trips.Add(1)
	err = pgxutil.Retry(ctx, func(ctx context.Context) error {
		var err error
		granted, retryAfter, err = l.takeOnce(ctx, key, lim, now, want)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("lease tokens of rate bucket %q: %w", key, err)
	}
	return granted, retryAfter, nil
}

// takeOnce is one transaction in two round trips, each a pipelined batch: BEGIN, create the row if
// missing, lock and read it; then write the new state and COMMIT. InTx would spend four (BEGIN, SELECT,
// UPDATE, COMMIT), and when a key's lease is a single token that is on every request's path.
//
// The row is inserted in its own statement before the SELECT, not merged into it: under READ COMMITTED
// the SELECT then takes a new snapshot, so it sees (and waits to lock) a row a concurrent first lease has
// just inserted, where a single statement would miss it and both would start from a full bucket.
//
// On any error the connection is released still inside the transaction, and pgxpool destroys a connection
// released in that state, which ends the transaction and its row lock on the server.
func (l *Limiter) takeOnce(ctx context.Context, key string, lim auth.Limit, now time.Time, want int) (int, time.Duration, error) {
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Release()

	b := &pgx.Batch{}
	b.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	// Not waiting for the WAL flush halves a lease's latency on real disks. The price: a Postgres crash
	// may lose the last fraction of a second's leases, and those tokens are then granted a second time,
	// once. A rate limit can afford that; a request path that pays a flush per lease is worse.
	b.Queue(`SET LOCAL synchronous_commit TO off`)
	b.Queue(`INSERT INTO rate_buckets (bucket_key, tokens, at) VALUES ($1, $2, $3)
		ON CONFLICT (bucket_key) DO NOTHING`, key, float64(lim.Burst), now)
	b.Queue(`SELECT tokens, at FROM rate_buckets WHERE bucket_key = $1 FOR UPDATE`, key)
	br := conn.SendBatch(ctx, b)
	var bucket auth.Bucket
	err = execAll(br, 3)
	if err == nil {
		err = br.QueryRow().Scan(&bucket.Tokens, &bucket.At)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, err
	}

	next, granted, retryAfter := bucket.Take(lim, now, want)
	b = &pgx.Batch{}
	b.Queue(`UPDATE rate_buckets SET tokens = $2, at = $3 WHERE bucket_key = $1`, key, next.Tokens, next.At)
	b.Queue(`COMMIT`)
	br = conn.SendBatch(ctx, b)
	update, err := br.Exec()
	if err == nil && update.RowsAffected() != 1 {
		err = fmt.Errorf("update locked row: %d rows affected", update.RowsAffected())
	}
	if err == nil {
		var commit pgconn.CommandTag
		commit, err = br.Exec()
		if err == nil && commit.String() != "COMMIT" {
			// An aborted transaction's COMMIT answers ROLLBACK, without an error.
			err = pgx.ErrTxCommitRollback
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, err
	}
	return granted, retryAfter, nil
}

// execAll reads the next n results of br as Execs, stopping at the first error.
func execAll(br pgx.BatchResults, n int) error {
	for range n {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	return nil
}
