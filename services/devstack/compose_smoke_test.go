package devstack_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/graph"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/service"
	"kefu.dev/services/devstack"
)

// TestComposeStackRunsTheReadme starts what docker-compose.yml describes without a container engine:
// every service's binary (built as its Dockerfile builds it) as its own process with exactly the
// environment compose gives it, host names mapped to loopback ports. Postgres is a fresh database on the
// test cluster set up by deploy/postgres/init.sql; NATS runs deploy/nats/nats.conf in the test. It follows
// the compose file's first-start steps (each service key printed by `<issuer> issue-service-key`), starts
// the services in depends_on order, each once the binary's own health check (the compose healthcheck)
// passes for what it waits on, with two analytics replicas migrating at once, runs the README walkthrough
// through the gateway, and stops everything with SIGTERM, which each must survive cleanly within its
// stop_grace_period.
func TestComposeStackRunsTheReadme(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required by the README walkthrough (.ci/run installs it): %v", tool, err)
		}
	}
	st := &smokeStack{t: t, bin: buildServiceBinaries(t), dataDir: t.TempDir(), api: map[string]int{}, metrics: map[string]int{}}
	st.startPostgres()
	st.startNATS()
	st.secrets = composeSecrets()
	st.secrets["KEFU_OIDC_ISSUER"] = devstack.DevIssuer
	st.secrets["KEFU_OIDC_JWKS_URL"] = st.serveJWKS()
	st.secrets["KEFU_API_KEY_PEPPER"] = randomHex(t, 32)
	st.secrets["KEFU_ENCRYPTION_KEYS"] = "k1:" + randomBase64(t, 32)
	st.secrets["KEFU_BLIND_INDEX_KEY"] = randomBase64(t, 32)
	for _, ks := range kefuServices {
		st.api[ks.Name], st.metrics[ks.Name] = freePort(t), freePort(t)
	}

	// First start, step 2: without its keys intake refuses to start, naming one; each key comes from its
	// issuer's binary, run as `docker compose run --rm --no-deps <issuer> issue-service-key --id <caller>`.
	p, err := loadCompose(t, st.secrets)
	require.NoError(t, err)
	out, err := st.command(p, "intake", st.api["intake"], st.metrics["intake"]).CombinedOutput()
	require.Error(t, err, "intake started without its keys")
	require.Contains(t, string(out), "api-key", "intake names the key it misses:\n%s", out)
	env := maps.Clone(st.secrets)
	for k, key := range composeServiceKeys {
		cmd := st.command(p, key.issuer, 0, 0, "issue-service-key", "--id", key.caller)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "%s issue-service-key --id %s: %s", key.issuer, key.caller, stderr.String())
		env[k] = strings.TrimSpace(string(out))
		require.NotEmpty(t, env[k])
	}

	// Step 3: docker compose up, in depends_on order, each service once those it waits on are healthy.
	p, err = loadCompose(t, env)
	require.NoError(t, err)
	var mu sync.Mutex
	var procs []*smokeProc
	err = graph.InDependencyOrder(t.Context(), p, func(ctx context.Context, name string, s types.ServiceConfig) error {
		if _, ok := st.api[name]; !ok {
			return nil // postgres and nats: already up
		}
		replicas := []*smokeProc{st.start(p, name, st.api[name], st.metrics[name])}
		if name == "analytics" {
			// A second replica starting at the same moment: both migrate the fresh schema on start.
			replicas = append(replicas, st.start(p, name, freePort(t), freePort(t)))
		}
		mu.Lock()
		procs = append(procs, replicas...)
		mu.Unlock()
		for _, r := range replicas {
			if err := st.waitHealthy(ctx, s, r); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)

	for _, ks := range kefuServices {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", st.metrics[ks.Name]))
		require.NoError(t, err, "%s serves no metrics at KEFU_METRICS_ADDR", ks.Name)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s's metrics", ks.Name)
	}

	base := fmt.Sprintf("http://127.0.0.1:%d", st.api["gateway"])
	kefuDev := filepath.Join(st.bin, "kefu-dev") + " --data-dir " + st.dataDir
	cmd := exec.CommandContext(t.Context(), "bash", "-euo", "pipefail", "-c", readmeScript(t, base, kefuDev))
	cmd.Dir = t.TempDir()
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "README walkthrough failed against the compose stack:\n%s%s", out, st.logs(procs))
	for _, want := range []string{`"TICKET_STATUS_ARCHIVED"`, "UNAUTHENTICATED\nPERMISSION_DENIED\n", `"revoked":true`,
		`{"method":"SubmitTicket","principal":"adapter:web-chat","result":"OK"}`, "CUSTOMER_STATE_ERASED",
		`[{"mine":true,"state":"ROUTED_TICKET_STATE_ASSIGNED"}]`, `{"target":"SLA_TARGET_FIRST_RESPONSE","state":"SLA_STATE_MET"}`,
		"ARTICLE_STATUS_PUBLISHED\n", `{"tickets":"1","slaTickets":"1","satisfied":"1"}`} {
		require.Contains(t, string(out), want, "the walkthrough's output:\n%s", out)
	}

	// docker compose stop: SIGTERM, dependents first; each must exit 0 within its stop_grace_period.
	byName := map[string][]*smokeProc{}
	for _, pr := range procs {
		byName[pr.name] = append(byName[pr.name], pr)
	}
	err = graph.InDependencyOrder(t.Context(), p, func(ctx context.Context, name string, s types.ServiceConfig) error {
		for _, pr := range byName[name] {
			if err := pr.stop(time.Duration(*s.StopGracePeriod)); err != nil {
				return fmt.Errorf("%w\n%s", err, st.logs([]*smokeProc{pr}))
			}
		}
		return nil
	}, graph.InReverseOrder)
	require.NoError(t, err)
}

