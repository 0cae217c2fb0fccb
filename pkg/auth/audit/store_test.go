package audit_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	"kefu.dev/pkg/auth/audit"
)

const (
	assign = "/kefu.intake.v1.IntakeService/AssignTicket"
	get    = "/kefu.intake.v1.IntakeService/GetTicket"
	submit = "/kefu.intake.v1.IntakeService/SubmitTicket"
	update = "/kefu.intake.v1.IntakeService/UpdateTicket"
)

// seven are the listing tests' records, two pairs sharing a time so that the id breaks the tie. Their ids
// are random (v4), so the tie order is not the order of writing.
func seven() []audit.Record {
	minute := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	rs := []audit.Record{
		{At: minute(0), Principal: "staff:alice", Method: assign, ObjectID: "T1", Result: "OK", Kind: audit.KindChange},
		{At: minute(1), Principal: "staff:bob", Method: get, ObjectID: "T1", Result: "OK", Kind: audit.KindPersonalDataRead},
		{At: minute(1), Principal: "staff:alice", Method: get, ObjectID: "T2", Result: "PERMISSION_DENIED", Kind: audit.KindPersonalDataRead},
		{At: minute(2), Principal: "adapter:web", Method: submit, ObjectID: "T3", Result: "OK", Kind: audit.KindChange},
		{At: minute(3), Principal: "staff:alice", Method: assign, ObjectID: "T2", Result: "NOT_FOUND", Kind: audit.KindChange},
		{At: minute(3), Principal: "service:routing", Method: assign, ObjectID: "T3", Result: "OK", Kind: audit.KindChange},
		{At: minute(4), Principal: "staff:bob", Method: update, Result: "INVALID_ARGUMENT", Kind: audit.KindChange},
	}
	for i := range rs {
		rs[i].ID = uuid.New()
		rs[i].ObjectType = "ticket"
	}
	// An object of another type with the same id, which only object_type tells apart, and a call that
	// named no object.
	rs[5].ObjectType = "customer"
	rs[6].ObjectType = ""
	return rs
}

// newest returns the ids of rs[idx...] in listing order: time descending, then id descending (Postgres
// compares uuids byte by byte).
func newest(rs []audit.Record, idx ...int) []string {
	sel := make([]audit.Record, len(idx))
	for i, j := range idx {
		sel[i] = rs[j]
	}
	slices.SortFunc(sel, func(a, b audit.Record) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return bytes.Compare(b.ID[:], a.ID[:])
	})
	ids := make([]string, len(sel))
	for i, r := range sel {
		ids[i] = r.ID.String()
	}
	return ids
}

func recordIDs(rs []*authv1.AuditRecord) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.GetRecordId()
	}
	return ids
}

