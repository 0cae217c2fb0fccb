package devstack_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/graph"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"

	"kefu.dev/services/devstack"
	"kefu.dev/services/devstack/procstack"
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
	dataDir := t.TempDir()
	st := &procstack.Stack{Bin: buildServiceBinaries(t), LogDir: t.TempDir(), API: map[string]int{}, Metrics: map[string]int{}}
	require.NoError(t, st.PostgresAt(newComposeDatabase(t)))
	st.NATSURL = startComposeNATS(t)
	secrets := composeSecrets()
	secrets["KEFU_OIDC_ISSUER"] = devstack.DevIssuer
	secrets["KEFU_OIDC_JWKS_URL"] = serveJWKS(t, dataDir)
	secrets["KEFU_API_KEY_PEPPER"] = randomHex(t, 32)
	secrets["KEFU_ENCRYPTION_KEYS"] = "k1:" + randomBase64(t, 32)
	secrets["KEFU_BLIND_INDEX_KEY"] = randomBase64(t, 32)
	for _, ks := range kefuServices {
		st.API[ks.Name], st.Metrics[ks.Name] = freePort(t), freePort(t)
	}

	// First start, step 2: without its keys intake refuses to start, naming one; each key comes from its
	// issuer's binary, run as `docker compose run --rm --no-deps <issuer> issue-service-key --id <caller>`.
	var err error
	st.Project, err = loadCompose(t, secrets)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd, err := st.Command(ctx, "intake", st.API["intake"], st.Metrics["intake"])
	require.NoError(t, err)
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "intake started without its keys")
	require.Contains(t, string(out), "api-key", "intake names the key it misses:\n%s", out)
	keys, err := st.IssueServiceKeys(ctx)
	require.NoError(t, err)
	env := maps.Clone(secrets)
	maps.Copy(env, keys)

	// Step 3: docker compose up, in depends_on order, each service once those it waits on are healthy.
	st.Project, err = loadCompose(t, env)
	require.NoError(t, err)
	var mu sync.Mutex
	var procs []*procstack.Proc
	start := func(name string, api, metrics int) *procstack.Proc {
		pr, err := st.Start(name, api, metrics)
		require.NoError(t, err)
		t.Cleanup(pr.Kill)
		mu.Lock()
		procs = append(procs, pr)
		mu.Unlock()
		return pr
	}
	err = graph.InDependencyOrder(t.Context(), st.Project, func(ctx context.Context, name string, s types.ServiceConfig) error {
		if _, ok := st.API[name]; !ok {
			return nil // postgres and nats: already up
		}
		replicas := []*procstack.Proc{start(name, st.API[name], st.Metrics[name])}
		if name == "analytics" {
			// A second replica starting at the same moment: both migrate the fresh schema on start.
			replicas = append(replicas, start(name, freePort(t), freePort(t)))
		}
		for _, r := range replicas {
			if err := st.WaitHealthy(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(t, err)

	for _, ks := range kefuServices {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", st.Metrics[ks.Name]))
		require.NoError(t, err, "%s serves no metrics at KEFU_METRICS_ADDR", ks.Name)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s's metrics", ks.Name)
	}

	base := fmt.Sprintf("http://127.0.0.1:%d", st.API["gateway"])
	kefuDev := filepath.Join(st.Bin, "kefu-dev") + " --data-dir " + dataDir
	walk := exec.CommandContext(t.Context(), "bash", "-euo", "pipefail", "-c", readmeScript(t, base, kefuDev))
	walk.Dir = t.TempDir()
	out, err = walk.CombinedOutput()
	require.NoError(t, err, "README walkthrough failed against the compose stack:\n%s%s", out, tails(procs))
	for _, want := range []string{`"TICKET_STATUS_ARCHIVED"`, "UNAUTHENTICATED\nPERMISSION_DENIED\n", `"revoked":true`,
		`{"method":"SubmitTicket","principal":"adapter:web-chat","result":"OK"}`, "CUSTOMER_STATE_ERASED",
		`[{"mine":true,"state":"ROUTED_TICKET_STATE_ASSIGNED"}]`, `{"target":"SLA_TARGET_FIRST_RESPONSE","state":"SLA_STATE_MET"}`,
		"ARTICLE_STATUS_PUBLISHED\n", `{"tickets":"1","slaTickets":"1","satisfied":"1"}`} {
		require.Contains(t, string(out), want, "the walkthrough's output:\n%s", out)
	}

	// docker compose stop: SIGTERM, dependents first; each must exit 0 within its stop_grace_period.
	byName := map[string][]*procstack.Proc{}
	for _, pr := range procs {
		byName[pr.Name] = append(byName[pr.Name], pr)
	}
	err = graph.InDependencyOrder(t.Context(), st.Project, func(ctx context.Context, name string, s types.ServiceConfig) error {
		for _, pr := range byName[name] {
			if err := pr.Stop(time.Duration(*s.StopGracePeriod)); err != nil {
				return fmt.Errorf("%w%s", err, pr.Tail(4000))
			}
		}
		return nil
	}, graph.InReverseOrder)
	require.NoError(t, err)
}

// tails returns the end of each process's output, for failure messages.
func tails(procs []*procstack.Proc) string {
	var b strings.Builder
	for _, pr := range procs {
		b.WriteString(pr.Tail(4000))
	}
	return b.String()
}

// buildServiceBinaries builds every service's command as its Dockerfile does, and kefu-dev (for the
// README's tokens) from the same folder.
func buildServiceBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, procstack.Build(t.Context(), repoRoot, t.TempDir(), dir, "./services/devstack/cmd/kefu-dev"))
	return dir
}

// newComposeDatabase creates an empty database on the test cluster, set up by deploy/postgres/init.sql
// (the roles may already exist: other tests create the same ones, with the same passwords), dropped at
// cleanup. It returns the database's admin URL.
func newComposeDatabase(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("DATABASE_URL")
	require.NotEmpty(t, admin, "DATABASE_URL is not set: run tests through `make test`, which starts a private cluster")
	db := "kefu_compose_" + randomHex(t, 6)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err == nil {
			_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
			_ = c.Close(ctx)
		}
		if err != nil {
			t.Logf("drop %s: %v", db, err)
		}
	})
	url, err := procstack.InitDatabase(t.Context(), repoRoot, admin, db)
	require.NoError(t, err)
	return url
}