// smokeStack is the compose stack run as local processes.
type smokeStack struct {
	t       *testing.T
	bin     string // the built binaries
	dataDir string // kefu-dev's data folder: the dev issuer's key the services trust
	// pgHost and pgDB replace postgres:5432 and kefu in the compose URLs; natsURL replaces nats://nats:4222.
	pgHost, pgDB, natsURL string
	secrets               map[string]string
	// api and metrics are each service's loopback ports for its compose port and for 9464.
	api, metrics map[string]int
}

// buildServiceBinaries builds every service's command as its Dockerfile does: static, -trimpath, from a
// folder holding only what the Dockerfile's build stage copies from the context. kefu-dev, for the
// README's tokens, comes from the same folder.
func buildServiceBinaries(t *testing.T) string {
	t.Helper()
	src, dir := t.TempDir(), t.TempDir()
	for _, rel := range buildContext(t) {
		from, to := filepath.Join(repoRoot, rel), filepath.Join(src, rel)
		fi, err := os.Stat(from)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(to), 0o755))
		if fi.IsDir() {
			require.NoError(t, os.CopyFS(to, os.DirFS(from)))
			continue
		}
		b, err := os.ReadFile(from)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(to, b, 0o644))
	}
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}
	for _, ks := range kefuServices {
		args = append(args, "./services/"+ks.Name+"/cmd/"+ks.Name)
	}
	args = append(args, "./services/devstack/cmd/kefu-dev")
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOWORK=")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build in the Dockerfiles' build context: %s", out)
	return dir
}

