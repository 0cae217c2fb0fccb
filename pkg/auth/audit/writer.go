package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/logging"
)

// DefaultMaxBatch is how many records one INSERT writes at most when WriterOptions.MaxBatch is unset.
const DefaultMaxBatch = 500

// drainTimeout bounds how long Run keeps writing after its context ends: the batch in flight and what
// was queued before, so a hung database cannot hold shutdown.
const drainTimeout = 5 * time.Second

// ErrStopped is returned by Write once the Writer's Run has returned.
var ErrStopped = errors.New("audit writer stopped")

// ErrInvalidRecord is wrapped by the error Write returns for a record the table would refuse (no
// principal, method or result, or an unknown kind). It is refused alone, before it can fail a batch.
var ErrInvalidRecord = errors.New("invalid audit record")

// WriterOptions configures NewWriter.
type WriterOptions struct {
	// Logger reports records lost at shutdown; nil discards.
	Logger *slog.Logger
	// MaxBatch caps the records one INSERT writes; 0 means DefaultMaxBatch.
	MaxBatch int
	// Clock stamps records whose At is zero; nil means clock.Real.
	Clock clock.Clock
}

// Writer appends records to audit_records with group commit: Write queues its record and waits, and the
// flusher (Run) writes everything queued in one INSERT, then releases all of that batch's writers with
// its result. While one INSERT runs, new records queue for the next, so under load many calls share a
// statement and a commit, and a lone call waits for one round trip; there is no timer.
type Writer struct {
	pool     *pgxpool.Pool
	log      *slog.Logger
	clk      clock.Clock
	maxBatch int

	// wake has capacity 1, so Write never blocks on it and a wake-up sent before Run starts, or while it
	// flushes, is not lost.
	wake chan struct{}

	mu      sync.Mutex
	pending []*entry
	started bool // Run was called
	stopped bool // Run has finished with the queue: Write refuses

	batches atomic.Int64
}

// entry is one queued record and the channel its writer waits on. done has capacity 1, so the flusher
// never blocks on a writer that stopped waiting.
type entry struct {
	rec  Record
	done chan error
}

// NewWriter returns a writer on pool (the service's runtime role, search_path = its schema). Records
// queue until Run runs.
func NewWriter(pool *pgxpool.Pool, o WriterOptions) *Writer {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	return &Writer{pool: pool, log: o.Logger, clk: o.Clock, maxBatch: o.MaxBatch, wake: make(chan struct{}, 1)}
}

// Batches reports how many batches the writer has committed, one INSERT each.
func (w *Writer) Batches() int64 { return w.batches.Load() }

// Write queues r and waits until the batch holding it commits. It returns nil once r is stored, the
// batch's wrapped error when the INSERT failed (nothing of that batch is stored; the caller decides
// whether to retry or fail its call), ErrStopped after Run has returned, an ErrInvalidRecord error for a
// record without principal, method or result or with an unknown kind, and ctx.Err() when ctx ends first;
// then r may still be written. A zero ID gets a UUIDv7 and a zero At the writer's clock; At is stored in
// UTC truncated to microseconds. NUL bytes and invalid UTF-8, which Postgres text refuses, become U+FFFD;
// Reason and Fields are cut to MaxReasonRunes, MaxFields and MaxFieldRunes.
// A record whose ID is already stored is taken as a retry of it and not written again.
func (w *Writer) Write(ctx context.Context, r Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r, err := w.prepare(r)
	if err != nil {
		return err
	}
	e := &entry{rec: r, done: make(chan error, 1)}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return ErrStopped
	}
	w.pending = append(w.pending, e)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is pending already; the flusher will take this record with it
	}
	select {
	case err := <-e.done:
		return err
	case <-ctx.Done():
		select {
		case err := <-e.done: // the batch finished too: report what happened to the record
			return err
		default:
			return ctx.Err()
		}
	}
}

