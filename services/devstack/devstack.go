// Package devstack runs the whole kefu suite in one process for development: an embedded NATS JetStream
// server, Postgres (DATABASE_URL, or a private cluster started from the installed binaries), every service
// through its exported Serve, and the REST gateway. Dev and production wire alike: the runner only supplies
// listeners, URLs and roles.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/pgcluster"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/analytics"
	"kefu.dev/services/customer"
	"kefu.dev/services/gateway"
	"kefu.dev/services/intake"
	"kefu.dev/services/kb"
	"kefu.dev/services/notify"
	"kefu.dev/services/routing"
	"kefu.dev/services/slatimer"
)

// Config configures the dev stack.
type Config struct {
	DataDir       string        // private Postgres data, JetStream store and dev secrets (devauth.go) live below it
	DatabaseURL   string        // admin URL of an existing cluster (needs CREATEROLE); empty starts a private one
	PostgresPort  int           // port of the private cluster; 0 picks a free one
	NATSPort      int           // embedded NATS client port; -1 picks a free one
	NATSSync      bool          // fsync every JetStream write
	NATSSyncEvery time.Duration // JetStream fsync interval when NATSSync is off; 0 keeps the server default (2 min)
	Host          string        // interface every listener binds to
	HTTPPort      int           // REST gateway
	IssuerPort    int           // the dev identity provider's JWKS
	IntakePort    int
	CustomerPort  int
	RoutingPort   int
	SlatimerPort  int
	AnalyticsPort int
	NotifyPort    int
	KBPort        int
	// RateLimits overrides the services' rate limits (auth.ParseLimits' form); empty keeps the defaults.
	RateLimits string
	// ServiceLogger returns the logger of one service (tagged with its name); nil derives them from Run's
	// logger.
	ServiceLogger func(service string) *slog.Logger
}

// DefaultConfig returns the ports the README documents.
func DefaultConfig() Config {
	return Config{
		DataDir: ".kefu/dev", NATSPort: 4222, Host: "127.0.0.1", HTTPPort: 8080, IssuerPort: 8090,
		IntakePort: 7001, CustomerPort: 7002, RoutingPort: 7003, SlatimerPort: 7004, AnalyticsPort: 7005,
		NotifyPort: 7006, KBPort: 7007,
	}
}

// Addresses are where the running stack listens.
type Addresses struct {
	REST, Intake, Customer, Routing, Slatimer, Analytics, Notify, KB, NATS, Postgres string
	// JWKS is the dev identity provider's key set, which the services trust for staff tokens.
	JWKS string
}

