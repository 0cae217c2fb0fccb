package grpcx

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/auth/audit"
	"kefu.dev/pkg/clock"
)

// Auditor records audited calls; pkg/auth/audit's Writer is the one every service uses.
type Auditor interface {
	Write(ctx context.Context, r audit.Record) error
}

// RateLimiter spends one of a bucket's tokens; pkg/auth/ratelimit's Limiter is the one every service uses.
type RateLimiter interface {
	Allow(ctx context.Context, key string, lim auth.Limit) (ok bool, retryAfter time.Duration, err error)
}

// auditTimeout bounds how long a call waits for its audit record to commit.
const auditTimeout = 5 * time.Second

// guard is the security step of every call, in the order the security model fixes: authentication
// (Unauthenticated), the method's permission in the policy table (PermissionDenied; a method without an
// entry is denied to all), the caller's rate limit (ResourceExhausted), then, inside, validation and the
// handler, where object scope applies (NotFound). It runs before validation, so an unauthorised caller
// learns nothing about a request's shape. Calls the table marks are audited with their final result,
// refusals included, once the caller is known.
type guard struct {
	authn      *auth.Authenticator
	anon       *auth.Principal
	reflection bool
	audit      Auditor
	limiter    RateLimiter
	limits     auth.Limits
	log        *slog.Logger
	clock      clock.Clock
}

// open reports whether a method needs no credentials: health checks always, reflection in dev mode.
func open(fullMethod string, reflection bool) bool {
	return strings.HasPrefix(fullMethod, "/grpc.health.v1.Health/") ||
		(reflection && strings.HasPrefix(fullMethod, "/grpc.reflection."))
}

func (g *guard) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if open(info.FullMethod, g.reflection) {
			return h(ctx, req)
		}
		p, err := authenticate(ctx, g.authn, g.anon)
		if err != nil {
			return nil, err
		}
		ctx = auth.WithPrincipal(ctx, p)
		rule, known := auth.RuleFor(info.FullMethod)
		audited := known && rule.Audit != auth.AuditNone && g.audit != nil
		var (
			resp any
			rec  audit.Record
			pend *audit.Pending
		)
		if audited {
			rec = g.baseRecord(ctx, p, info.FullMethod, rule, req)
		}
		if err = g.admit(ctx, p, rule, known); err == nil {
			if audited && rule.Audit == auth.AuditChange {
				// The change's transaction may take the record (see audit.Queue).
				ctx, pend = audit.WithPending(ctx, rec)
			}
			resp, err = h(ctx, req)
		}
		if audited && !(err == nil && pend.Queued()) {
			if pend.Queued() {
				rec = pend.Record() // same id: if the failed transaction did commit after all, no duplicate
			}
			if aerr := g.record(ctx, rec, req, resp, err); aerr != nil {
				if rule.Audit == auth.AuditRead && err == nil {
					// Personal data is not shown without its record.
					return nil, apierr.New(apierr.KindUnavailable, "AUDIT_UNAVAILABLE", "cannot record the read now; retry").WithCause(aerr)
				}
				// The change is committed; its record is not. Say so loudly; the operator can
				// reconstruct it from the request log line, which carries the same method and trace.
				g.log.ErrorContext(ctx, "audit record lost", "method", info.FullMethod, "error", aerr.Error())
			}
		}
		return resp, err
	}
}

// stream guards streaming methods (kefu has none yet; health Watch and reflection are open).
func (g *guard) stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if open(info.FullMethod, g.reflection) {
			return h(srv, ss)
		}
		ctx := ss.Context()
		p, err := authenticate(ctx, g.authn, g.anon)
		if err == nil {
			ctx = auth.WithPrincipal(ctx, p)
			rule, known := auth.RuleFor(info.FullMethod)
			err = g.admit(ctx, p, rule, known)
		}
		if err != nil {
			st, _ := ToStatus(err)
			return st.Err()
		}
		return h(srv, &principalStream{ServerStream: ss, ctx: ctx})
	}
}

