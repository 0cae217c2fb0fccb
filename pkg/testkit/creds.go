package testkit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/metadata"

	"kefu.dev/pkg/auth"
)

// Credentials are a test binary's principals: one staff-token issuer every test stack trusts, one pepper,
// and an API key per machine principal ("adapter:web-form", "service:intake"). Every stack that inserts
// the keys (InsertKeys) accepts the same key texts, so As needs no stack.
type Credentials struct {
	Issuer *auth.DevIssuer
	Pepper auth.Pepper
	keys   map[string]string // principal → key text
	// Start is the time tokens are minted at: tests with a fake clock start it here.
	Start time.Time
}

var (
	credsOnce sync.Mutex
	credsByID = map[string]*Credentials{}
)

// NewCredentials returns the credentials of holders (machine principals, "<kind>:<id>"), tokens valid
// from start for a year. It is cheap to call from every test: the set is made once per distinct call.
func NewCredentials(start time.Time, holders ...string) *Credentials {
	id := start.String() + "|" + strings.Join(holders, ",")
	credsOnce.Lock()
	defer credsOnce.Unlock()
	if c, ok := credsByID[id]; ok {
		return c
	}
	iss, err := auth.NewDevIssuer("https://issuer.test", "kefu")
	if err != nil {
		panic(err)
	}
	c := &Credentials{Issuer: iss, Pepper: make(auth.Pepper, auth.MinPepperBytes), keys: map[string]string{}, Start: start}
	if _, err := rand.Read(c.Pepper); err != nil {
		panic(err)
	}
	for _, h := range holders {
		if _, c.keys[h], err = auth.NewAPIKey(rand.Reader); err != nil {
			panic(err)
		}
	}
	credsByID[id] = c
	return c
}

// AuthConfig is the auth configuration of a stack trusting c. Rate limits are out of the way (stacks'
// fake clocks barely move, so buckets would never refill); limits have their own tests.
func (c *Credentials) AuthConfig() auth.Config {
	a := auth.DefaultConfig()
	a.APIKeyPepper, a.OIDCIssuer, a.OIDCAudience, a.StaffKeys = hex.EncodeToString(c.Pepper), c.Issuer.Issuer, c.Issuer.Audience, c.Issuer
	var limits []string
	for _, r := range auth.Roles() {
		limits = append(limits, r+"=1000000:1000000")
	}
	a.RateLimits = strings.Join(limits, ",")
	return a
}

// Key returns a holder's API key text.
func (c *Credentials) Key(holder string) string {
	k, ok := c.keys[holder]
	if !ok {
		panic("no test key for " + holder)
	}
	return k
}

// InsertKeys stores every holder's key in db (its api_keys table): each with its kind as its role, and
// adapters allowed on channels.
func (c *Credentials) InsertKeys(t *testing.T, db *DB, channels []string) {
	t.Helper()
	for holder, text := range c.keys {
		kind, name, _ := strings.Cut(holder, ":")
		id, secret, err := auth.ParseAPIKey(text)
		require.NoError(t, err)
		chs := channels
		if kind != auth.KindAdapter || chs == nil {
			chs = []string{}
		}
		_, err = db.Pool.Exec(t.Context(), `INSERT INTO api_keys (key_id, principal_kind, principal_id, roles, channels, hash,
			created_at, created_by) VALUES ($1, $2, $3, ARRAY[$2], $4, $5, now(), 'test')`,
			id, kind, name, chs, c.Pepper.Hash(id, secret))
		require.NoError(t, err)
	}
}

// As returns ctx calling as principal p ("<kind>:<id>"): a machine principal with its API key, a staff
// member with a token carrying roles (admin when none are given).
func (c *Credentials) As(ctx context.Context, p string, roles ...string) context.Context {
	kind, id, _ := strings.Cut(p, ":")
	var cred string
	if kind == auth.KindStaff {
		if len(roles) == 0 {
			roles = []string{auth.RoleAdmin}
		}
		tok, err := c.Issuer.Mint(auth.StaffToken{Subject: id, Roles: roles, Now: c.Start, TTL: 365 * 24 * time.Hour})
		if err != nil {
			panic(err)
		}
		cred = tok
	} else {
		cred = c.Key(p)
	}
	return metadata.AppendToOutgoingContext(ctx, auth.AuthorizationKey, "Bearer "+cred)
}
