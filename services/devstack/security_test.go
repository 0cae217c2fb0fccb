package devstack_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/devstack"
)

// tally counts the hostile-caller suite's cases: how many were tried, and how many of those a secure
// suite should have refused but accepted. TestMain prints it after the run.
var tally struct{ tried, acceptedWrongly atomic.Int64 }

func TestMain(m *testing.M) {
	code := m.Run()
	if n := tally.tried.Load(); n > 0 {
		fmt.Printf("hostile-caller suite: %d cases tried, %d accepted wrongly\n", n, tally.acceptedWrongly.Load())
	}
	os.Exit(code)
}

// hostileStack is a running dev stack with the principals the hostile cases act as or against.
type hostileStack struct {
	a      devstack.Addresses
	cc     *grpc.ClientConn
	intake intakev1.IntakeServiceClient
	keys   authv1.KeyServiceClient
	iss    *auth.DevIssuer
	keyPEM []byte

	admin, auditor, supervisorG1, agentG1, agentG2 string // staff tokens
	webKey, appKey                                 string // adapter keys: web-chat (web_chat), app (app)
	g1, g2, agent1, agent2                         string
	victim                                         *intakev1.Ticket // web-chat's ticket, in g2, assigned to agent2
}

func startHostile(t *testing.T) *hostileStack {
	t.Helper()
	dir := t.TempDir()
	db := startDB(t)
	a, cfg := startStackWith(t, devstack.Config{
		DataDir: dir, DatabaseURL: db.AdminURL, NATSPort: -1, Host: "127.0.0.1",
		// Generous for everyone but auditors, whose small bucket the burst case empties.
		RateLimits: "adapter=1000:1000,service=1000:1000,agent=1000:1000,supervisor=1000:1000,admin=1000:1000,auditor=2:5",
	})
	iss, err := devstack.LoadIssuer(cfg.DataDir)
	require.NoError(t, err)
	keyPEM, err := iss.KeyPEM()
	require.NoError(t, err)
	cc, err := grpcx.Dial(a.Intake)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	h := &hostileStack{a: a, cc: cc, intake: intakev1.NewIntakeServiceClient(cc), keys: authv1.NewKeyServiceClient(cc),
		iss: iss, keyPEM: keyPEM,
		g1: devstack.GroupID("g1"), g2: devstack.GroupID("g2"), agent1: devstack.GroupID("agent-1"), agent2: devstack.GroupID("agent-2")}
	mint := func(sub string, roles []string, groups ...string) string {
		tok, err := iss.Mint(auth.StaffToken{Subject: sub, Roles: roles, Groups: groups})
		require.NoError(t, err)
		return tok
	}
	h.admin = mint("admin-1", []string{auth.RoleAdmin})
	h.auditor = mint("auditor-1", []string{auth.RoleAuditor})
	h.supervisorG1 = mint("sup-1", []string{auth.RoleSupervisor}, h.g1)
	h.agentG1 = mint(h.agent1, []string{auth.RoleAgent}, h.g1)
	h.agentG2 = mint(h.agent2, []string{auth.RoleAgent}, h.g2)
	h.webKey = h.createKey(t, "web-chat", intakev1.Channel_CHANNEL_WEB_CHAT).GetSecret()
	h.appKey = h.createKey(t, "app", intakev1.Channel_CHANNEL_APP).GetSecret()

	sub, err := h.intake.SubmitTicket(bearer(t.Context(), h.webKey), &intakev1.SubmitTicketRequest{
		IdempotencyKey: "victim", Channel: intakev1.Channel_CHANNEL_WEB_CHAT, ReceivedTime: timestamppb.Now(),
		Description: "我的订单还没到", Contact: &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "13800138000", Consent: true, ConsentPurpose: "follow_up"},
	})
	require.NoError(t, err)
	// Routing places every new ticket in a group at intake; the hand assignment comes after it.
	h.settle(t)
	as, err := h.intake.AssignTicket(bearer(t.Context(), h.admin), &intakev1.AssignTicketRequest{
		TicketId: sub.GetTicket().GetTicketId(), GroupId: h.g2, AssigneeId: h.agent2})
	require.NoError(t, err)
	h.victim = as.GetTicket()
	return h
}

