package customer

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/customer/internal/app"
	domain "kefu.dev/services/customer/internal/domain/customer"
	"kefu.dev/services/customer/internal/store"
)

// MaxSynthetic is the most synthetic customers SyntheticPhone can tell apart (nine digits of i).
const MaxSynthetic = 1_000_000_000

// syntheticBatch is how many customers one COPY transaction carries (with their contacts and consents,
// three times as many rows): large enough that per-transaction costs vanish, small enough that the two
// workers' sealing and copying overlap.
const syntheticBatch = 5000

// SyntheticPhone returns the phone of synthetic customer i (0 ≤ i < MaxSynthetic): "13" then i in nine
// digits, a mainland mobile number. For i at or above the n loaded it is a phone no customer holds.
func SyntheticPhone(i int) string { return fmt.Sprintf("13%09d", i) }

// LoadSynthetic fills the (migrated, empty) customer schema with n synthetic individual customers for
// benchmarks: customer i has a name, gender, age and occupation, and one phone, SyntheticPhone(i), with a
// consent. Each is validated, sealed under its own data key and indexed under cfg's keys by the same code
// as CreateCustomer, so FindCustomers and GetCustomer serve them exactly like created ones; but they are
// written by COPY in batches from `workers` parallel connections, without events or idempotency keys.
// Then it runs VACUUM (ANALYZE) on the tables, so the planner knows their size and the first reads do not
// pay for setting hint bits. It connects as cfg.MigrateDatabaseURL (the owner, who may vacuum) when set,
// else cfg.DatabaseURL.
func LoadSynthetic(ctx context.Context, cfg Config, n, workers int) error {
	if n < 0 || n > MaxSynthetic {
		return fmt.Errorf("load synthetic customers: n must be between 0 and %d", MaxSynthetic)
	}
	workers = max(workers, 1)
	kr, ix, err := cfg.keys()
	if err != nil {
		return err
	}
	url := cfg.MigrateDatabaseURL
	if url == "" {
		url = cfg.DatabaseURL
	}
	pool, err := pgxutil.Open(ctx, url, pgxutil.Options{Schema: store.Schema, MaxConns: int32(workers + 1), AppName: "customer-load"})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer pool.Close()
	st := store.New(pool)
	a := app.New(st, clock.Real{}, nopNotifier{}, kr, ix, app.Config{}, slog.New(slog.DiscardHandler))

	var next atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range workers {
		g.Go(func() error {
			for gctx.Err() == nil {
				to := int(next.Add(syntheticBatch))
				from := to - syntheticBatch
				if from >= n {
					return nil
				}
				to = min(to, n)
				rows := make([]*store.Row, 0, to-from)
				for i := from; i < to; i++ {
					r, err := a.NewRow(syntheticCustomer(i))
					if err != nil {
						return fmt.Errorf("synthetic customer %d: %w", i, err)
					}
					rows = append(rows, r)
				}
				if err := st.CopyRows(gctx, rows); err != nil {
					return err
				}
			}
			return gctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("load synthetic customers: %w", err)
	}
	if _, err := pool.Exec(ctx, `VACUUM (ANALYZE) customers, contacts, consents`); err != nil {
		return fmt.Errorf("vacuum synthetic customers: %w", err)
	}
	return nil
}

// Parts of synthetic profiles, so that sealed profiles have the sizes of real ones.
var (
	syntheticSurnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
	syntheticGiven    = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅文辉建国志鹏宇浩然欣怡")
	syntheticJobs     = []string{"教师", "工程师", "会计", "医生", "销售", "设计师", "律师", "厨师", "司机", "学生", "公务员", "自由职业"}
)

func syntheticCustomer(i int) domain.Customer {
	prov := domain.Provenance{Source: domain.SourceCustomer, Detail: "synthetic benchmark data"}
	g := len(syntheticGiven)
	name := string([]rune{syntheticSurnames[i%len(syntheticSurnames)], syntheticGiven[(i/7)%g], syntheticGiven[(i/11)%g]})
	age := 18 + i%62
	return domain.Customer{
		Kind: domain.KindIndividual,
		Tier: "standard",
		Individual: &domain.Individual{Name: name, Gender: []string{"female", "male"}[i%2], Age: &age,
			Occupation: syntheticJobs[i%len(syntheticJobs)]},
		Provenance: prov,
		Contacts: []domain.Contact{{Kind: domain.ContactPhone, Value: SyntheticPhone(i), Provenance: prov,
			Consents: []domain.Consent{{Purpose: "service_follow_up", Channel: "phone"}}}},
	}
}
