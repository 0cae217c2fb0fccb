package auth

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Limits are the rate limits: per role, and per API key to override a role's. A principal's requests
// share one bucket across every replica (see package ratelimit); its limit is its key's override, else the
// most generous of its roles' limits. A principal none of whose roles has a limit is not limited.
type Limits struct {
	Roles map[string]Limit
	Keys  map[string]Limit
}

// DefaultRateLimits are generous enough for a busy contact centre and low enough to stop a runaway
// client: adapters carry every customer's traffic, staff click.
const DefaultRateLimits = "adapter=200:400,service=500:1000,agent=20:60,supervisor=30:90,admin=20:60,auditor=20:60"

// ParseLimits reads "role=rate:burst,...,key:<key id>=rate:burst": rate in requests a second, burst a
// whole number of requests.
func ParseLimits(s string) (Limits, error) {
	l := Limits{Roles: map[string]Limit{}, Keys: map[string]Limit{}}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		who, shape, ok := strings.Cut(item, "=")
		rateText, burstText, ok2 := strings.Cut(shape, ":")
		if !ok || !ok2 {
			return Limits{}, fmt.Errorf("rate limit %q: want <role>=<rate>:<burst> or key:<key id>=<rate>:<burst>", item)
		}
		rate, err := strconv.ParseFloat(rateText, 64)
		if err != nil {
			return Limits{}, fmt.Errorf("rate limit %q: rate: %w", item, err)
		}
		burst, err := strconv.Atoi(burstText)
		if err != nil {
			return Limits{}, fmt.Errorf("rate limit %q: burst: %w", item, err)
		}
		lim := Limit{Rate: rate, Burst: burst}
		if !lim.Valid() {
			return Limits{}, fmt.Errorf("rate limit %q: want a positive rate and a burst of at least 1", item)
		}
		if id, isKey := strings.CutPrefix(who, "key:"); isKey {
			if len(id) != 2*apiKeyIDBytes || !lowerHex(id) {
				return Limits{}, fmt.Errorf("rate limit %q: %q is not a key id", item, id)
			}
			l.Keys[id] = lim
			continue
		}
		if _, known := grants[who]; !known {
			return Limits{}, fmt.Errorf("rate limit %q: unknown role %q (want one of %s)", item, who, strings.Join(Roles(), ", "))
		}
		l.Roles[who] = lim
	}
	return l, nil
}

// For returns the bucket p's requests share and its limit; ok is false when p is not limited.
func (l Limits) For(p Principal) (bucket string, lim Limit, ok bool) {
	if p.KeyID != "" {
		if lim, ok := l.Keys[p.KeyID]; ok {
			return "key:" + p.KeyID, lim, true
		}
	}
	for _, r := range p.Roles {
		if rl, has := l.Roles[r]; has && (!ok || rl.Rate > lim.Rate) {
			lim, ok = rl, true
		}
	}
	return "principal:" + p.String(), lim, ok
}

// String renders l as ParseLimits reads it.
func (l Limits) String() string {
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(l.Roles)) {
		parts = append(parts, fmt.Sprintf("%s=%g:%d", r, l.Roles[r].Rate, l.Roles[r].Burst))
	}
	for _, k := range slices.Sorted(maps.Keys(l.Keys)) {
		parts = append(parts, fmt.Sprintf("key:%s=%g:%d", k, l.Keys[k].Rate, l.Keys[k].Burst))
	}
	return strings.Join(parts, ",")
}