// Run is the flusher. It writes what Write queues until ctx ends, then writes what is still queued (and
// finishes the batch in flight) on a context detached from ctx for at most drainTimeout, refuses further
// Writes with ErrStopped and returns nil. Records that could not be written then are reported to their
// writers and logged. Run may be called once.
func (w *Writer) Run(ctx context.Context) error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return errors.New("audit writer: Run called twice")
	}
	w.started = true
	w.mu.Unlock()

	// Statements run on fctx, which ctx's end does not cancel: a batch in flight when shutdown starts
	// still commits. The deadline goroutine cancels it drainTimeout after ctx ends; Run waits for that
	// goroutine before returning.
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	deadlineDone := make(chan struct{})
	stopDeadline := context.AfterFunc(ctx, func() {
		defer close(deadlineDone)
		t := time.NewTimer(drainTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-fctx.Done():
		}
	})
	defer func() {
		cancel()
		if !stopDeadline() { // the deadline goroutine started: wait for it
			<-deadlineDone
		}
	}()

	for {
		for ctx.Err() == nil {
			batch := w.take(false)
			if batch == nil {
				break
			}
			_ = w.flush(fctx, batch) // the error went to the batch's writers
		}
		select {
		case <-ctx.Done():
			w.drain(ctx, fctx)
			return nil
		case <-w.wake:
		}
	}
}

// drain writes what is queued until the queue is empty, then marks the writer stopped under the same
// lock, so no record is queued after the last look. When fctx has been cancelled (the drain took too
// long), everything still queued fails at once.
func (w *Writer) drain(ctx, fctx context.Context) {
	lost := 0
	var lastErr error
	for {
		if fctx.Err() != nil {
			w.mu.Lock()
			rest := w.pending
			w.pending, w.stopped = nil, true
			w.mu.Unlock()
			if len(rest) > 0 {
				err := fmt.Errorf("write %d audit records: %w", len(rest), context.Cause(fctx))
				for _, e := range rest {
					e.done <- err
				}
				lost, lastErr = lost+len(rest), err
			}
			break
		}
		batch := w.take(true)
		if batch == nil {
			break
		}
		if err := w.flush(fctx, batch); err != nil {
			lost, lastErr = lost+len(batch), err
		}
	}
	if lost > 0 {
		// Logged here as well as returned: at shutdown the writers may have stopped waiting.
		w.log.ErrorContext(ctx, "audit records not written at shutdown", "records", lost, logging.KeyError, lastErr)
	}
}

// take removes and returns up to maxBatch queued entries, or nil when none is queued; with stopIfEmpty
// an empty queue also marks the writer stopped.
func (w *Writer) take(stopIfEmpty bool) []*entry {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 {
		w.pending = nil // drop the drained backing array
		w.stopped = w.stopped || stopIfEmpty
		return nil
	}
	n := min(len(w.pending), w.maxBatch)
	batch := w.pending[:n:n]
	w.pending = w.pending[n:]
	return batch
}

// flush writes batch in one statement and releases its writers with the result.
func (w *Writer) flush(ctx context.Context, batch []*entry) error {
	err := w.insert(ctx, batch)
	if err != nil {
		err = fmt.Errorf("write %d audit records: %w", len(batch), err)
	} else {
		w.batches.Add(1)
	}
	for _, e := range batch {
		e.done <- err
	}
	return err
}

