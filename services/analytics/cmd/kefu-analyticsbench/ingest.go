package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	analyticsv1 "kefu.dev/pkg/api/kefu/analytics/v1"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/services/analytics"
)

type ingested struct {
	took       time.Duration
	slices     []float64 // events/s over each tenth
	goCPU      time.Duration
	natsCPU    time.Duration
	pgCPU      time.Duration
	wal        int64 // bytes of WAL written
	idle       float64
	statements []string
}

// ingest starts the service on the backlog and waits until every event is ingested. It returns a client of
// the service and the function that stops it.
func ingest(ctx context.Context, cfg analytics.Config, log *slog.Logger, token string, db, admin *pgx.Conn, natsCPU func() time.Duration,
	n int, profile string, statements bool) (ingested, analyticsv1.AnalyticsServiceClient, func() error, error) {
	var res ingested
	if statements {
		if _, err := db.Exec(ctx, `SELECT pg_stat_statements_reset()`); err != nil {
			statements = false
		}
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, nil, nil, err
	}
	cc, err := grpcx.Dial(lis.Addr().String(), grpcx.Bearer(token))
	if err != nil {
		_ = lis.Close()
		return res, nil, nil, err
	}
	client := analyticsv1.NewAnalyticsServiceClient(cc)
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return res, nil, nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return res, nil, nil, err
		}
		defer pprof.StopCPUProfile()
	}
	pgBefore, _ := postgresCPU(ctx, admin)
	var walBefore string
	_ = admin.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&walBefore)
	goBefore, natsBefore, cpuBefore := processCPU(), natsCPU(), machineCPU()
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	began := time.Now()
	go func() { done <- analytics.Serve(sctx, cfg, log, lis) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			stopErr = <-done
			_ = cc.Close()
		})
		return stopErr
	}
	// Progress from the counter the service keeps (one row, cheap to read), then the status RPC.
	type sample struct {
		at time.Duration
		n  int64
	}
	samples := []sample{{0, 0}}
	for {
		var got int64
		if err := db.QueryRow(ctx, `SELECT events FROM analytics.ingest_stats WHERE id = 1`).Scan(&got); err != nil {
			st, serr := client.GetIngestionStatus(ctx, &analyticsv1.GetIngestionStatusRequest{})
			if serr != nil && status.Code(serr) != codes.Unavailable {
				return res, nil, stop, fmt.Errorf("ingestion status: %w (counter: %v)", serr, err)
			}
			got = st.GetEventsIngested()
		}
		samples = append(samples, sample{time.Since(began), got})
		if got >= int64(n) {
			st, err := client.GetIngestionStatus(ctx, &analyticsv1.GetIngestionStatusRequest{})
			if err == nil && st.GetEventsIngested() == int64(n) && st.GetEventsBehind() == 0 {
				break
			}
			if err == nil && st.GetEventsIngested() > int64(n) {
				return res, nil, stop, fmt.Errorf("%d events ingested, %d published", st.GetEventsIngested(), n)
			}
		}
		select {
		case err := <-done:
			done <- err
			return res, nil, stop, fmt.Errorf("the service stopped during ingestion: %v", err)
		case <-ctx.Done():
			return res, nil, stop, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Since(began) > 2*time.Hour {
			return res, nil, stop, fmt.Errorf("%d of %d events ingested after 2 hours", got, n)
		}
	}
	res.took = time.Since(began)
	pprof.StopCPUProfile()
	res.goCPU, res.natsCPU = processCPU()-goBefore, natsCPU()-natsBefore
	cpuAfter := machineCPU()
	if pgAfter, err := postgresCPU(ctx, admin); err == nil {
		res.pgCPU = pgAfter - pgBefore
	}
	_ = admin.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint`, walBefore).Scan(&res.wal)
	if total := cpuAfter.total - cpuBefore.total; total > 0 {
		res.idle = float64(cpuAfter.idle-cpuBefore.idle) / float64(total)
	}
	// The time each tenth was crossed, between samples by linear interpolation.
	prev := time.Duration(0)
	for k := 1; k <= 10; k++ {
		target := int64(n) * int64(k) / 10
		i := slices.IndexFunc(samples, func(s sample) bool { return s.n >= target })
		at := samples[i].at
		if i > 0 && samples[i].n > samples[i-1].n {
			a, b := samples[i-1], samples[i]
			at = a.at + time.Duration(float64(b.at-a.at)*float64(target-a.n)/float64(b.n-a.n))
		}
		res.slices = append(res.slices, float64(n)/10/(at-prev).Seconds())
		prev = at
	}
	if statements {
		res.statements = topStatements(ctx, db)
	}
	return res, client, stop, nil
}

// enableStatements creates pg_stat_statements in the bench database when the server preloads it.
func enableStatements(ctx context.Context, db *pgx.Conn) bool {
	if _, err := db.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
		return false
	}
	_, err := db.Exec(ctx, `SELECT pg_stat_statements_reset()`)
	if err != nil {
		progress("pg_stat_statements is not preloaded by this cluster: statement times not reported")
	}
	return err == nil
}

func topStatements(ctx context.Context, db *pgx.Conn) []string {
	rows, err := db.Query(ctx, `SELECT calls, total_exec_time, mean_exec_time, rows, regexp_replace(query, '\s+', ' ', 'g')
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time DESC LIMIT 10`)
	if err != nil {
		return []string{err.Error()}
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var calls, nrows int64
		var total, mean float64
		var q string
		if err := rows.Scan(&calls, &total, &mean, &nrows, &q); err != nil {
			return append(out, err.Error())
		}
		if len(q) > 110 {
			q = q[:110] + "…"
		}
		out = append(out, fmt.Sprintf("%8.1f s %8d calls %8.2f ms each %10d rows  %s", total/1000, calls, mean, nrows, q))
	}
	return out
}

type table struct {
	name  string
	rows  int64
	bytes int64
	// updates and hot are the table's row updates since the database was created, and how many of them
	// were heap-only (rewritten in the row's page, no index entry added).
	updates, hot int64
}

// tableStats lists the service's tables with their exact row counts, sizes (indexes included) and updates.
func tableStats(ctx context.Context, db *pgx.Conn) ([]table, error) {
	rows, err := db.Query(ctx, `SELECT c.relname, pg_total_relation_size(c.oid), coalesce(s.n_tup_upd, 0), coalesce(s.n_tup_hot_upd, 0)
		FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
		WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind = 'r' ORDER BY 2 DESC`)
	if err != nil {
		return nil, err
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		return t, r.Scan(&t.name, &t.bytes, &t.updates, &t.hot)
	})
	if err != nil {
		return nil, err
	}
	var out []table
	for _, t := range ts {
		if t.bytes < 64<<10 {
			continue // the small shared tables (keys, audit, outbox)
		}
		if err := db.QueryRow(ctx, `SELECT count(*) FROM analytics.`+pgx.Identifier{t.name}.Sanitize()).Scan(&t.rows); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}