type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }

// admit checks the method's permission, then spends a token of the caller's rate limit.
func (g *guard) admit(ctx context.Context, p auth.Principal, rule auth.Rule, known bool) error {
	if !known || !p.Can(rule.Permission) {
		perm := string(rule.Permission)
		if !known {
			perm = "a decision in the policy table"
		}
		return apierr.New(apierr.KindPermissionDenied, "PERMISSION_DENIED", "the caller lacks %s", perm)
	}
	if g.limiter == nil {
		return nil
	}
	bucket, lim, limited := g.limits.For(p)
	if !limited {
		return nil
	}
	ok, retryAfter, err := g.limiter.Allow(ctx, bucket, lim)
	if err != nil {
		// The shared bucket is out of reach (Postgres is down, so the call would fail anyway, or ctx
		// ended): let the call through rather than fail it for the limiter's sake.
		if ctx.Err() == nil {
			g.log.WarnContext(ctx, "rate limiter unavailable; call let through", "error", err.Error())
		}
		return nil
	}
	if !ok {
		e := apierr.New(apierr.KindResourceExhausted, "RATE_LIMITED", "rate limit exceeded: retry in %s", retryAfter.Round(time.Millisecond))
		e.RetryAfter = retryAfter
		return e
	}
	return nil
}

// baseRecord is what is known of a call's record before it runs, the request's reason and fields included:
// a change's transaction may write it as it is (audit.Queue).
func (g *guard) baseRecord(ctx context.Context, p auth.Principal, method string, rule auth.Rule, req any) audit.Record {
	r := audit.Record{At: g.clock.Now(), Principal: p.String(), KeyID: p.KeyID, Method: method, Kind: audit.KindChange}
	r.Reason, r.Fields = detailsOf(req)
	if p.OnBehalfOf != nil {
		r.OnBehalfOf = p.OnBehalfOf.String()
	}
	if rule.Audit == auth.AuditRead {
		r.Kind = audit.KindPersonalDataRead
	}
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		r.TraceID = sc.TraceID().String()
	}
	return r
}

// record completes the call's audit record with its object and result, writes it and waits until it is
// committed.
func (g *guard) record(ctx context.Context, r audit.Record, req, resp any, callErr error) error {
	r.Result = "OK"
	if callErr != nil {
		st, _ := ToStatus(callErr)
		r.Result = codeName(st.Code())
	}
	r.ObjectType, r.ObjectID = objectOf(req, resp)
	// The record outlives a caller that hung up: the change it describes happened all the same.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	return g.audit.Write(wctx, r)
}

