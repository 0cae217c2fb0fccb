package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/benchkit"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/natsembed"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/customer"
)

// The customer-find mode (issue #5: find by phone over 1,000,000 customers, p99 under 5 ms) loads
// --customers synthetic customers once into a database of its own (sealed and indexed by the customer
// service's own code, written by COPY), starts the real customer service on it with authentication on
// (a staff token, verified per call), and then, for each caller count, alternates two phases:
//
//   - find: FindCustomers by phone over gRPC, the phone drawn at random from the loaded ones, and one
//     lookup in ten for a phone no customer holds; every answer is checked (one masked record, or none);
//   - floor: what Postgres itself allows for the same lookup: one query fetching the contact by its blind
//     index joined to its customer row, straight through pgx (the index drawn from the loaded contacts, or
//     random bytes for the absent share).
const (
	findDBName = "kefu_bench_customer"
	// absentShare is the share of lookups for a phone nobody holds (a new caller's number).
	absentShare = 0.1
	// floorSample is how many loaded blind indexes the floor draws from.
	floorSample  = 200_000
	floorFindSQL = `SELECT c.id, c.kind, c.state, c.tier, c.preferred_channel, c.data_key, c.profile, c.provenance,
		c.version, c.created_at, c.updated_at, ct.id, ct.kind, ct.value, ct.provenance, ct.created_at
		FROM contacts ct JOIN customers c ON c.id = ct.customer_id
		WHERE ct.value_index = $1 AND c.state = 'active'`
)

// findStack is the customer service under test with its loaded database.
type findStack struct {
	client  customerv1.CustomerServiceClient
	floor   *pgxpool.Pool
	indexes [][]byte // blind indexes of loaded phones, for the floor
	stop    func() error
}