// startPostgres creates an empty database on the test cluster and runs deploy/postgres/init.sql in it as
// the compose entrypoint does, except that the roles may already exist (they are cluster-wide and other
// tests create the same ones, with the same passwords).
func (st *smokeStack) startPostgres() {
	t := st.t
	admin := os.Getenv("DATABASE_URL")
	require.NotEmpty(t, admin, "DATABASE_URL is not set: run tests through `make test`, which starts a private cluster")
	u, err := neturl.Parse(admin)
	require.NoError(t, err)
	st.pgHost, st.pgDB = u.Host, "kefu_compose_"+randomHex(t, 6)
	conn, err := pgx.Connect(t.Context(), admin)
	require.NoError(t, err)
	defer conn.Close(context.WithoutCancel(t.Context()))
	_, err = conn.Exec(t.Context(), "CREATE DATABASE "+st.pgDB)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err == nil {
			_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+st.pgDB+" WITH (FORCE)")
			_ = c.Close(ctx)
		}
		if err != nil {
			t.Logf("drop %s: %v", st.pgDB, err)
		}
	})

	dbURL, err := pgxutil.WithDatabase(admin, st.pgDB)
	require.NoError(t, err)
	db, err := pgx.Connect(t.Context(), dbURL)
	require.NoError(t, err)
	defer db.Close(context.WithoutCancel(t.Context()))
	sql, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "postgres", "init.sql"))
	require.NoError(t, err)
	var lines []string
	for l := range strings.SplitSeq(string(sql), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	for stmt := range strings.SplitSeq(strings.Join(lines, "\n"), ";") {
		stmt = strings.TrimSpace(strings.ReplaceAll(stmt, " ON DATABASE kefu ", " ON DATABASE "+st.pgDB+" "))
		if stmt == "" {
			continue
		}
		_, err := db.Exec(t.Context(), stmt)
		var pgErr *pgconn.PgError
		if strings.HasPrefix(stmt, "CREATE ROLE ") && errors.As(err, &pgErr) && pgErr.Code == "42710" {
			continue // duplicate_object: the role exists
		}
		require.NoError(t, err, "init.sql: %s", stmt)
	}
}

// startNATS runs deploy/nats/nats.conf on loopback with its store in a temp folder.
func (st *smokeStack) startNATS() {
	t := st.t
	opts, err := server.ProcessConfigFile(filepath.Join(repoRoot, "deploy", "nats", "nats.conf"))
	require.NoError(t, err)
	opts.Host, opts.Port, opts.HTTPHost, opts.HTTPPort = "127.0.0.1", -1, "127.0.0.1", -1
	opts.StoreDir, opts.NoSigs = t.TempDir(), true
	ns, err := server.NewServer(opts)
	require.NoError(t, err)
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	require.True(t, ns.ReadyForConnections(10*time.Second), "nats did not start")
	st.natsURL = ns.ClientURL()
	resp, err := http.Get(fmt.Sprintf("http://%s/healthz?js-enabled-only=true", ns.MonitorAddr()))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the compose health check of nats")
}