// listAll pages through req with its page size and returns every id and the page sizes.
func listAll(t *testing.T, srv *audit.Server, req *authv1.ListAuditRecordsRequest) (ids []string, sizes []int) {
	t.Helper()
	ids = []string{}
	for {
		resp, err := srv.ListAuditRecords(t.Context(), req)
		require.NoError(t, err)
		ids = append(ids, recordIDs(resp.GetRecords())...)
		sizes = append(sizes, len(resp.GetRecords()))
		if resp.GetNextPageToken() == "" {
			return ids, sizes
		}
		require.Less(t, len(sizes), 20, "paging does not end")
		req.PageToken = resp.GetNextPageToken()
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	e := newRunningEnv(t)
	rs := seven()
	for _, r := range rs {
		e.write(t, r)
	}
	minute := func(m int) *timestamppb.Timestamp { return ts(t0.Add(time.Duration(m) * time.Minute)) }

	t.Run("pages of three give every record once, newest first", func(t *testing.T) {
		t.Parallel()
		ids, sizes := listAll(t, e.srv, &authv1.ListAuditRecordsRequest{PageSize: 3})
		require.Equal(t, []int{3, 3, 1}, sizes)
		require.Equal(t, newest(rs, 0, 1, 2, 3, 4, 5, 6), ids)
	})

	tests := []struct {
		name string
		req  *authv1.ListAuditRecordsRequest
		want []int // indexes into rs
	}{
		{"no filter lists everything", &authv1.ListAuditRecordsRequest{}, []int{0, 1, 2, 3, 4, 5, 6}},
		{"principal narrows to that caller", &authv1.ListAuditRecordsRequest{Principal: "staff:alice"}, []int{0, 2, 4}},
		{"method narrows to that method", &authv1.ListAuditRecordsRequest{Method: assign}, []int{0, 4, 5}},
		{"object_id narrows to that object", &authv1.ListAuditRecordsRequest{ObjectId: "T1"}, []int{0, 1}},
		{"object_id alone matches every type", &authv1.ListAuditRecordsRequest{ObjectId: "T3"}, []int{3, 5}},
		{"object_type narrows to that type", &authv1.ListAuditRecordsRequest{ObjectType: "customer"}, []int{5}},
		{"object_type and object_id name one object",
			&authv1.ListAuditRecordsRequest{ObjectType: "ticket", ObjectId: "T3"}, []int{3}},
		{"result narrows to that code", &authv1.ListAuditRecordsRequest{Result: "OK"}, []int{0, 1, 3, 5}},
		{"kind change", &authv1.ListAuditRecordsRequest{Kind: authv1.AuditKind_AUDIT_KIND_CHANGE}, []int{0, 3, 4, 5, 6}},
		{"kind personal data read", &authv1.ListAuditRecordsRequest{Kind: authv1.AuditKind_AUDIT_KIND_PERSONAL_DATA_READ}, []int{1, 2}},
		{"start_time is inclusive", &authv1.ListAuditRecordsRequest{StartTime: minute(1)}, []int{1, 2, 3, 4, 5, 6}},
		{"end_time is exclusive", &authv1.ListAuditRecordsRequest{EndTime: minute(3)}, []int{0, 1, 2, 3}},
		{"start_time and end_time together", &authv1.ListAuditRecordsRequest{StartTime: minute(1), EndTime: minute(3)}, []int{1, 2, 3}},
		{"start_time equal to end_time is empty", &authv1.ListAuditRecordsRequest{StartTime: minute(1), EndTime: minute(1)}, []int{}},
		{"a start_time a nanosecond past a record excludes it",
			&authv1.ListAuditRecordsRequest{StartTime: &timestamppb.Timestamp{Seconds: minute(1).GetSeconds(), Nanos: 1}}, []int{3, 4, 5, 6}},
		{"an end_time a nanosecond past a record includes it",
			&authv1.ListAuditRecordsRequest{EndTime: &timestamppb.Timestamp{Seconds: minute(3).GetSeconds(), Nanos: 1}}, []int{0, 1, 2, 3, 4, 5}},
		{"filters combine", &authv1.ListAuditRecordsRequest{Principal: "staff:alice", Kind: authv1.AuditKind_AUDIT_KIND_CHANGE}, []int{0, 4}},
		{"a filter nothing matches is empty", &authv1.ListAuditRecordsRequest{Principal: "staff:carol"}, []int{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := newest(rs, tc.want...)
			resp, err := e.srv.ListAuditRecords(t.Context(), tc.req)
			require.NoError(t, err)
			require.Equal(t, want, recordIDs(resp.GetRecords()), "one page")
			require.Empty(t, resp.GetNextPageToken())

			paged := clone(tc.req)
			paged.PageSize = 2
			ids, _ := listAll(t, e.srv, paged)
			require.Equal(t, want, ids, "pages of two")
		})
	}

	t.Run("a token used with other filters is InvalidArgument on page_token", func(t *testing.T) {
		t.Parallel()
		base := &authv1.ListAuditRecordsRequest{PageSize: 1, Principal: "staff:alice", StartTime: minute(0)}
		resp, err := e.srv.ListAuditRecords(t.Context(), base)
		require.NoError(t, err)
		token := resp.GetNextPageToken()
		require.NotEmpty(t, token)
		others := []func(r *authv1.ListAuditRecordsRequest){
			func(r *authv1.ListAuditRecordsRequest) { r.Principal = "staff:bob" },
			func(r *authv1.ListAuditRecordsRequest) { r.Principal = "" },
			func(r *authv1.ListAuditRecordsRequest) { r.Method = assign },
			func(r *authv1.ListAuditRecordsRequest) { r.ObjectId = "T2" },
			func(r *authv1.ListAuditRecordsRequest) { r.ObjectType = "ticket" },
			func(r *authv1.ListAuditRecordsRequest) { r.Result = "OK" },
			func(r *authv1.ListAuditRecordsRequest) { r.Kind = authv1.AuditKind_AUDIT_KIND_CHANGE },
			func(r *authv1.ListAuditRecordsRequest) { r.StartTime = minute(1) },
			func(r *authv1.ListAuditRecordsRequest) { r.StartTime = nil },
			func(r *authv1.ListAuditRecordsRequest) { r.EndTime = minute(9) },
		}
		for _, change := range others {
			req := clone(base)
			req.PageToken = token
			change(req)
			_, err := e.srv.ListAuditRecords(t.Context(), req)
			requireInvalidField(t, err, "page_token")
		}
		// A different page size is not a different filter.
		req := clone(base)
		req.PageToken, req.PageSize = token, 5
		resp, err = e.srv.ListAuditRecords(t.Context(), req)
		require.NoError(t, err)
		require.Equal(t, newest(rs, 0, 2, 4)[1:], recordIDs(resp.GetRecords()))
	})

	t.Run("a garbled token is InvalidArgument on page_token", func(t *testing.T) {
		t.Parallel()
		for _, tok := range []string{"garbage!", "bm90IGpzb24", "e30"} { // not base64; "not json"; "{}"
			_, err := e.srv.ListAuditRecords(t.Context(), &authv1.ListAuditRecordsRequest{PageToken: tok})
			requireInvalidField(t, err, "page_token")
		}
	})

	t.Run("start_time after end_time is InvalidArgument on end_time", func(t *testing.T) {
		t.Parallel()
		_, err := e.srv.ListAuditRecords(t.Context(), &authv1.ListAuditRecordsRequest{StartTime: minute(2), EndTime: minute(1)})
		requireInvalidField(t, err, "end_time")
	})

	t.Run("an invalid timestamp is InvalidArgument on its field", func(t *testing.T) {
		t.Parallel()
		bad := &timestamppb.Timestamp{Seconds: 1, Nanos: -1}
		_, err := e.srv.ListAuditRecords(t.Context(), &authv1.ListAuditRecordsRequest{StartTime: bad})
		requireInvalidField(t, err, "start_time")
		_, err = e.srv.ListAuditRecords(t.Context(), &authv1.ListAuditRecordsRequest{EndTime: bad})
		requireInvalidField(t, err, "end_time")
	})

	t.Run("an undefined kind is InvalidArgument on kind", func(t *testing.T) {
		t.Parallel()
		_, err := e.srv.ListAuditRecords(t.Context(), &authv1.ListAuditRecordsRequest{Kind: authv1.AuditKind(99)})
		requireInvalidField(t, err, "kind")
		_, err = e.store.List(t.Context(), audit.Filter{Kind: "read"}, 0, "")
		requireInvalidField(t, err, "kind")
	})
}

func TestPageSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		requested int
		want      int
	}{
		{"zero is the default", 0, audit.DefaultPageSize},
		{"a negative size is the default", -1, audit.DefaultPageSize},
		{"a small size is kept", 3, 3},
		{"the maximum is kept", 500, 500},
		{"above the maximum is the maximum", 501, audit.MaxPageSize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, audit.PageSize(tc.requested))
		})
	}
}

// clone copies a request, so parallel cases never share one.
func clone(r *authv1.ListAuditRecordsRequest) *authv1.ListAuditRecordsRequest {
	return proto.Clone(r).(*authv1.ListAuditRecordsRequest)
}
