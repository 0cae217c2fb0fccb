// Package chaos is kefu's fault-injection suite. It runs the suite as separate processes (procstack: the
// compose environment, so kill -9 is real), NATS as its own process restarted on the same store, Postgres
// as a private cluster that can be crashed with an immediate shutdown, and both behind in-process
// toxiproxy proxies for network faults. Scenarios inject one fault each under steady ticket intake; a
// recorder logs every request and every event in the stream, and a checker counts lost, duplicated and
// out-of-order outcomes once the suite has settled.
package chaos

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	slav1 "kefu.dev/pkg/api/kefu/sla/v1"
	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/pkg/pgcluster"
	"kefu.dev/services/devstack"
	"kefu.dev/services/devstack/procstack"
)

// services are the processes the scenarios need, in start order (each after what its compose
// depends_on waits for): intake takes tickets; routing, slatimer and analytics consume their events; the
// gateway serves REST.
var services = []string{"customer", "intake", "routing", "slatimer", "analytics", "gateway"}

// Stack is the suite under test and the levers the scenarios pull.
type Stack struct {
	root, work string
	log        *slog.Logger

	pg       *pgcluster.Cluster
	pgPort   int
	AdminURL string // the kefu database as superuser, directly (not through the proxy)

	natsBin, natsConf string
	natsPort          int
	nats              *exec.Cmd
	natsDone          chan struct{}

	// Each service reaches Postgres and NATS through proxies of its own, so a fault can hit one link.
	toxi                   *toxiproxy.ApiServer
	pgProxies, natsProxies map[string]*toxiproxy.Proxy

	ps    *procstack.Stack
	procs map[string]*procstack.Proc
	jwks  *http.Server

	// AdapterKey is the web-chat adapter's API key; admin an admin's token.
	AdapterKey, admin string
	// intake is the replica the load submits to (a scenario may switch it); conns are the clients' connections.
	mu     sync.Mutex
	intake intakev1.IntakeServiceClient
	conns  []*grpc.ClientConn
	// rec records the stream, for scenarios that check their own effects.
	rec    *Recorder
	issuer *auth.DevIssuer
}

// Dial returns a connection to service name's API (closed by Close).
func (st *Stack) Dial(name string) (*grpc.ClientConn, error) { return st.dial(st.ps.API[name]) }

