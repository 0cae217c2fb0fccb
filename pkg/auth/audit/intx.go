package audit

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// A state change is best recorded in the transaction that makes it: the record commits exactly when the
// change does, and costs one more statement in a batch already on its way rather than a commit of its
// own. The gRPC guard puts a Pending record into the call's context; the store that commits the change
// queues it with Queue; the guard then writes through the Writer only what no transaction took (reads,
// refusals, failures, and changes whose store does not queue it).

type pendingKey struct{}

// Pending is a call's audit record, waiting for the transaction of its change.
type Pending struct {
	rec    Record
	queued atomic.Bool
}

// WithPending returns ctx carrying r for the change's transaction to record, and the handle to ask
// afterwards whether one did.
func WithPending(ctx context.Context, r Record) (context.Context, *Pending) {
	p := &Pending{rec: r}
	return context.WithValue(ctx, pendingKey{}, p), p
}

// Queued reports whether a transaction queued the record. It says nothing of the commit: the caller knows
// that from the change's own result (a failed call's transaction rolled back, record included).
func (p *Pending) Queued() bool { return p != nil && p.queued.Load() }

// Record returns the record as it was handed in.
func (p *Pending) Record() Record { return p.rec }

// Queue adds ctx's pending record, naming the object changed, as one INSERT in b, a batch that runs
// inside the change's transaction. Without a pending record (a sweeper's change, a test) it does nothing.
// A retried transaction queues it again: only the first call marks it.
func Queue(ctx context.Context, b *pgx.Batch, objectType, objectID string) error {
	p, ok := ctx.Value(pendingKey{}).(*Pending)
	if !ok {
		return nil
	}
	r := p.rec
	r.ObjectType, r.ObjectID, r.Result = objectType, objectID, "OK"
	r, err := prepare(r, nil)
	if err != nil {
		return err
	}
	p.rec.ID, p.rec.At = r.ID, r.At // a retry of the transaction inserts the same record
	b.Queue(`INSERT INTO audit_records (record_id, at, principal, key_id, method, object_type, object_id, result, trace_id, kind,
			on_behalf_of, reason, fields)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		r.ID, r.At, r.Principal, r.KeyID, r.Method, r.ObjectType, r.ObjectID, r.Result, r.TraceID, string(r.Kind), r.OnBehalfOf,
		r.Reason, r.Fields)
	p.queued.Store(true)
	return nil
}

// Detach returns ctx without its pending record: for the many transactions one call makes on other objects
// (linking a thousand tickets to an incident), whose audit is the call's own record, written once.
func Detach(ctx context.Context) context.Context { return context.WithValue(ctx, pendingKey{}, nil) }
