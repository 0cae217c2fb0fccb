package grpcx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/pgxutil"
)

var kindCodes = map[apierr.Kind]codes.Code{
	apierr.KindInternal:           codes.Internal,
	apierr.KindInvalidArgument:    codes.InvalidArgument,
	apierr.KindNotFound:           codes.NotFound,
	apierr.KindAlreadyExists:      codes.AlreadyExists,
	apierr.KindFailedPrecondition: codes.FailedPrecondition,
	apierr.KindAborted:            codes.Aborted,
	apierr.KindUnavailable:        codes.Unavailable,
	apierr.KindUnauthenticated:    codes.Unauthenticated,
	apierr.KindPermissionDenied:   codes.PermissionDenied,
	apierr.KindResourceExhausted:  codes.ResourceExhausted,
}

// ToStatus maps any error to the status a client sees. It returns a reference id when the error is the
// server's fault (Internal, Unavailable), so the request log can tie the hidden cause to what the client
// was told. Driver text, SQL and causes never reach the client.
func ToStatus(err error) (*status.Status, string) {
	if e, ok := apierr.As(err); ok && e.Kind != apierr.KindInternal {
		st := status.New(kindCodes[e.Kind], e.Message)
		var ref string
		if e.Kind == apierr.KindUnavailable {
			ref = newRef()
		}
		if ds := details(e); len(ds) > 0 {
			if withDetails, derr := st.WithDetails(ds...); derr == nil {
				st = withDetails
			}
		}
		return st, ref
	}
	if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		return st, ""
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "request canceled"), ""
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded"), ""
	case pgxutil.IsUnavailable(err):
		ref := newRef()
		return status.Newf(codes.Unavailable, "database unavailable (ref %s)", ref), ref
	}
	ref := newRef()
	return status.Newf(codes.Internal, "internal error (ref %s)", ref), ref
}

func details(e *apierr.Error) []protoadapt.MessageV1 {
	var ds []protoadapt.MessageV1
	if e.Reason != "" {
		ds = append(ds, &errdetails.ErrorInfo{Reason: e.Reason, Domain: apierr.Domain, Metadata: e.Meta})
	}
	if len(e.Fields) > 0 {
		br := &errdetails.BadRequest{}
		for _, f := range e.Fields {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f.Field, Description: f.Description})
		}
		ds = append(ds, br)
	}
	if len(e.Preconditions) > 0 {
		pf := &errdetails.PreconditionFailure{}
		for _, p := range e.Preconditions {
			pf.Violations = append(pf.Violations, &errdetails.PreconditionFailure_Violation{Type: p.Type, Subject: p.Subject, Description: p.Description})
		}
		ds = append(ds, pf)
	}
	if e.Resource != nil {
		ds = append(ds, &errdetails.ResourceInfo{ResourceType: e.Resource.Type, ResourceName: e.Resource.Name})
	}
	if e.RetryAfter > 0 {
		ds = append(ds, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
	}
	return ds
}

// fromValidation turns protovalidate's violations into one InvalidArgument naming every field.
func fromValidation(err error) error {
	var ve *protovalidate.ValidationError
	if !errors.As(err, &ve) {
		return apierr.New(apierr.KindInternal, "", "validate request").WithCause(err)
	}
	vs := make([]apierr.FieldViolation, 0, len(ve.Violations))
	for _, v := range ve.Violations {
		field := protovalidate.FieldPathString(v.Proto.GetField())
		if field == "" {
			field = v.Proto.GetRuleId()
		}
		vs = append(vs, apierr.FieldViolation{Field: field, Description: v.Proto.GetMessage()})
	}
	return apierr.InvalidFields(vs...)
}

func newRef() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