// MintAdminContext returns ctx carrying a new admin token for subject (rate limits count per principal).
func (st *Stack) MintAdminContext(ctx context.Context, subject string) (context.Context, error) {
	tok, err := st.issuer.Mint(auth.StaffToken{Subject: subject, Roles: []string{"admin"}, TTL: 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	return bearer(ctx, tok), nil
}

// WithBearer returns ctx sending credential (an API key or a token).
func WithBearer(ctx context.Context, credential string) context.Context {
	return bearer(ctx, credential)
}

// AdminContext returns ctx carrying an admin's token.
func (st *Stack) AdminContext(ctx context.Context) context.Context { return bearer(ctx, st.admin) }

// AdapterContext returns ctx carrying the adapter's API key.
func (st *Stack) AdapterContext(ctx context.Context) context.Context {
	return bearer(ctx, st.AdapterKey)
}

// Recorder returns the stack's recording of the stream.
func (st *Stack) Recorder() *Recorder { return st.rec }

// Pids returns each running service process's id, by service name (replicas as name#port).
func (st *Stack) Pids() map[string]int {
	out := map[string]int{}
	for name, pr := range st.procs {
		select {
		case <-pr.Done():
		default:
			out[name] = pr.Pid()
		}
	}
	return out
}

// GatewayURL is the REST gateway's base URL.
func (st *Stack) GatewayURL() string { return fmt.Sprintf("http://127.0.0.1:%d", st.ps.API["gateway"]) }

// Intake returns the client the load submits through.
func (st *Stack) Intake() intakev1.IntakeServiceClient {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.intake
}

func (st *Stack) useIntake(c intakev1.IntakeServiceClient) {
	st.mu.Lock()
	st.intake = c
	st.mu.Unlock()
}

// dial returns a connection to the API on port.
func (st *Stack) dial(port int) (*grpc.ClientConn, error) {
	cc, err := grpcx.Dial(fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	st.mu.Lock()
	st.conns = append(st.conns, cc)
	st.mu.Unlock()
	return cc, nil
}

// StartOptions chooses what Start runs.
type StartOptions struct {
	// Services are started in this order (default: customer, intake, routing, slatimer, analytics; each
	// after what its compose depends_on waits for).
	Services []string
	// Channels are the adapter key's channels (default: web chat).
	Channels []intakev1.Channel
	// Pprof serves each service's runtime profiles on a loopback port of its own (Stack.PprofURL).
	Pprof bool
	// RecordSubjects are the only subjects the recorder keeps (default: every event, which the checker
	// needs). A load run that only times a few events names them, so recording costs the machine it
	// measures less.
	RecordSubjects []string
}

// Start builds the binaries into work/bin and starts everything; Close stops it.
func Start(ctx context.Context, root, work string, log *slog.Logger, o StartOptions) (st *Stack, err error) {
	if len(o.Services) == 0 {
		o.Services = services
	}
	if len(o.Channels) == 0 {
		o.Channels = []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT}
	}
	st = &Stack{root: root, work: work, log: log, procs: map[string]*procstack.Proc{}}
	defer func() {
		if err != nil {
			st.Close()
			st = nil
		}
	}()
	bin := filepath.Join(work, "bin")
	for _, d := range []string{bin, filepath.Join(work, "logs"), filepath.Join(work, "nats")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return st, err
		}
	}
	log.InfoContext(ctx, "building the services and nats-server")
	scratch, err := os.MkdirTemp(work, "build-")
	if err != nil {
		return st, err
	}
	defer os.RemoveAll(scratch)
	if err := procstack.Build(ctx, root, scratch, bin, "github.com/nats-io/nats-server/v2"); err != nil {
		return st, err
	}
	st.natsBin = filepath.Join(bin, "nats-server")

	log.InfoContext(ctx, "starting postgres and nats")
	if st.pg, err = pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(work, "pg"), Logger: log}); err != nil {
		return st, err
	}
	st.pgPort = st.pg.Port()
	if st.AdminURL, err = procstack.InitDatabase(ctx, root, st.pg.AdminURL("postgres"), "kefu"); err != nil {
		return st, err
	}
	if st.natsPort, err = freePort(); err != nil {
		return st, err
	}
	st.natsConf = filepath.Join(work, "nats.conf")
	conf := fmt.Sprintf("listen: 127.0.0.1:%d\njetstream {\n  store_dir: %q\n  sync_interval: always\n}\n",
		st.natsPort, filepath.Join(work, "nats"))
	if err := os.WriteFile(st.natsConf, []byte(conf), 0o644); err != nil {
		return st, err
	}
	if err := st.StartNATS(ctx); err != nil {
		return st, err
	}

	// The services reach Postgres and NATS only through the proxies.
	zl := zerolog.Nop()
	st.toxi = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zl)
	st.pgProxies, st.natsProxies = map[string]*toxiproxy.Proxy{}, map[string]*toxiproxy.Proxy{}
	pgHosts, natsURLs := map[string]string{}, map[string]string{}
	for _, s := range procstack.Services() {
		if st.pgProxies[s.Name], err = st.proxy(s.Name+"-postgres", st.pgPort); err != nil {
			return st, err
		}
		if st.natsProxies[s.Name], err = st.proxy(s.Name+"-nats", st.natsPort); err != nil {
			return st, err
		}
		pgHosts[s.Name], natsURLs[s.Name] = st.pgProxies[s.Name].Listen, "nats://"+st.natsProxies[s.Name].Listen
	}

	dataDir := filepath.Join(work, "dev")
	iss, err := devstack.LoadIssuer(dataDir)
	if err != nil {
		return st, err
	}
	st.issuer = iss
	jwksURL, err := st.serveJWKS(iss)
	if err != nil {
		return st, err
	}
	pepper := make([]byte, 32)
	_, _ = rand.Read(pepper)
	encKey, blindKey := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(encKey)
	_, _ = rand.Read(blindKey)
	secrets := map[string]string{
		"KEFU_API_KEY_PEPPER": hex.EncodeToString(pepper), "KEFU_OIDC_ISSUER": devstack.DevIssuer, "KEFU_OIDC_JWKS_URL": jwksURL,
		"KEFU_ENCRYPTION_KEYS": "k1:" + b64(encKey), "KEFU_BLIND_INDEX_KEY": b64(blindKey),
	}
	// The service-key commands (and anything without a proxy of its own) reach Postgres directly.
	st.ps = &procstack.Stack{Bin: bin, LogDir: filepath.Join(work, "logs"), PGHost: "127.0.0.1:" + strconv.Itoa(st.pgPort), PGDB: "kefu",
		NATSURL: st.NATSURL(), PGHosts: pgHosts, NATSURLs: natsURLs, API: map[string]int{}, Metrics: map[string]int{}}
	for _, s := range procstack.Services() {
		if st.ps.API[s.Name], err = freePort(); err != nil {
			return st, err
		}
		if st.ps.Metrics[s.Name], err = freePort(); err != nil {
			return st, err
		}
		if o.Pprof {
			port, err := freePort()
			if err != nil {
				return st, err
			}
			if st.ps.Extra == nil {
				st.ps.Extra = map[string][]string{}
			}
			st.ps.Extra[s.Name] = append(st.ps.Extra[s.Name], "KEFU_PPROF_ADDR=127.0.0.1:"+strconv.Itoa(port))
		}
	}
	if st.ps.Project, err = procstack.LoadCompose(ctx, root, secrets); err != nil {
		return st, err
	}
	keys, err := st.ps.IssueServiceKeys(ctx)
	if err != nil {
		return st, err
	}
	env := maps.Clone(secrets)
	maps.Copy(env, keys)
	if st.ps.Project, err = procstack.LoadCompose(ctx, root, env); err != nil {
		return st, err
	}
	for _, name := range o.Services {
		log.InfoContext(ctx, "starting", "service", name)
		if err := st.StartService(ctx, name); err != nil {
			return st, err
		}
	}

	intakeCC, err := st.dial(st.ps.API["intake"])
	if err != nil {
		return st, err
	}
	st.intake = intakev1.NewIntakeServiceClient(intakeCC)
	if st.admin, err = iss.Mint(auth.StaffToken{Subject: "chaos-admin", Roles: []string{"admin"}, TTL: 24 * time.Hour}); err != nil {
		return st, err
	}
	key, err := authv1.NewKeyServiceClient(intakeCC).CreateApiKey(bearer(ctx, st.admin), &authv1.CreateApiKeyRequest{
		RequestId: "chaos-web-chat", PrincipalKind: authv1.PrincipalKind_PRINCIPAL_KIND_ADAPTER, PrincipalId: "web-chat",
		DisplayName: "chaos load", AllowedChannels: o.Channels})
	if err != nil {
		return st, fmt.Errorf("create the adapter key: %w", err)
	}
	st.AdapterKey = key.GetSecret()

	// Web-chat tickets get a first response target of SLATarget around the clock, so every ticket's
	// warnings (at 50% and 80%) and breach come due during the run, and the checker can count them.
	slaCC, err := st.dial(st.ps.API["slatimer"])
	if err != nil {
		return st, err
	}
	_, err = slav1.NewSlaServiceClient(slaCC).CreatePolicy(bearer(ctx, st.admin), &slav1.CreatePolicyRequest{RequestId: "chaos-sla",
		Policy: &slav1.Policy{Code: "chaos_first_response", DisplayName: "chaos: first response", Enabled: true, Calendar: "24x7",
			Match:   &slav1.PolicyMatch{Channels: []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT}},
			Targets: []*slav1.PolicyTarget{{Target: eventsv1.SlaTarget_SLA_TARGET_FIRST_RESPONSE, Length: durationpb.New(SLATarget)}}}})
	if err != nil {
		return st, fmt.Errorf("create the SLA policy: %w", err)
	}
	if st.rec, err = Record(ctx, st.NATSURL(), log, o.RecordSubjects...); err != nil {
		return st, err
	}
	if _, err := st.intake.SubmitTicket(bearer(ctx, st.AdapterKey), &intakev1.SubmitTicketRequest{IdempotencyKey: heldSubject,
		Channel: o.Channels[0], ReceivedTime: timestamppb.Now(), Subject: heldSubject, Description: "held by the held-ticket scenario"}); err != nil {
		return st, fmt.Errorf("submit the held ticket: %w", err)
	}
	return st, nil
}

