package app

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"kefu.dev/pkg/clock"
	"kefu.dev/services/intake/internal/domain/incident"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/store"
)

// policy is the taxonomy, rules and active incidents in force, as the domain and the admin API want them.
type policy struct {
	subcategories []store.Subcategory // all, for the admin API
	rules         []store.Rule        // all, in evaluation order, for the admin API
	taxonomy      ticket.Taxonomy     // active subcategories: what tickets may be classified into
	active        []ticket.Rule       // enabled rules whose target (if any) is active
	// incidents are the active incidents, most severe first, then oldest: a new ticket joins the first
	// whose scope takes it.
	incidents []incident.Incident
}

// policyCache keeps the policy in memory: every submit classifies with it, and it changes rarely. A write
// through this replica invalidates it at once; another replica's write is seen within the TTL.
type policyCache struct {
	store *store.Store
	clock clock.Clock
	ttl   time.Duration

	mu       sync.Mutex
	cur      *policy
	loadedAt time.Time
}

func newPolicyCache(st *store.Store, clk clock.Clock, ttl time.Duration) *policyCache {
	return &policyCache{store: st, clock: clk, ttl: ttl}
}

// get returns the current policy, loading it when missing or older than the TTL. Loads are serialised, so a
// burst of submits after an invalidation costs one load, not one each.
func (c *policyCache) get(ctx context.Context) (*policy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clock.Now()
	if c.cur != nil && (c.ttl <= 0 || now.Sub(c.loadedAt) < c.ttl) && !now.Before(c.loadedAt) {
		return c.cur, nil
	}
	subs, err := c.store.ListSubcategories(ctx)
	if err != nil {
		return nil, err
	}
	rules, err := c.store.ListRules(ctx)
	if err != nil {
		return nil, err
	}
	active, err := c.store.ActiveIncidents(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(active, func(a, b incident.Incident) int { return cmp.Compare(a.Severity, b.Severity) })
	p := &policy{subcategories: subs, rules: rules, incidents: active}
	for _, s := range subs {
		if s.Active {
			p.taxonomy.Subcategories = append(p.taxonomy.Subcategories, s.Subcategory)
		}
	}
	for _, r := range rules {
		if !r.Enabled {
			continue
		}
		if r.Target != "" {
			typ, code, err := ticket.ParseTarget(r.Target)
			if err != nil || !p.taxonomy.Has(typ, code) {
				continue
			}
		}
		p.active = append(p.active, r.Rule)
	}
	p.active = ticket.PrepareRules(p.active)
	c.cur, c.loadedAt = p, now
	return p, nil
}

// invalidate drops the cached policy after a local write.
func (c *policyCache) invalidate() {
	c.mu.Lock()
	c.cur = nil
	c.mu.Unlock()
}