func benchFind(ctx context.Context, o options, log *slog.Logger, rep *report) error {
	s, err := startFind(ctx, o, log, rep)
	if s != nil {
		defer func() { _ = s.stop() }()
	}
	if err != nil {
		return err
	}
	n := o.customers
	find := func(ctx context.Context, _ string) (string, error) {
		i, want := mrand.IntN(n), 1
		if mrand.Float64() < absentShare {
			i, want = n+mrand.IntN(customer.MaxSynthetic-n), 0
		}
		resp, err := s.client.FindCustomers(ctx, &customerv1.FindCustomersRequest{
			Key: &customerv1.FindCustomersRequest_Phone{Phone: customer.SyntheticPhone(i)}})
		if err != nil {
			return "", err
		}
		if got := len(resp.GetCustomers()); got != want {
			return "", fmt.Errorf("FindCustomers: phone of customer %d found %d records, want %d", i, got, want)
		}
		if want == 1 && !resp.GetCustomers()[0].GetMasked() {
			return "", errors.New("FindCustomers returned an unmasked record")
		}
		return "", nil
	}
	floor := func(ctx context.Context, _ string) (string, error) {
		idx, want := s.indexes[mrand.IntN(len(s.indexes))], 1
		if mrand.Float64() < absentShare {
			idx, want = make([]byte, 32), 0
			_, _ = rand.Read(idx)
		}
		rows, err := s.floor.Query(ctx, floorFindSQL, idx)
		if err != nil {
			return "", err
		}
		got := 0
		for rows.Next() {
			got++
			_ = rows.RawValues()
		}
		if err := rows.Err(); err != nil {
			return "", err
		}
		if got != want {
			return "", fmt.Errorf("floor: %d rows, want %d", got, want)
		}
		return "", nil
	}

	maxCallers := slices.Max(o.findCallers)
	// An unreported warm-up: connections, prepared statements, the Go heap, and the hot part of the
	// indexes in Postgres's buffers.
	for _, call := range []func(context.Context, string) (string, error){find, floor} {
		if _, err := runLoad(ctx, maxCallers, min(o.duration, 3*time.Second), call); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	profileFind := !o.want("grpc") && !o.want("rest")
	// Other work on the machine moves the tail latencies most; the load average says how much there was.
	fmt.Printf("customer-find: load average before the phases: %s\n", loadavg())
	defer func() { fmt.Printf("customer-find: load average after the phases: %s\n", loadavg()) }()
	var all samples
	for round := 1; round <= o.rounds; round++ {
		for _, c := range o.findCallers {
			var fr, gr result
			phases := []func() error{
				func() (err error) { fr, err = runLoad(ctx, c, o.duration, floor); return err },
				func() error {
					stop, err := startProfile(o.cpuprof, profileFind && c == maxCallers && round == o.rounds)
					if err != nil {
						return err
					}
					defer stop()
					gr, err = runLoad(ctx, c, o.duration, find)
					return err
				},
			}
			// The two swap places every other round, so the machine's drift does not always favour one.
			if round%2 == 0 {
				phases[0], phases[1] = phases[1], phases[0]
			}
			for _, p := range phases {
				if err := p(); err != nil {
					return err
				}
			}
			fp50, fp99 := percentile(fr.lat, 50), percentile(fr.lat, 99)
			all.add("raw Postgres lookup floor: contact by blind index joined to its customer row, one query", c, fr.rate, "lookups/s")
			all.add("raw Postgres lookup floor p50", c, fp50, "ms")
			all.add("raw Postgres lookup floor p99", c, fp99, "ms")
			all.add(fmt.Sprintf("FindCustomers by phone over gRPC, %s customers, %.0f%% absent phones", benchkit.Thousands(n), 100*absentShare), c, gr.rate, "calls/s").
				ratio(100*gr.rate/fr.rate, "of the raw Postgres lookup floor")
			all.add("FindCustomers p50", c, percentile(gr.lat, 50), "ms").factor(percentile(gr.lat, 50)/fp50, "the floor's p50")
			all.add("FindCustomers p90", c, percentile(gr.lat, 90), "ms")
			all.add("FindCustomers p99", c, percentile(gr.lat, 99), "ms").list().factor(percentile(gr.lat, 99)/fp99, "the floor's p99")
			all.add("FindCustomers max", c, percentile(gr.lat, 100), "ms")
		}
	}
	all.report(rep)
	return nil
}

// startFind creates and loads the database, and starts NATS and the customer service.
func startFind(ctx context.Context, o options, log *slog.Logger, rep *report) (*findStack, error) {
	if err := recreateDB(ctx, o.adminURL, findDBName); err != nil {
		return nil, err
	}
	dbURL, err := pgxutil.WithDatabase(o.adminURL, findDBName)
	if err != nil {
		return nil, err
	}
	roles, err := pgxutil.Provision(ctx, dbURL, "customer")
	if err != nil {
		return nil, err
	}
	iss, err := auth.NewDevIssuer("kefu-bench", "kefu")
	if err != nil {
		return nil, err
	}
	secret := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return b
	}
	cfg := customer.DefaultConfig()
	cfg.DatabaseURL, cfg.MigrateDatabaseURL = roles.RuntimeURL, roles.OwnerURL
	cfg.EncryptionKeys = "bench:" + base64.StdEncoding.EncodeToString(secret(32))
	cfg.BlindIndexKey = base64.StdEncoding.EncodeToString(secret(32))
	cfg.Auth.APIKeyPepper, cfg.Auth.OIDCIssuer, cfg.Auth.OIDCAudience, cfg.Auth.StaffKeys =
		hex.EncodeToString(secret(auth.MinPepperBytes)), iss.Issuer, iss.Audience, iss
	// The agent's limit is far above what the machine can do, so the limiter runs without refusing.
	cfg.Auth.RateLimits = "agent=1000000:1000000"
	if err := customer.Migrate(ctx, cfg); err != nil {
		return nil, err
	}
	cfg.Migrate = false

	began := time.Now()
	fmt.Printf("customer-find: loading %s synthetic customers…\n", benchkit.Thousands(o.customers))
	if err := customer.LoadSynthetic(ctx, cfg, o.customers, 2); err != nil {
		return nil, err
	}
	took := time.Since(began)
	rep.add(fmt.Sprintf("bulk load of %s synthetic customers: seal, COPY (customer, contact, consent rows), VACUUM (ANALYZE)", benchkit.Thousands(o.customers)),
		2, took.Seconds(), "s", fmt.Sprintf("%.0f customers/s; 2 workers", float64(o.customers)/took.Seconds()))
	if err := checkpoint(ctx, dbURL); err != nil {
		return nil, err
	}

	s := &findStack{}
	natsDir, err := os.MkdirTemp("", "kefu-bench-find-nats-")
	if err != nil {
		return nil, err
	}
	ns, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: filepath.Join(natsDir, "js")})
	if err != nil {
		_ = os.RemoveAll(natsDir)
		return nil, fmt.Errorf("start nats: %w", err)
	}
	cfg.NATSURL = ns.ClientURL()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ns.Shutdown()
		_ = os.RemoveAll(natsDir)
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	g, gctx := errgroup.WithContext(sctx)
	g.Go(func() error { return customer.Serve(gctx, cfg, log.With("component", "customer"), lis) })
	var cc *grpc.ClientConn
	s.stop = func() error {
		if s.floor != nil {
			s.floor.Close()
		}
		if cc != nil {
			_ = cc.Close()
		}
		cancel()
		err := g.Wait()
		ns.Shutdown()
		_ = os.RemoveAll(natsDir)
		if derr := dropDB(context.WithoutCancel(ctx), o.adminURL, findDBName); derr != nil && err == nil {
			err = derr
		}
		return err
	}

	token, err := iss.Mint(auth.StaffToken{Subject: "bench-agent", Roles: []string{auth.RoleAgent}, TTL: 24 * time.Hour})
	if err != nil {
		return s, err
	}
	if cc, err = grpcx.Dial(lis.Addr().String(), grpcx.Bearer(token)); err != nil {
		return s, err
	}
	s.client = customerv1.NewCustomerServiceClient(cc)
	if err := waitCustomer(ctx, s.client); err != nil {
		return s, err
	}
	if s.floor, err = pgxutil.Open(ctx, roles.RuntimeURL, pgxutil.Options{Schema: "customer",
		MaxConns: int32(slices.Max(o.findCallers) + 2), AppName: "kefu-bench-find-floor"}); err != nil {
		return s, err
	}
	s.indexes, err = sampleIndexes(ctx, s.floor, o.customers)
	return s, err
}

// sampleIndexes reads up to floorSample blind indexes of loaded contacts, spread over the whole table.
func sampleIndexes(ctx context.Context, pool *pgxpool.Pool, n int) ([][]byte, error) {
	pct := min(100, 100*float64(floorSample)/float64(n))
	rows, err := pool.Query(ctx, fmt.Sprintf(`SELECT value_index FROM contacts TABLESAMPLE SYSTEM (%g) LIMIT %d`, pct, floorSample))
	if err != nil {
		return nil, err
	}
	idx, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, fmt.Errorf("sample blind indexes: %w", err)
	}
	if len(idx) == 0 {
		return nil, errors.New("sample blind indexes: none loaded")
	}
	return idx, nil
}

// waitCustomer waits (at most 60 s) until the service answers an authenticated call.
func waitCustomer(ctx context.Context, c customerv1.CustomerServiceClient) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := c.ListTiers(ctx, &customerv1.ListTiersRequest{})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the customer service did not answer within 60 s: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// checkpoint writes out what the load left dirty, so no phase pays for it.
func checkpoint(ctx context.Context, url string) error {
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	if _, err := db.Exec(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// loadavg returns the machine's 1, 5 and 15 minute load averages.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