// SLATarget is the first response target of the suite's tickets.
const SLATarget = 6 * time.Second

// StartReplica starts another process of service name on ports of its own and waits until it is healthy.
func (st *Stack) StartReplica(ctx context.Context, name string) (*procstack.Proc, error) {
	api, err := freePort()
	if err != nil {
		return nil, err
	}
	metrics, err := freePort()
	if err != nil {
		return nil, err
	}
	pr, err := st.ps.Start(name, api, metrics)
	if err != nil {
		return nil, err
	}
	st.procs[name+"#"+strconv.Itoa(api)] = pr
	return pr, st.ps.WaitHealthy(ctx, pr)
}

func (st *Stack) proxy(name string, port int) (*toxiproxy.Proxy, error) {
	p := toxiproxy.NewProxy(st.toxi, name, "127.0.0.1:0", "127.0.0.1:"+strconv.Itoa(port))
	if err := p.Start(); err != nil {
		return nil, fmt.Errorf("proxy %s: %w", name, err)
	}
	return p, nil
}

func (st *Stack) serveJWKS(iss *auth.DevIssuer) (string, error) {
	doc, err := iss.JWKS()
	if err != nil {
		return "", err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	st.jwks = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})}
	go func() { _ = st.jwks.Serve(lis) }()
	return "http://" + lis.Addr().String() + "/.well-known/jwks.json", nil
}