// insert is one multi-row INSERT of column arrays (fifteen parameters whatever the batch size), committed
// on its own. ON CONFLICT DO NOTHING makes a retried record (same id) a no-op and needs no UPDATE privilege.
//
// Each record's Fields is an array of its own, and unnest cannot take an array of arrays (Postgres's are
// rectangular, and unnest flattens them), so all records' fields go in one flat array ($13) and each row
// takes its slice of it, [$14[i]:$15[i]]; a slice with its lower bound above its upper one is '{}'.
func (w *Writer) insert(ctx context.Context, batch []*entry) error {
	n := len(batch)
	var (
		ids                                           = make([]uuid.UUID, n)
		ats                                           = make([]time.Time, n)
		principals, keyIDs, methods, objTypes, objIDs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		results, traceIDs, kinds, onBehalfOf, reasons = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		fields                                        = []string{}
		fieldsLo, fieldsHi                            = make([]int32, n), make([]int32, n)
	)
	for i, e := range batch {
		r := e.rec
		ids[i], ats[i], principals[i], keyIDs[i], methods[i] = r.ID, r.At, r.Principal, r.KeyID, r.Method
		objTypes[i], objIDs[i], results[i], traceIDs[i], kinds[i] = r.ObjectType, r.ObjectID, r.Result, r.TraceID, string(r.Kind)
		onBehalfOf[i], reasons[i] = r.OnBehalfOf, r.Reason
		fieldsLo[i] = int32(len(fields) + 1) // Postgres arrays count from 1
		fields = append(fields, r.Fields...)
		fieldsHi[i] = int32(len(fields))
	}
	_, err := w.pool.Exec(ctx, `INSERT INTO audit_records
			(record_id, at, principal, key_id, method, object_type, object_id, result, trace_id, kind, on_behalf_of,
			reason, fields)
		SELECT record_id, at, principal, key_id, method, object_type, object_id, result, trace_id, kind, on_behalf_of,
			reason, ($13::text[])[fields_lo:fields_hi]
		FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $14::int4[], $15::int4[])
			AS r (record_id, at, principal, key_id, method, object_type, object_id, result, trace_id, kind, on_behalf_of,
			reason, fields_lo, fields_hi)
		ON CONFLICT ON CONSTRAINT audit_records_pkey DO NOTHING`,
		ids, ats, principals, keyIDs, methods, objTypes, objIDs, results, traceIDs, kinds, onBehalfOf, reasons,
		fields, fieldsLo, fieldsHi)
	return err
}

// prepare fills in the id and time, normalises the time and text, and refuses what the table would
// refuse, so that one bad record cannot fail the batch it would share with others.
func (w *Writer) prepare(r Record) (Record, error) {
	return prepare(r, w.clk)
}

// prepare is Writer.prepare with the clock given; a nil clock needs r.At set (Queue's records carry the
// guard's time).
func prepare(r Record, clk clock.Clock) (Record, error) {
	if r.ID == uuid.Nil {
		id, err := uuid.NewV7()
		if err != nil {
			return Record{}, fmt.Errorf("new audit record id: %w", err)
		}
		r.ID = id
	}
	if r.At.IsZero() {
		if clk == nil {
			return Record{}, fmt.Errorf("%w: no time", ErrInvalidRecord)
		}
		r.At = clk.Now()
	}
	r.At = r.At.UTC().Truncate(time.Microsecond)
	for _, s := range []*string{&r.Principal, &r.KeyID, &r.Method, &r.ObjectType, &r.ObjectID, &r.Result, &r.TraceID, &r.OnBehalfOf} {
		*s = pgText(*s)
	}
	r.Reason = cut(pgText(r.Reason), MaxReasonRunes)
	// A copy, never nil: the caller's slice stays as it was, and pgx sends a nil slice as NULL, which the
	// column refuses.
	fields := make([]string, min(len(r.Fields), MaxFields))
	for i := range fields {
		fields[i] = cut(pgText(r.Fields[i]), MaxFieldRunes)
	}
	r.Fields = fields
	switch {
	case r.Principal == "":
		return Record{}, fmt.Errorf("%w: no principal", ErrInvalidRecord)
	case r.Method == "":
		return Record{}, fmt.Errorf("%w: no method", ErrInvalidRecord)
	case r.Result == "":
		return Record{}, fmt.Errorf("%w: no result", ErrInvalidRecord)
	case !r.Kind.valid():
		return Record{}, fmt.Errorf("%w: unknown kind %q", ErrInvalidRecord, r.Kind)
	}
	return r, nil
}

// cut returns s's first n runes (s is valid UTF-8 here).
func cut(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// pgText replaces what a UTF-8 Postgres database refuses in text (22021: NUL bytes, invalid UTF-8) with
// U+FFFD. Both calls return s itself when there is nothing to replace.
func pgText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
