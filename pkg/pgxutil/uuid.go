package pgxutil

import (
	"bytes"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// registerUUID teaches a connection's type map to send github.com/google/uuid values in binary, 16 bytes
// as they are. pgx does not know the type: it falls back to its driver.Valuer method, which formats the
// id as a 36-character string, and then encodes that string as a uuid parameter, re-planning the string's
// encoding on every call. On the submit path (three ids a ticket) that was 4% of the service's CPU.
func registerUUID(m *pgtype.Map) {
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{tryWrapUUIDEncodePlan}, m.TryWrapEncodePlanFuncs...)
}

func tryWrapUUIDEncodePlan(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	if id, ok := value.(uuid.UUID); ok {
		return &uuidEncodePlan{}, pgtype.UUID{Bytes: id, Valid: true}, true
	}
	return nil, nil, false
}

// uuidEncodePlan hands a uuid.UUID to the next plan as a pgtype.UUID, which the uuid codec writes directly.
type uuidEncodePlan struct{ next pgtype.EncodePlan }

func (p *uuidEncodePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *uuidEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode(pgtype.UUID{Bytes: value.(uuid.UUID), Valid: true}, buf)
}

// LockOrder returns ids sorted as Postgres orders uuids (bytewise) without repeats: the order in which a
// transaction that locks many rows by id takes them, so that two such transactions queue instead of
// deadlocking. ids is not changed.
func LockOrder(ids []uuid.UUID) []uuid.UUID {
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(out)
}
