package peers

import (
	"context"
	"sync"
	"time"
)

// memoTTL is how long an agent's name or a calendar's business status is remembered. Both change rarely
// (an admin renames an agent or edits a calendar), and asking for them on every message made each
// acknowledgement wait on two more calls; a change shows in messages within this time.
const memoTTL = time.Minute

// memoMax bounds the entries kept: past it, expired ones are dropped, and if that is not enough, all.
const memoMax = 4096

// memo remembers successful answers by key for ttl. Failures are not remembered. Two callers missing the
// same key at once may both ask; the later answer is kept.
type memo[K comparable, V any] struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[K]memoEntry[V]
}

type memoEntry[V any] struct {
	v       V
	expires time.Time
}

func newMemo[K comparable, V any](ttl time.Duration, now func() time.Time) *memo[K, V] {
	return &memo[K, V]{ttl: ttl, now: now, m: map[K]memoEntry[V]{}}
}

// get returns key's remembered answer, or asks fetch and remembers what it answers.
func (c *memo[K, V]) get(ctx context.Context, key K, fetch func(context.Context) (V, error)) (V, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	v, err := fetch(ctx)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= memoMax {
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= memoMax {
			clear(c.m)
		}
	}
	c.m[key] = memoEntry[V]{v: v, expires: now.Add(c.ttl)}
	return v, nil
}
