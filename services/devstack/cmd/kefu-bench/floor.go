package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/intake"
)

// The floor runs in a database of its own, migrated like intake's but with no service or relay attached,
// so it measures Postgres alone. It inserts what one SubmitTicket writes — idempotency key, ticket (numbered by the same SQL
// function), timeline entry, outbox row, audit record — in one transaction, as one pipelined batch, as
// the runtime role. It is the best any implementation of submit could do on this Postgres.
const (
	floorClaim = `INSERT INTO idempotency_keys (principal, scope, key, fingerprint, resource_id, created_at)
		VALUES ($1, 'submit_ticket', $2, $3, $4, $5) ON CONFLICT ON CONSTRAINT idempotency_keys_pkey DO NOTHING`
	floorTicket = `INSERT INTO tickets (ticket_id, number, status, channel, type, subcategory, classification_source,
		urgency, level, priority, subject, description, order_number, contact_kind, contact_value, consent_purpose,
		submitter_kind, submitter_id, received_at, created_at, updated_at, version)
		SELECT $1, 'GD' || to_char($2::date, 'YYYYMMDD') || lpad(n::text, greatest(4, length(n::text)), '0'),
		'new', 'web_chat', 'inquiry', 'logistics_status', 'rule', 'normal', 'none', 4, $3, $3, 'SO20261123001',
		'phone', '13800000000', 'service_follow_up', 'service', 'bench', $4, $4, $4, 1
		FROM next_ticket_serial($2::date) AS n`
	floorEntry = `INSERT INTO timeline_entries (entry_id, ticket_id, seq, kind, actor_kind, actor_id, created_at, to_status)
		VALUES ($1, $2, 1, 'created', 'service', 'bench', $3, 'new')`
	floorOutbox = `INSERT INTO outbox (event_id, subject, aggregate_id, aggregate_seq, type, headers, payload, partition)
		SELECT $1, 'kefu.ticket.created', $2, 1, 'kefu.events.v1.TicketCreated', '{}'::jsonb, $3,
		       ((hashtextextended($2, 0) % s.n) + s.n) % s.n
		FROM (SELECT (SELECT partitions FROM outbox_settings) AS n OFFSET 0) AS s`
	floorAudit = `INSERT INTO audit_records (record_id, at, principal, key_id, method, object_type, object_id, result, trace_id, kind)
		VALUES ($1, $2, 'adapter:bench', '0123456789abcdef', '/kefu.intake.v1.IntakeService/SubmitTicket', 'ticket', $3, 'OK',
		        '', 'change')`
)

// floorDB creates and migrates the floor's database and returns its runtime-role URL.
// floorDBName is the floor's own database.
const floorDBName = "kefu_bench_floor"

func floorDB(ctx context.Context, adminURL string) (string, error) {
	if err := recreateDB(ctx, adminURL, floorDBName); err != nil {
		return "", err
	}
	url, err := pgxutil.WithDatabase(adminURL, floorDBName)
	if err != nil {
		return "", err
	}
	roles, err := pgxutil.Provision(ctx, url, "intake")
	if err != nil {
		return "", err
	}
	if err := pgxutil.Migrate(ctx, roles.OwnerURL, "intake", intake.Migrations()...); err != nil {
		return "", err
	}
	return roles.RuntimeURL, nil
}

func runFloor(ctx context.Context, runtimeURL string, n int, d time.Duration) (result, error) {
	pool, err := pgxutil.Open(ctx, runtimeURL, pgxutil.Options{Schema: "intake", MaxConns: int32(n + 2), AppName: "kefu-bench-floor"})
	if err != nil {
		return result{}, err
	}
	defer pool.Close()
	payload := make([]byte, 180)
	desc := "我的快递三天了还没到，订单号 SO20261123001，请帮忙查一下物流。"
	var seq atomic.Int64
	prefix := fmt.Sprintf("floor-%d-", time.Now().UnixNano())
	lctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	lat := make([][]time.Duration, n)
	g, gctx := errgroup.WithContext(lctx)
	began := time.Now()
	for i := range n {
		g.Go(func() error {
			for gctx.Err() == nil {
				t0 := time.Now()
				key := prefix + fmt.Sprint(seq.Add(1))
				fp := sha256.Sum256([]byte(key))
				id, _ := uuid.NewV7()
				entry, _ := uuid.NewV7()
				event, _ := uuid.NewV7()
				record, _ := uuid.NewV7()
				now := time.Now().UTC()
				err := pgx.BeginFunc(context.WithoutCancel(gctx), pool, func(tx pgx.Tx) error {
					b := &pgx.Batch{}
					b.Queue(floorClaim, "service:bench", key, fp[:], id.String(), now)
					b.Queue(floorTicket, id, now.Format("2006-01-02"), desc, now)
					b.Queue(floorEntry, entry, id, now)
					b.Queue(floorOutbox, event, id.String(), payload)
					b.Queue(floorAudit, record, now, id.String())
					return tx.SendBatch(gctx, b).Close()
				})
				if err != nil {
					if gctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
						return nil
					}
					return err
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return result{}, err
	}
	elapsed := time.Since(began)
	var r result
	for _, l := range lat {
		r.lat = append(r.lat, l...)
	}
	r.rate = float64(len(r.lat)) / elapsed.Seconds()
	return r, nil
}