func (h *hostileStack) createKey(t *testing.T, name string, ch intakev1.Channel) *authv1.CreateApiKeyResponse {
	t.Helper()
	resp, err := h.keys.CreateApiKey(bearer(t.Context(), h.admin), &authv1.CreateApiKeyRequest{
		RequestId: "k-" + name + "-" + fmt.Sprint(time.Now().UnixNano()), PrincipalKind: authv1.PrincipalKind_PRINCIPAL_KIND_ADAPTER,
		PrincipalId: name, AllowedChannels: []intakev1.Channel{ch}})
	require.NoError(t, err)
	return resp
}

// bearer returns ctx sending credential.
func bearer(ctx context.Context, credential string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+credential)
}

// settle waits until routing has placed every ticket (none is NEW any more) and returns them all, as an
// admin sees them. Routing assigns each new ticket to a group at intake shortly after its submit, a change
// no hostile call made.
func (h *hostileStack) settle(t *testing.T) []*intakev1.Ticket {
	t.Helper()
	var tickets []*intakev1.Ticket
	testkit.Eventually(t, func() bool {
		resp, err := h.intake.ListTickets(bearer(t.Context(), h.admin), &intakev1.ListTicketsRequest{PageSize: 500})
		if err != nil {
			return false
		}
		tickets = resp.GetTickets()
		return !slices.ContainsFunc(tickets, func(tk *intakev1.Ticket) bool {
			return tk.GetStatus() == intakev1.TicketStatus_TICKET_STATUS_NEW
		})
	}, time.Minute, "routing never placed every new ticket")
	return tickets
}

// fingerprint is every ticket's id and etag and every key's state, as an admin sees them once routing has
// placed every ticket: a write that was refused must leave it as it was.
func (h *hostileStack) fingerprint(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, tk := range h.settle(t) {
		fmt.Fprintf(&b, "%s/%s;", tk.GetTicketId(), tk.GetEtag())
	}
	keys, err := h.keys.ListApiKeys(bearer(t.Context(), h.admin), &authv1.ListApiKeysRequest{PageSize: 500, IncludeInactive: true})
	require.NoError(t, err)
	for _, k := range keys.GetApiKeys() {
		fmt.Fprintf(&b, "%s/%v/%v;", k.GetKeyId(), k.GetActive(), k.GetExpireTime().AsTime())
	}
	return b.String()
}

// expect runs one hostile case: call must fail with want (a gRPC code) and, for writes, change nothing.
func (h *hostileStack) expect(t *testing.T, name string, want codes.Code, write bool, call func(ctx context.Context) error) {
	t.Helper()
	t.Run(name, func(t *testing.T) {
		var before string
		if write {
			before = h.fingerprint(t)
		}
		tally.tried.Add(1)
		err := call(t.Context())
		got := status.Code(err)
		if got == codes.OK && want != codes.OK {
			tally.acceptedWrongly.Add(1)
		}
		require.Equal(t, want, got, "%v", err)
		if write {
			require.Equal(t, before, h.fingerprint(t), "a refused call changed something")
		}
	})
}

// invoke calls a method by name with an empty request of its input type, so every method of a service
// can be tried without knowing its Go types.
func invoke(ctx context.Context, cc *grpc.ClientConn, m protoreflect.MethodDescriptor) error {
	full := "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
	return cc.Invoke(ctx, full, dynamicpb.NewMessage(m.Input()), dynamicpb.NewMessage(m.Output()))
}