// StartService starts service name and waits until its health check passes.
func (st *Stack) StartService(ctx context.Context, name string) error {
	pr, err := st.ps.Start(name, st.ps.API[name], st.ps.Metrics[name])
	if err != nil {
		return err
	}
	st.procs[name] = pr
	return st.ps.WaitHealthy(ctx, pr)
}

// KillService ends service name with SIGKILL.
func (st *Stack) KillService(name string) { st.procs[name].Kill() }

// StartNATS runs nats-server on its port and store and waits until it accepts connections.
func (st *Stack) StartNATS(ctx context.Context) error {
	cmd := exec.Command(st.natsBin, "-c", st.natsConf)
	f, err := os.OpenFile(filepath.Join(st.work, "logs", "nats.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = f.Close(); close(done) }()
	st.nats, st.natsDone = cmd, done
	addr := "127.0.0.1:" + strconv.Itoa(st.natsPort)
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-done:
			return errors.New("nats-server exited on start: see logs/nats.log")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("nats-server does not accept connections after 30s")
		}
	}
}

// StopNATS ends nats-server with sig (SIGTERM: a clean stop; SIGKILL: a crash) and waits for it.
func (st *Stack) StopNATS(sig syscall.Signal) {
	if st.nats == nil {
		return
	}
	_ = st.nats.Process.Signal(sig)
	select {
	case <-st.natsDone:
	case <-time.After(30 * time.Second):
		_ = st.nats.Process.Kill()
		<-st.natsDone
	}
	st.nats = nil
}

// JetStream connects to NATS's own address (not a proxy); close releases the connection.
func (st *Stack) JetStream() (js jetstream.JetStream, closeJS func(), err error) {
	if js, err = connectJS(st.NATSURL(), "chaos"); err != nil {
		return nil, nil, err
	}
	return js, js.Conn().Close, nil
}

// NATSURL is NATS's own address, not the proxy's: the recorder watches the stream directly.
func (st *Stack) NATSURL() string { return "nats://127.0.0.1:" + strconv.Itoa(st.natsPort) }

// CrashPostgres stops Postgres with an immediate shutdown; StartPostgres starts it again on the same data
// and port.
func (st *Stack) CrashPostgres() { st.pg.Crash() }

// StartPostgres starts the cluster again on its data folder and port.
func (st *Stack) StartPostgres(ctx context.Context) (err error) {
	st.pg, err = pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(st.work, "pg"), Port: st.pgPort, Logger: st.log})
	return err
}

// Close stops the services, NATS, the proxies and Postgres.
func (st *Stack) Close() {
	if st.rec != nil {
		st.rec.Close()
	}
	for _, cc := range st.conns {
		_ = cc.Close()
	}
	for _, pr := range st.procs {
		select {
		case <-pr.Done():
			continue
		default:
		}
		if err := pr.Stop(30 * time.Second); err != nil {
			st.log.Warn("stop", "err", err.Error())
			pr.Kill()
		}
	}
	st.StopNATS(syscall.SIGTERM)
	for _, p := range st.pgProxies {
		p.Stop()
	}
	for _, p := range st.natsProxies {
		p.Stop()
	}
	if st.jwks != nil {
		_ = st.jwks.Close()
	}
	if st.pg != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = st.pg.Stop(ctx)
	}
}

// bearer returns ctx sending credential.
func bearer(ctx context.Context, credential string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+credential)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// freePort is a port for a service process to bind (procstack.FreePort: outside the ephemeral range).
func freePort() (int, error) { return procstack.FreePort() }

// PprofURL is where service name serves its runtime profiles (StartOptions.Pprof), empty when it does not.
func (st *Stack) PprofURL(name string) string {
	for _, kv := range st.ps.Extra[name] {
		if addr, ok := strings.CutPrefix(kv, "KEFU_PPROF_ADDR="); ok {
			return "http://" + addr + "/debug/pprof/"
		}
	}
	return ""
}