// startComposeNATS runs deploy/nats/nats.conf on loopback with its store in a temp folder and returns its URL.
func startComposeNATS(t *testing.T) string {
	t.Helper()
	opts, err := server.ProcessConfigFile(filepath.Join(repoRoot, "deploy", "nats", "nats.conf"))
	require.NoError(t, err)
	opts.Host, opts.Port, opts.HTTPHost, opts.HTTPPort = "127.0.0.1", -1, "127.0.0.1", -1
	opts.StoreDir, opts.NoSigs = t.TempDir(), true
	ns, err := server.NewServer(opts)
	require.NoError(t, err)
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	require.True(t, ns.ReadyForConnections(10*time.Second), "nats did not start")
	resp, err := http.Get(fmt.Sprintf("http://%s/healthz?js-enabled-only=true", ns.MonitorAddr()))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the compose health check of nats")
	return ns.ClientURL()
}

// serveJWKS publishes the dev issuer's keys in dataDir (kefu-dev mints the README's tokens with it) and
// returns the URL.
func serveJWKS(t *testing.T, dataDir string) string {
	iss, err := devstack.LoadIssuer(dataDir)
	require.NoError(t, err)
	doc, err := iss.JWKS()
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/.well-known/jwks.json"
}

// freePort returns a loopback port free at the time of the call, outside the ephemeral range
// (procstack.FreePort), so that no outgoing connection takes it before the service binds it.
func freePort(t *testing.T) int {
	t.Helper()
	p, err := procstack.FreePort()
	require.NoError(t, err)
	return p
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
