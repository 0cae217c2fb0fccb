// Package pgxutil holds kefu's Postgres plumbing shared by every service: opening a pool bound to the
// service's schema, running a transaction with bounded retries of serialization failures, classifying
// driver errors, applying goose migration sets and provisioning the owner and runtime roles.
package pgxutil

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options configures [Open].
type Options struct {
	// Schema becomes the session's search_path, so a service's SQL is unqualified. Empty keeps the default.
	Schema string
	// MaxConns caps the pool; 0 keeps pgxpool's default (max(4, CPUs)) or the URL's pool_max_conns.
	MaxConns int32
	// Tracer traces every query (e.g. otelpgx); nil for none.
	Tracer pgx.QueryTracer
	// AppName is reported as application_name in pg_stat_activity.
	AppName string
}

// Open creates a pool for url and pings it, so a wrong URL or an unreachable server fails at start-up.
func Open(ctx context.Context, url string, o Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	// RuntimeParams are sent in the start-up packet, so every connection, including ones the pool opens
	// later, has them before the first query; no AfterConnect round trip.
	if o.Schema != "" {
		sp := o.Schema
		if !identRE.MatchString(sp) {
			sp = pgx.Identifier{sp}.Sanitize() // quote only what needs it, so SHOW search_path reads naturally
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = sp
	}
	if o.AppName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = o.AppName
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if o.Tracer != nil {
		cfg.ConnConfig.Tracer = o.Tracer
	}
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		registerUUID(c.TypeMap())
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping database: %w", err)
	}
	return pool, nil
}