// Run starts everything, calls ready (if not nil) with the addresses, and serves until ctx is done; then it
// stops the services, NATS and the private cluster, in that order.
func Run(ctx context.Context, cfg Config, log *slog.Logger, ready func(Addresses)) (err error) {
	svcLog := cfg.ServiceLogger
	if svcLog == nil {
		svcLog = func(name string) *slog.Logger { return log.With("component", name) }
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	adminURL := cfg.DatabaseURL
	var addrs Addresses
	if adminURL == "" {
		cl, err := pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dataDir, "pg"), Port: cfg.PostgresPort, Logger: log})
		if err != nil {
			return fmt.Errorf("start private postgres: %w", err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			err = errors.Join(err, cl.Stop(sctx))
		}()
		adminURL = cl.AdminURL("postgres")
		addrs.Postgres = fmt.Sprintf("127.0.0.1:%d (private cluster in %s)", cl.Port(), cl.Dir())
	} else {
		addrs.Postgres = "DATABASE_URL"
	}
	issuer, err := LoadIssuer(dataDir)
	if err != nil {
		return err
	}
	pepper, err := loadPepper(dataDir)
	if err != nil {
		return err
	}
	encKeysFile, indexKeyFile, err := customerKeyFiles(dataDir)
	if err != nil {
		return err
	}
	roles, err := pgxutil.Provision(ctx, adminURL, "intake")
	if err != nil {
		return fmt.Errorf("provision intake roles: %w", err)
	}
	croles, err := pgxutil.Provision(ctx, adminURL, "customer")
	if err != nil {
		return fmt.Errorf("provision customer roles: %w", err)
	}
	rroles, err := pgxutil.Provision(ctx, adminURL, "routing")
	if err != nil {
		return fmt.Errorf("provision routing roles: %w", err)
	}
	sroles, err := pgxutil.Provision(ctx, adminURL, "slatimer")
	if err != nil {
		return fmt.Errorf("provision slatimer roles: %w", err)
	}
	aroles, err := pgxutil.Provision(ctx, adminURL, "analytics")
	if err != nil {
		return fmt.Errorf("provision analytics roles: %w", err)
	}
	nroles, err := pgxutil.Provision(ctx, adminURL, "notify")
	if err != nil {
		return fmt.Errorf("provision notify roles: %w", err)
	}
	kroles, err := pgxutil.Provision(ctx, adminURL, "kb")
	if err != nil {
		return fmt.Errorf("provision kb roles: %w", err)
	}
	// The schemas are migrated before anything serves: intake's keys at the customer service and at
	// routing, and routing's key at intake, go into their api_keys tables, and a stack that is ready has every schema in place (a
	// stack stopped at once does not cut a migration short).
	if err := customer.Migrate(ctx, customer.Config{MigrateDatabaseURL: croles.OwnerURL}); err != nil {
		return fmt.Errorf("customer: %w", err)
	}
	if err := intake.Migrate(ctx, intake.Config{MigrateDatabaseURL: roles.OwnerURL}); err != nil {
		return fmt.Errorf("intake: %w", err)
	}
	if err := routing.Migrate(ctx, routing.Config{MigrateDatabaseURL: rroles.OwnerURL}); err != nil {
		return fmt.Errorf("routing: %w", err)
	}
	if err := slatimer.Migrate(ctx, slatimer.Config{MigrateDatabaseURL: sroles.OwnerURL}); err != nil {
		return fmt.Errorf("slatimer: %w", err)
	}
	if err := analytics.Migrate(ctx, analytics.Config{MigrateDatabaseURL: aroles.OwnerURL}); err != nil {
		return fmt.Errorf("analytics: %w", err)
	}
	if err := notify.Migrate(ctx, notify.Config{MigrateDatabaseURL: nroles.OwnerURL}); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if err := kb.Migrate(ctx, kb.Config{MigrateDatabaseURL: kroles.OwnerURL}); err != nil {
		return fmt.Errorf("kb: %w", err)
	}
	intakeKey, err := ensureServiceKey(ctx, intakeAtCustomer, dataDir, croles.RuntimeURL, pepper)
	if err != nil {
		return err
	}
	routingKey, err := ensureServiceKey(ctx, routingAtIntake, dataDir, roles.RuntimeURL, pepper)
	if err != nil {
		return err
	}
	intakeRoutingKey, err := ensureServiceKey(ctx, intakeAtRouting, dataDir, rroles.RuntimeURL, pepper)
	if err != nil {
		return err
	}
	ncfg, kcfg := notify.DefaultConfig(), kb.DefaultConfig()
	for _, k := range []struct {
		key  serviceKey
		url  string
		dest *string
	}{
		{notifyAtIntake, roles.RuntimeURL, &ncfg.IntakeAPIKey},
		{notifyAtCustomer, croles.RuntimeURL, &ncfg.CustomerAPIKey},
		{notifyAtSlatimer, sroles.RuntimeURL, &ncfg.SlatimerAPIKey},
		{notifyAtRouting, rroles.RuntimeURL, &ncfg.RoutingAPIKey},
		{kbAtIntake, roles.RuntimeURL, &kcfg.IntakeAPIKey},
		{kbAtRouting, rroles.RuntimeURL, &kcfg.RoutingAPIKey},
	} {
		if *k.dest, err = ensureServiceKey(ctx, k.key, dataDir, k.url, pepper); err != nil {
			return err
		}
	}

	ns, err := natsembed.Start(natsembed.Options{Host: cfg.Host, Port: cfg.NATSPort, StoreDir: filepath.Join(dataDir, "nats"),
		SyncAlways: cfg.NATSSync, SyncInterval: cfg.NATSSyncEvery, ServerName: "kefu-dev", Logger: svcLog("nats")})
	if err != nil {
		return fmt.Errorf("start embedded nats: %w", err)
	}
	defer ns.Shutdown()
	addrs.NATS = ns.ClientURL()

	listen := func(port int) (net.Listener, error) {
		return net.Listen("tcp", net.JoinHostPort(cfg.Host, fmt.Sprint(port)))
	}
	type svc struct {
		port  int
		addr  *string
		serve func(ctx context.Context, lis net.Listener) error
	}
	jwksLis, err := listen(cfg.IssuerPort)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	addrs.JWKS = "http://" + jwksLis.Addr().String() + jwksPath
	// Every service trusts the same callers: the dev pepper and the dev issuer.
	authCfg := auth.DefaultConfig()
	authCfg.APIKeyPepper, authCfg.OIDCIssuer, authCfg.OIDCAudience, authCfg.OIDCJWKSURL = pepper, DevIssuer, DevAudience, addrs.JWKS
	if cfg.RateLimits != "" {
		authCfg.RateLimits = cfg.RateLimits
	}
	ccfg := customer.DefaultConfig()
	ccfg.DatabaseURL, ccfg.MigrateDatabaseURL, ccfg.NATSURL = croles.RuntimeURL, croles.OwnerURL, ns.ClientURL()
	ccfg.EncryptionKeysFile, ccfg.BlindIndexKeyFile = encKeysFile, indexKeyFile
	ccfg.Auth, ccfg.Reflection = authCfg, true
	ccfg.Migrate = false // done above
	icfg := intake.DefaultConfig()
	icfg.DatabaseURL, icfg.MigrateDatabaseURL, icfg.NATSURL = roles.RuntimeURL, roles.OwnerURL, ns.ClientURL()
	icfg.Auth, icfg.Reflection = authCfg, true
	icfg.Migrate = false // done above
	rcfg := routing.DefaultConfig()
	rcfg.DatabaseURL, rcfg.MigrateDatabaseURL, rcfg.NATSURL = rroles.RuntimeURL, rroles.OwnerURL, ns.ClientURL()
	rcfg.IntakeAPIKey = routingKey
	rcfg.Auth, rcfg.Reflection = authCfg, true
	rcfg.Migrate = false // done above
	scfg := slatimer.DefaultConfig()
	scfg.DatabaseURL, scfg.MigrateDatabaseURL, scfg.NATSURL = sroles.RuntimeURL, sroles.OwnerURL, ns.ClientURL()
	scfg.Auth, scfg.Reflection = authCfg, true
	scfg.Migrate = false // done above
	acfg := analytics.DefaultConfig()
	acfg.DatabaseURL, acfg.MigrateDatabaseURL, acfg.NATSURL = aroles.RuntimeURL, aroles.OwnerURL, ns.ClientURL()
	acfg.Auth, acfg.Reflection = authCfg, true
	acfg.Migrate = false // done above
	ncfg.DatabaseURL, ncfg.MigrateDatabaseURL, ncfg.NATSURL = nroles.RuntimeURL, nroles.OwnerURL, ns.ClientURL()
	ncfg.Auth, ncfg.Reflection = authCfg, true
	ncfg.Migrate = false // done above
	kcfg.DatabaseURL, kcfg.MigrateDatabaseURL, kcfg.NATSURL = kroles.RuntimeURL, kroles.OwnerURL, ns.ClientURL()
	kcfg.Auth, kcfg.Reflection = authCfg, true
	kcfg.Migrate = false // done above
	svcs := []svc{
		{cfg.IntakePort, &addrs.Intake, func(ctx context.Context, l net.Listener) error {
			return intake.Serve(ctx, icfg, svcLog("intake"), l)
		}},
		{cfg.CustomerPort, &addrs.Customer, func(ctx context.Context, l net.Listener) error {
			return customer.Serve(ctx, ccfg, svcLog("customer"), l)
		}},
		{cfg.RoutingPort, &addrs.Routing, func(ctx context.Context, l net.Listener) error {
			return routing.Serve(ctx, rcfg, svcLog("routing"), l)
		}},
		{cfg.SlatimerPort, &addrs.Slatimer, func(ctx context.Context, l net.Listener) error {
			return slatimer.Serve(ctx, scfg, svcLog("slatimer"), l)
		}},
		{cfg.AnalyticsPort, &addrs.Analytics, func(ctx context.Context, l net.Listener) error {
			return analytics.Serve(ctx, acfg, svcLog("analytics"), l)
		}},
		{cfg.NotifyPort, &addrs.Notify, func(ctx context.Context, l net.Listener) error {
			return notify.Serve(ctx, ncfg, svcLog("notify"), l)
		}},
		{cfg.KBPort, &addrs.KB, func(ctx context.Context, l net.Listener) error {
			return kb.Serve(ctx, kcfg, svcLog("kb"), l)
		}},
	}
	lis := make([]net.Listener, len(svcs))
	for i, s := range svcs {
		if lis[i], err = listen(s.port); err != nil {
			closeAll(append(lis, jwksLis))
			return fmt.Errorf("listen: %w", err)
		}
		*s.addr = lis[i].Addr().String()
	}
	httpLis, err := listen(cfg.HTTPPort)
	if err != nil {
		closeAll(append(lis, jwksLis))
		return fmt.Errorf("listen: %w", err)
	}
	addrs.REST = "http://" + httpLis.Addr().String()
	// Set once the listeners are bound (their ports may be 0); the closures above read icfg and rcfg when
	// they run.
	icfg.CustomerAddr, icfg.CustomerAPIKey = addrs.Customer, intakeKey
	icfg.RoutingAddr, icfg.RoutingAPIKey = addrs.Routing, intakeRoutingKey
	rcfg.IntakeAddr = addrs.Intake
	ncfg.IntakeAddr, ncfg.CustomerAddr, ncfg.SlatimerAddr, ncfg.RoutingAddr = addrs.Intake, addrs.Customer, addrs.Slatimer, addrs.Routing
	kcfg.IntakeAddr, kcfg.RoutingAddr = addrs.Intake, addrs.Routing
	gcfg := gateway.DefaultConfig()
	gcfg.IntakeAddr, gcfg.CustomerAddr, gcfg.RoutingAddr = addrs.Intake, addrs.Customer, addrs.Routing
	gcfg.SlatimerAddr, gcfg.AnalyticsAddr, gcfg.NotifyAddr, gcfg.KBAddr = addrs.Slatimer, addrs.Analytics, addrs.Notify, addrs.KB

	g, gctx := errgroup.WithContext(ctx)
	for i, s := range svcs {
		g.Go(func() error { return s.serve(gctx, lis[i]) })
	}
	g.Go(func() error { return gateway.Serve(gctx, httpLis, gcfg, svcLog("gateway")) })
	g.Go(func() error { return serveJWKS(gctx, jwksLis, issuer) })
	if ready != nil {
		ready(addrs)
	}
	return g.Wait()
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		if l != nil {
			_ = l.Close()
		}
	}
}

// Banner renders the addresses for people.
func (a Addresses) Banner() string {
	return fmt.Sprintf(`kefu is running.
  REST gateway     %s   (OpenAPI: %s/openapi.json)
  gRPC intake      %s
  gRPC customer    %s
  gRPC routing     %s
  gRPC slatimer    %s
  gRPC analytics   %s
  gRPC notify      %s
  gRPC kb          %s
  NATS JetStream   %s
  PostgreSQL       %s
  Dev JWKS         %s
Mint a staff token: go run ./services/devstack/cmd/kefu-dev token --role admin
Press Ctrl-C to stop.
`, a.REST, a.REST, a.Intake, a.Customer, a.Routing, a.Slatimer, a.Analytics, a.Notify, a.KB, a.NATS, a.Postgres, a.JWKS)
}