// suiteMethods are every method of every service the suite serves.
func suiteMethods() []protoreflect.MethodDescriptor {
	var out []protoreflect.MethodDescriptor
	for _, sd := range []protoreflect.ServiceDescriptor{
		intakev1.File_kefu_intake_v1_intake_service_proto.Services().ByName("IntakeService"),
		authv1.File_kefu_auth_v1_key_service_proto.Services().ByName("KeyService"),
		authv1.File_kefu_auth_v1_audit_service_proto.Services().ByName("AuditService"),
	} {
		for i := range sd.Methods().Len() {
			out = append(out, sd.Methods().Get(i))
		}
	}
	return out
}

// TestHostileCallers tries what an attacker would, table by table, and asserts the exact refusal and that
// nothing changed. The tally (cases tried, accepted wrongly) is printed after the package's tests.
func TestHostileCallers(t *testing.T) {
	t.Parallel()
	h := startHostile(t)
	victim := h.victim.GetTicketId()
	getVictim := func(cred string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := h.intake.GetTicket(bearer(ctx, cred), &intakev1.GetTicketRequest{TicketId: victim})
			return err
		}
	}
	assignVictim := func(cred string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			_, err := h.intake.AssignTicket(bearer(ctx, cred), &intakev1.AssignTicketRequest{TicketId: victim, GroupId: h.g1, AssigneeId: h.agent1})
			return err
		}
	}

	t.Run("no credentials on every RPC", func(t *testing.T) {
		for _, m := range suiteMethods() {
			h.expect(t, string(m.FullName()), codes.Unauthenticated, m.Name() != "GetTicket", func(ctx context.Context) error {
				return invoke(ctx, h.cc, m)
			})
		}
	})

	t.Run("forged and stale staff tokens", func(t *testing.T) {
		now := time.Now()
		claims := func(iat time.Time, ttl time.Duration) jwt.MapClaims {
			return jwt.MapClaims{"iss": devstack.DevIssuer, "aud": devstack.DevAudience, "sub": "admin-1",
				"roles": []string{auth.RoleAdmin}, "iat": iat.Unix(), "nbf": iat.Unix(), "exp": iat.Add(ttl).Unix()}
		}
		kid := kidOf(t, h.admin)
		none := jwt.NewWithClaims(jwt.SigningMethodNone, claims(now, time.Hour))
		none.Header["kid"] = kid
		noneTok, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
		require.NoError(t, err)
		hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(now, time.Hour))
		hs.Header["kid"] = kid
		hsTok, err := hs.SignedString(publicPEM(t, h.keyPEM)) // the classic key-confusion attack
		require.NoError(t, err)
		sig := h.admin[strings.LastIndexByte(h.admin, '.')+1:]
		flipped := h.admin[:len(h.admin)-len(sig)] + strings.Map(func(r rune) rune {
			if r == 'A' {
				return 'B'
			}
			return 'A'
		}, sig[:4]) + sig[4:]
		reissue := func(issuer, audience string, at time.Time, ttl time.Duration) string {
			other, err := auth.LoadDevIssuer(h.keyPEM, issuer, audience)
			require.NoError(t, err)
			tok, err := other.Mint(auth.StaffToken{Subject: "admin-1", Roles: []string{auth.RoleAdmin}, Now: at, TTL: ttl})
			require.NoError(t, err)
			return tok
		}
		stranger, err := auth.NewDevIssuer(devstack.DevIssuer, devstack.DevAudience)
		require.NoError(t, err)
		strangerTok, err := stranger.Mint(auth.StaffToken{Subject: "admin-1", Roles: []string{auth.RoleAdmin}})
		require.NoError(t, err)
		for name, tok := range map[string]string{
			"alg none":                         noneTok,
			"bad signature":                    flipped,
			"expired":                          reissue(devstack.DevIssuer, devstack.DevAudience, now.Add(-3*time.Hour), time.Hour),
			"not yet valid":                    reissue(devstack.DevIssuer, devstack.DevAudience, now.Add(time.Hour), time.Hour),
			"wrong issuer":                     reissue("https://evil.example.com", devstack.DevAudience, now, time.Hour),
			"wrong audience":                   reissue(devstack.DevIssuer, "another-app", now, time.Hour),
			"HS256 signed with the public key": hsTok,
			"signed by a key the issuer never published": strangerTok,
			"garbage": "not.a.token",
		} {
			h.expect(t, name+": read", codes.Unauthenticated, false, getVictim(tok))
			h.expect(t, name+": write", codes.Unauthenticated, true, assignVictim(tok))
		}
	})

	t.Run("bad API keys", func(t *testing.T) {
		revoked := h.createKey(t, "revoked", intakev1.Channel_CHANNEL_WEB_CHAT)
		_, err := h.keys.RevokeApiKey(bearer(t.Context(), h.admin), &authv1.RevokeApiKeyRequest{KeyId: revoked.GetApiKey().GetKeyId()})
		require.NoError(t, err)
		expiring, err := h.keys.CreateApiKey(bearer(t.Context(), h.admin), &authv1.CreateApiKeyRequest{
			RequestId: "expiring", PrincipalKind: authv1.PrincipalKind_PRINCIPAL_KIND_ADAPTER, PrincipalId: "expiring",
			AllowedChannels: []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT}, ExpireTime: timestamppb.New(time.Now().Add(3 * time.Second))})
		require.NoError(t, err)
		_, err = h.intake.GetTicket(bearer(t.Context(), expiring.GetSecret()), &intakev1.GetTicketRequest{TicketId: victim})
		require.Equal(t, codes.NotFound, status.Code(err), "the key works before it expires (and sees only its own tickets)")
		time.Sleep(time.Until(expiring.GetApiKey().GetExpireTime().AsTime()) + 100*time.Millisecond)
		id, _, err := auth.NewAPIKey(strings.NewReader(strings.Repeat("x", 64)))
		require.NoError(t, err)
		unknown := "kefu_" + id + "_" + strings.Repeat("ab", 32)
		webID, _, err := auth.ParseAPIKey(h.webKey)
		require.NoError(t, err)
		for name, key := range map[string]string{
			"revoked":                         revoked.GetSecret(),
			"expired":                         expiring.GetSecret(),
			"malformed":                       "kefu_xyz_123",
			"unknown id":                      unknown,
			"a real id with a made-up secret": "kefu_" + webID + "_" + strings.Repeat("cd", 32),
			"a real key cut short":            h.webKey[:len(h.webKey)-1],
		} {
			h.expect(t, name+": read", codes.Unauthenticated, false, getVictim(key))
			h.expect(t, name+": submit", codes.Unauthenticated, true, func(ctx context.Context) error {
				_, err := h.intake.SubmitTicket(bearer(ctx, key), &intakev1.SubmitTicketRequest{IdempotencyKey: "x-" + name,
					Channel: intakev1.Channel_CHANNEL_WEB_CHAT, ReceivedTime: timestamppb.Now(), Description: "spam"})
				return err
			})
		}
		h.expect(t, "a key speaking for its own ticket on a channel it is not allowed", codes.PermissionDenied, true, func(ctx context.Context) error {
			_, err := h.intake.AppendCustomerMessage(bearer(ctx, h.webKey), &intakev1.AppendCustomerMessageRequest{
				TicketId: victim, RequestId: "wrong-channel", Text: "spoofed SMS", Channel: intakev1.Channel_CHANNEL_SMS})
			return err
		})
		h.expect(t, "a key used on a channel it is not allowed", codes.PermissionDenied, true, func(ctx context.Context) error {
			_, err := h.intake.SubmitTicket(bearer(ctx, h.webKey), &intakev1.SubmitTicketRequest{IdempotencyKey: "wrong-channel",
				Channel: intakev1.Channel_CHANNEL_PHONE, ReceivedTime: timestamppb.Now(), Description: "spoofed phone ticket"})
			return err
		})
	})

	t.Run("an agent reaching into another group", func(t *testing.T) {
		for name, cred := range map[string]string{"agent of g1": h.agentG1, "supervisor of g1": h.supervisorG1} {
			h.expect(t, name+": get by id", codes.NotFound, false, getVictim(cred))
			h.expect(t, name+": timeline", codes.NotFound, false, func(ctx context.Context) error {
				_, err := h.intake.ListTimeline(bearer(ctx, cred), &intakev1.ListTimelineRequest{TicketId: victim})
				return err
			})
			h.expect(t, name+": reply", codes.NotFound, true, func(ctx context.Context) error {
				_, err := h.intake.AddReply(bearer(ctx, cred), &intakev1.AddReplyRequest{TicketId: victim, RequestId: "r1", Text: "hi"})
				return err
			})
			h.expect(t, name+": escalate", codes.NotFound, true, func(ctx context.Context) error {
				_, err := h.intake.EscalateTicket(bearer(ctx, cred), &intakev1.EscalateTicketRequest{TicketId: victim, Reason: "x"})
				return err
			})
			h.expect(t, name+": update", codes.NotFound, true, func(ctx context.Context) error {
				_, err := h.intake.UpdateTicket(bearer(ctx, cred), &intakev1.UpdateTicketRequest{
					Ticket:     &intakev1.Ticket{TicketId: victim, Etag: h.victim.GetEtag(), Urgency: intakev1.Urgency_URGENCY_CRITICAL},
					UpdateMask: fieldMask("urgency")})
				return err
			})
			h.expect(t, name+": list by a guessed number shows nothing", codes.OK, false, func(ctx context.Context) error {
				resp, err := h.intake.ListTickets(bearer(ctx, cred), &intakev1.ListTicketsRequest{Number: h.victim.GetNumber()})
				if err == nil && len(resp.GetTickets()) > 0 {
					tally.acceptedWrongly.Add(1)
					return fmt.Errorf("the guessed number showed %d tickets", len(resp.GetTickets()))
				}
				return err
			})
		}
		h.expect(t, "agent of g1: assign (not an agent's permission)", codes.PermissionDenied, true, assignVictim(h.agentG1))
		h.expect(t, "supervisor of g1: assign another group's ticket", codes.NotFound, true, assignVictim(h.supervisorG1))
		h.submitAnother(t)
		page, err := h.intake.ListTickets(bearer(t.Context(), h.admin), &intakev1.ListTicketsRequest{PageSize: 1})
		require.NoError(t, err)
		require.NotEmpty(t, page.GetNextPageToken())
		h.expect(t, "agent of g1: replaying the admin's page token", codes.InvalidArgument, false, func(ctx context.Context) error {
			_, err := h.intake.ListTickets(bearer(ctx, h.agentG1), &intakev1.ListTicketsRequest{PageSize: 1, PageToken: page.GetNextPageToken()})
			return err
		})
		h.expect(t, "another adapter: reading web-chat's ticket", codes.NotFound, false, getVictim(h.appKey))
		h.expect(t, "another adapter: appending to web-chat's ticket", codes.NotFound, true, func(ctx context.Context) error {
			_, err := h.intake.AppendCustomerMessage(bearer(ctx, h.appKey), &intakev1.AppendCustomerMessageRequest{
				TicketId: victim, RequestId: "m1", Text: "injected"})
			return err
		})
	})

	t.Run("an adapter calling staff RPCs", func(t *testing.T) {
		for _, m := range suiteMethods() {
			full := "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
			rule, _ := auth.RuleFor(full)
			if auth.Allows([]string{auth.RoleAdapter}, rule.Permission) {
				continue
			}
			h.expect(t, string(m.FullName()), codes.PermissionDenied, true, func(ctx context.Context) error {
				return invoke(bearer(ctx, h.webKey), h.cc, m)
			})
		}
	})

	t.Run("metadata smuggled through the gateway", func(t *testing.T) {
		get := func(ctx context.Context, headers map[string]string) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.a.REST+"/v1/tickets/"+victim, nil)
			require.NoError(t, err)
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			return status.Error(httpCode(resp.StatusCode), resp.Status)
		}
		h.expect(t, "Grpc-Metadata-Authorization with an admin token, no own credential", codes.Unauthenticated, false, func(ctx context.Context) error {
			return get(ctx, map[string]string{"Grpc-Metadata-Authorization": "Bearer " + h.admin})
		})
		h.expect(t, "Grpc-Metadata-Authorization next to the caller's own adapter key", codes.NotFound, false, func(ctx context.Context) error {
			return get(ctx, map[string]string{"Authorization": "Bearer " + h.appKey, "Grpc-Metadata-Authorization": "Bearer " + h.admin})
		})
		h.expect(t, "Grpc-Metadata-Kefu-Principal claiming staff", codes.NotFound, false, func(ctx context.Context) error {
			return get(ctx, map[string]string{"Authorization": "Bearer " + h.appKey, "Grpc-Metadata-Kefu-Principal": "staff:admin-1"})
		})
		h.expect(t, "two Authorization headers", codes.Unauthenticated, false, func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.a.REST+"/v1/tickets/"+victim, nil)
			require.NoError(t, err)
			req.Header.Add("Authorization", "Bearer "+h.appKey)
			req.Header.Add("Authorization", "Bearer "+h.admin)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			return status.Error(httpCode(resp.StatusCode), resp.Status)
		})
	})

	t.Run("a burst over the rate limit", func(t *testing.T) {
		// The auditor's bucket holds 5 and refills at 2 a second: a quick burst of 12 must be cut.
		var refused int
		var retryAfter string
		for range 12 {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, h.a.REST+"/v1/tickets?pageSize=1", nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+h.auditor)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				refused++
				retryAfter = resp.Header.Get("Retry-After")
			}
		}
		tally.tried.Add(1)
		if refused == 0 {
			tally.acceptedWrongly.Add(1)
		}
		require.GreaterOrEqual(t, refused, 5, "a burst of 12 against a bucket of 5 refilling at 2/s")
		require.NotEmpty(t, retryAfter, "429 says when to retry")
		h.expect(t, "over gRPC: resource exhausted", codes.ResourceExhausted, false, func(ctx context.Context) error {
			// The bucket refills meanwhile, so burst again until refused (a 5-token bucket cannot pass 12).
			var err error
			for range 12 {
				if _, err = h.intake.ListTickets(bearer(ctx, h.auditor), &intakev1.ListTicketsRequest{PageSize: 1}); status.Code(err) == codes.ResourceExhausted {
					break
				}
			}
			return err
		})
	})
}