// codeName renders a code as the proto enum names it (PERMISSION_DENIED).
func codeName(c codes.Code) string {
	name := c.String()
	if c == codes.OK {
		return "OK"
	}
	var b strings.Builder
	for i, r := range name {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// idFields are the request and response fields that name a call's object, by the object type they name.
// A message with several names the first listed: a ticket call is about its ticket even when it also
// carries a customer_id.
var idFields = []struct {
	field protoreflect.Name
	typ   string
}{
	{"ticket_id", "ticket"},
	{"customer_id", "customer"},
	{"survivor_id", "customer"}, // MergeCustomers: the record the duplicate merges into
	{"key_id", "api_key"},
	{"rule_id", "classification_rule"},
	{"full_code", "subcategory"},
}

// objectOf finds the object a call named (a top-level id in the request, or one level down as in
// UpdateTicket's ticket.ticket_id) or, for a create, made (the same in the response).
func objectOf(req, resp any) (typ, id string) {
	for _, m := range []any{req, resp} {
		pm, ok := m.(proto.Message)
		if !ok || pm == nil {
			continue
		}
		msg := pm.ProtoReflect()
		if !msg.IsValid() {
			continue
		}
		if typ, id = idIn(msg); id != "" {
			return typ, id
		}
		fields := msg.Descriptor().Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			if fd.Kind() == protoreflect.MessageKind && !fd.IsList() && !fd.IsMap() && msg.Has(fd) {
				if typ, id = idIn(msg.Get(fd).Message()); id != "" {
					return typ, id
				}
			}
		}
	}
	return "", ""
}

func idIn(msg protoreflect.Message) (string, string) {
	fields := msg.Descriptor().Fields()
	for _, f := range idFields {
		fd := fields.ByName(f.field)
		if fd != nil && fd.Kind() == protoreflect.StringKind && !fd.IsList() {
			if v := msg.Get(fd).String(); v != "" {
				return f.typ, v
			}
		}
	}
	return "", ""
}

// detailsOf returns why a request says it is made and what it reads or changes, for its audit record
// (issue #5: an unmasked read records who, when, which customer, which fields, why). The reason is a
// top-level string field named reason, taken as typed. The fields are a top-level repeated enum named
// fields (RevealCustomer's RevealField list), each value named by enumFieldName, or else the paths of a
// top-level google.protobuf.FieldMask named update_mask. Names of fields only, never their values: the
// record holds no personal data but what the caller typed as its reason.
func detailsOf(req any) (reason string, fields []string) {
	pm, ok := req.(proto.Message)
	if !ok || pm == nil {
		return "", nil
	}
	msg := pm.ProtoReflect()
	if !msg.IsValid() {
		return "", nil
	}
	fds := msg.Descriptor().Fields()
	if fd := fds.ByName("reason"); fd != nil && fd.Kind() == protoreflect.StringKind && !fd.IsList() {
		reason = msg.Get(fd).String()
	}
	// The guard runs before validation, so a list may be of any length: what the record cannot keep
	// (audit.MaxFields) is not even named.
	if fd := fds.ByName("fields"); fd != nil && fd.Kind() == protoreflect.EnumKind && fd.IsList() {
		list := msg.Get(fd).List()
		for i := range min(list.Len(), audit.MaxFields) {
			fields = append(fields, enumFieldName(fd.Enum(), list.Get(i).Enum()))
		}
		return reason, fields
	}
	if fd := fds.ByName("update_mask"); fd != nil && fd.Kind() == protoreflect.MessageKind && !fd.IsList() &&
		fd.Message().FullName() == "google.protobuf.FieldMask" && msg.Has(fd) {
		mask := msg.Get(fd).Message()
		if pd := mask.Descriptor().Fields().ByName("paths"); pd != nil && pd.Kind() == protoreflect.StringKind && pd.IsList() {
			paths := mask.Get(pd).List()
			for i := range min(paths.Len(), audit.MaxFields) {
				fields = append(fields, paths.Get(i).String())
			}
		}
	}
	return reason, fields
}

// enumFieldName names an enum value in a record's fields: lower case, without the prefix buf's
// ENUM_VALUE_PREFIX lint rule gives every value (the enum's name in UPPER_SNAKE_CASE, then '_'), so
// RevealField's REVEAL_FIELD_NATIONAL_ID is national_id. A value without that prefix keeps its whole name;
// a number the enum does not define (a refused call's request was never validated) is its decimal form.
func enumFieldName(e protoreflect.EnumDescriptor, n protoreflect.EnumNumber) string {
	v := e.Values().ByNumber(n)
	if v == nil {
		return strconv.Itoa(int(n))
	}
	name := string(v.Name())
	if rest, ok := strings.CutPrefix(name, upperSnake(string(e.Name()))+"_"); ok && rest != "" {
		name = rest
	}
	return strings.ToLower(name)
}

// upperSnake spells a proto identifier (ASCII) in UPPER_SNAKE_CASE as buf's lint rules do: a word starts
// at a capital that follows a lower-case letter, or that is followed by a lower-case letter, which ends a
// run of capitals (HTTPMethod is HTTP_METHOD, Ipv4Kind is IPV4_KIND).
func upperSnake(name string) string {
	isUpper := func(c byte) bool { return 'A' <= c && c <= 'Z' }
	isLower := func(c byte) bool { return 'a' <= c && c <= 'z' }
	var b strings.Builder
	for i := range len(name) {
		c := name[i]
		if i > 0 && isUpper(c) && name[i-1] != '_' &&
			(isLower(name[i-1]) || (i+1 < len(name) && isLower(name[i+1]))) {
			b.WriteByte('_')
		}
		if isLower(c) {
			c -= 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// authenticate returns the caller's principal from the authorization metadata.
func authenticate(ctx context.Context, a *auth.Authenticator, anon *auth.Principal) (auth.Principal, error) {
	if a == nil {
		if anon != nil {
			return *anon, nil
		}
		return auth.Principal{}, apierr.New(apierr.KindUnauthenticated, "CREDENTIALS_INVALID", "this server accepts no credentials")
	}
	var cred string
	// ValueFromIncomingContext reads one key without copying the whole metadata map.
	if vs := metadata.ValueFromIncomingContext(ctx, auth.AuthorizationKey); len(vs) == 1 {
		cred = vs[0]
	} else if len(vs) > 1 {
		return auth.Principal{}, apierr.New(apierr.KindUnauthenticated, "CREDENTIALS_INVALID", "more than one authorization value")
	}
	p, err := a.Authenticate(ctx, cred)
	if err == nil {
		err = onBehalfOf(ctx, a, &p)
		if err != nil {
			return auth.Principal{}, err
		}
	}
	switch {
	case errors.Is(err, auth.ErrNoCredentials):
		return p, apierr.New(apierr.KindUnauthenticated, "CREDENTIALS_MISSING",
			"credentials required: send authorization: Bearer <API key or token>")
	case errors.Is(err, auth.ErrBadCredentials):
		// The reason (expired, revoked, bad signature...) stays in the server's log: telling the caller
		// would help the next attempt.
		return p, apierr.New(apierr.KindUnauthenticated, "CREDENTIALS_INVALID", "invalid credentials").WithCause(err)
	case err != nil:
		return p, apierr.New(apierr.KindUnavailable, "AUTH_UNAVAILABLE", "cannot verify credentials now; retry").WithCause(err)
	}
	return p, nil
}

// onBehalfOf verifies the staff credential a service forwarded and attributes the call to its holder.
// Only a caller with the service role may forward one; anyone else sending it is refused, never believed.
func onBehalfOf(ctx context.Context, a *auth.Authenticator, p *auth.Principal) error {
	vs := metadata.ValueFromIncomingContext(ctx, auth.ForwardedAuthorizationKey)
	if len(vs) == 0 {
		return nil
	}
	if !p.Has(auth.RoleService) {
		return apierr.New(apierr.KindPermissionDenied, "ON_BEHALF_OF_NOT_ALLOWED", "only services may call on behalf of another caller")
	}
	if len(vs) > 1 {
		return apierr.New(apierr.KindUnauthenticated, "CREDENTIALS_INVALID", "more than one forwarded credential")
	}
	u, err := a.Authenticate(ctx, vs[0])
	switch {
	case err == nil && u.Kind != auth.KindStaff:
		return apierr.New(apierr.KindUnauthenticated, "CREDENTIALS_INVALID", "the forwarded credential must be a staff token")
	case errors.Is(err, auth.ErrNoCredentials), errors.Is(err, auth.ErrBadCredentials):
		return apierr.New(apierr.KindUnauthenticated, "CREDENTIALS_INVALID", "invalid forwarded credentials").WithCause(err)
	case err != nil:
		return apierr.New(apierr.KindUnavailable, "AUTH_UNAVAILABLE", "cannot verify credentials now; retry").WithCause(err)
	}
	p.OnBehalfOf = &u
	return nil
}