// serveJWKS publishes the dev issuer's keys (kefu-dev mints the README's tokens with it) and returns the URL.
func (st *smokeStack) serveJWKS() string {
	iss, err := devstack.LoadIssuer(st.dataDir)
	require.NoError(st.t, err)
	doc, err := iss.JWKS()
	require.NoError(st.t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	st.t.Cleanup(srv.Close)
	return srv.URL + "/.well-known/jwks.json"
}

// environ is the compose environment of service name, with the compose network's names mapped to this
// host: postgres and nats to the test's, each kefu service's host:port to its loopback port, and the
// service's own listen addresses to apiPort and metricsPort. Nothing else is added.
func (st *smokeStack) environ(p *types.Project, name string, apiPort, metricsPort int) []string {
	t := st.t
	s := mustService(t, p, name)
	pairs := []string{"@postgres:5432/kefu?", "@" + st.pgHost + "/" + st.pgDB + "?", "nats://nats:4222", st.natsURL,
		"0.0.0.0:9464", "127.0.0.1:" + strconv.Itoa(metricsPort)}
	for _, ks := range kefuServices {
		port := st.api[ks.Name]
		if ks.Name == name {
			pairs = append(pairs, fmt.Sprintf("0.0.0.0:%d", ks.Port), "127.0.0.1:"+strconv.Itoa(apiPort))
		}
		pairs = append(pairs, fmt.Sprintf("%s:%d", ks.Name, ks.Port), "127.0.0.1:"+strconv.Itoa(port))
	}
	r := strings.NewReplacer(pairs...)
	var env []string
	for k, v := range envMap(s) {
		v = r.Replace(v)
		for _, host := range []string{"0.0.0.0", "@postgres:", "nats://nats"} {
			require.NotContains(t, v, host, "%s: %s still names a compose host", name, k)
		}
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env
}

// command is the binary of service name with its compose environment and args, killed after a minute.
func (st *smokeStack) command(p *types.Project, name string, apiPort, metricsPort int, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(st.t.Context(), time.Minute)
	st.t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, filepath.Join(st.bin, name), args...)
	cmd.Env = st.environ(p, name, apiPort, metricsPort)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// smokeProc is one running service process.
type smokeProc struct {
	name, log string
	cmd       *exec.Cmd
	env       []string
	done      chan struct{}
	err       error
}

// start runs service name (its entrypoint, no command, as compose does) until stopped or the test ends.
func (st *smokeStack) start(p *types.Project, name string, apiPort, metricsPort int) *smokeProc {
	t := st.t
	f, err := os.CreateTemp(t.TempDir(), name+"-*.log")
	require.NoError(t, err)
	cmd := exec.Command(filepath.Join(st.bin, name))
	cmd.Env = st.environ(p, name, apiPort, metricsPort)
	cmd.Stdout, cmd.Stderr = f, f
	pr := &smokeProc{name: name, log: f.Name(), cmd: cmd, env: cmd.Env, done: make(chan struct{})}
	require.NoError(t, cmd.Start())
	go func() {
		pr.err = cmd.Wait()
		_ = f.Close()
		close(pr.done)
	}()
	t.Cleanup(func() {
		select {
		case <-pr.done:
		default:
			_ = cmd.Process.Kill()
			<-pr.done
		}
	})
	return pr
}

// waitHealthy runs the compose health check of s (the binary's own `healthcheck`, with the same
// environment) until it passes, for at most its start period plus its retries.
func (st *smokeStack) waitHealthy(ctx context.Context, s types.ServiceConfig, pr *smokeProc) error {
	hc := s.HealthCheck
	if !slices.Equal(hc.Test, types.HealthCheckTest{"CMD", "/service", service.HealthcheckCommand}) {
		return fmt.Errorf("%s: health check %q is not the binary's own", s.Name, hc.Test)
	}
	limit := time.Duration(*hc.StartPeriod) + time.Duration(*hc.Interval)*time.Duration(*hc.Retries)
	deadline := time.Now().Add(limit)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Duration(*hc.Timeout))
		cmd := exec.CommandContext(cctx, filepath.Join(st.bin, s.Name), hc.Test[2:]...)
		cmd.Env = pr.env
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-pr.done:
			return fmt.Errorf("%s exited before it was healthy: %v\n%s", s.Name, pr.err, st.logs([]*smokeProc{pr}))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after %s: %s\n%s", s.Name, limit, out, st.logs([]*smokeProc{pr}))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM and waits up to grace for a clean exit, as `docker compose stop` does before it
// kills.
func (pr *smokeProc) stop(grace time.Duration) error {
	start := time.Now()
	if err := pr.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("%s: SIGTERM: %w", pr.name, err)
	}
	select {
	case <-pr.done:
		if pr.err != nil {
			return fmt.Errorf("%s exited uncleanly on SIGTERM after %s: %w", pr.name, time.Since(start).Round(time.Millisecond), pr.err)
		}
		return nil
	case <-time.After(grace):
		return fmt.Errorf("%s still running %s after SIGTERM: compose would kill it", pr.name, grace)
	}
}

// logs returns the tail of each process's output, for failure messages.
func (st *smokeStack) logs(procs []*smokeProc) string {
	var b strings.Builder
	for _, pr := range procs {
		out, _ := os.ReadFile(pr.log)
		if len(out) > 4000 {
			out = out[len(out)-4000:]
		}
		fmt.Fprintf(&b, "\n--- %s (%s):\n%s", pr.name, pr.log, out)
	}
	return b.String()
}

// freePort returns a loopback port free at the time of the call.
func freePort(t *testing.T) int {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer lis.Close()
	return lis.Addr().(*net.TCPAddr).Port
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

func randomBase64(t *testing.T, n int) string {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}