func (h *hostileStack) submitAnother(t *testing.T) {
	t.Helper()
	_, err := h.intake.SubmitTicket(bearer(t.Context(), h.webKey), &intakev1.SubmitTicketRequest{
		IdempotencyKey: "another", Channel: intakev1.Channel_CHANNEL_WEB_CHAT, ReceivedTime: timestamppb.Now(), Description: "第二张"})
	require.NoError(t, err)
}

func fieldMask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// kidOf reads a token's key id without verifying it.
func kidOf(t *testing.T, tok string) string {
	t.Helper()
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	require.NoError(t, err)
	kid, _ := parsed.Header["kid"].(string)
	require.NotEmpty(t, kid)
	return kid
}

// publicPEM is the PEM of the public half of an EC private key in PEM: what a JWKS publishes, and what a
// key-confusion attacker would use as an HMAC secret.
func publicPEM(t *testing.T, privPEM []byte) []byte {
	t.Helper()
	b, _ := pem.Decode(privPEM)
	require.NotNil(t, b)
	k, err := x509.ParseECPrivateKey(b.Bytes)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// httpCode maps the REST statuses the cases expect back to gRPC codes, so one expect serves both.
func httpCode(s int) codes.Code {
	switch s {
	case http.StatusOK:
		return codes.OK
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.NotFound
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	default:
		return codes.Unknown
	}
}
