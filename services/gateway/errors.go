package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
)

// errorBody is the HTTP error shape of AIP-193, the one every gateway error uses:
//
//	{"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "...", "details": [{"@type": ...}]}}
//
// code is the HTTP status, status the google.rpc.Code name, details the status details in protojson form.
// details is left out when there are none, as proto3 JSON leaves out empty repeated fields.
type errorBody struct {
	Error errorStatus `json:"error"`
}

type errorStatus struct {
	Code    int               `json:"code"`
	Status  string            `json:"status"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details,omitempty"`
}

// httpStatusFromCode maps a gRPC code to the HTTP status: grpc-gateway's table (Unavailable 503, Aborted
// and AlreadyExists 409, ResourceExhausted 429, Canceled 499, ...), with FailedPrecondition pinned to 400
// as AIP-193 wants (the request is wrong for the resource's state; 412 is for HTTP conditional headers).
func httpStatusFromCode(c codes.Code) int {
	if c == codes.FailedPrecondition {
		return http.StatusBadRequest
	}
	return runtime.HTTPStatusFromCode(c)
}

// handleError is the mux's error handler: every error from decoding, the backend or response encoding.
// Decode errors arrive as InvalidArgument already (grpc-gateway flattens them), with messages our
// marshaler wrote. An error that is not a status is the gateway's own fault; its text stays in the log.
func handleError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	noteRoute(ctx)
	httpCode := 0
	var hse *runtime.HTTPStatusError
	if errors.As(err, &hse) {
		httpCode, err = hse.HTTPStatus, hse.Err
	}
	st, ok := status.FromError(err)
	switch {
	case ok:
	case httpCode == http.StatusBadRequest:
		// grpc-gateway's only plain error with a status: a malformed %-escape in the path.
		st = status.New(codes.InvalidArgument, err.Error())
	default:
		ref := newRef()
		noteCause(ctx, err.Error(), ref)
		st, httpCode = status.Newf(codes.Internal, "internal error (ref %s)", ref), 0
	}
	if httpCode == 0 {
		httpCode = httpStatusFromCode(st.Code())
	}
	writeStatus(ctx, w, httpCode, st)
}

// handleRoutingError answers requests no route matches, in the same error shape.
func handleRoutingError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	var st *status.Status
	switch httpStatus {
	case http.StatusNotFound:
		st = status.Newf(codes.NotFound, "no route for %s %s", r.Method, r.URL.Path)
	case http.StatusMethodNotAllowed:
		st = status.Newf(codes.Unimplemented, "method %s is not allowed on %s", r.Method, r.URL.Path)
	case http.StatusBadRequest:
		st = status.New(codes.InvalidArgument, "malformed request path")
	default:
		ref := newRef()
		noteCause(ctx, fmt.Sprintf("unexpected routing status %d", httpStatus), ref)
		st, httpStatus = status.Newf(codes.Internal, "internal error (ref %s)", ref), http.StatusInternalServerError
	}
	writeStatus(ctx, w, httpStatus, st)
}

// writeStatus writes st in the AIP-193 shape with HTTP status httpCode.
func writeStatus(ctx context.Context, w http.ResponseWriter, httpCode int, st *status.Status) {
	noteCode(ctx, st.Code())
	body := errorBody{Error: errorStatus{
		Code:    httpCode,
		Status:  code.Code(st.Code()).String(),
		Message: st.Message(),
		Details: renderDetails(st.Proto().GetDetails()),
	}}
	b, err := json.Marshal(body)
	if err != nil {
		// Cannot happen: the body is strings, an int and already-valid JSON. Keep the shape regardless.
		b = []byte(`{"error":{"code":500,"status":"INTERNAL","message":"internal error"}}`)
		httpCode = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	if httpCode == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="kefu"`) // RFC 6750: how to authenticate
	}
	if st.Code() == codes.ResourceExhausted && httpCode == http.StatusTooManyRequests {
		if d := retryDelay(st); d > 0 {
			h.Set("Retry-After", strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10))
		}
	}
	w.WriteHeader(httpCode)
	_, _ = w.Write(b)
}

// renderDetails renders each detail with protojson, so it carries "@type" and lowerCamelCase fields. A
// detail whose type this binary does not know is dropped: it could not be rendered faithfully.
func renderDetails(ds []*anypb.Any) []json.RawMessage {
	out := make([]json.RawMessage, 0, len(ds))
	for _, d := range ds {
		b, err := protojson.Marshal(d)
		if err != nil {
			continue
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// retryDelay returns the RetryInfo delay of st, or 0.
func retryDelay(st *status.Status) time.Duration {
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

// newRef returns a short random id that ties a client's "internal error (ref …)" to the log line.
func newRef() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
