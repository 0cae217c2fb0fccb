package devstack_test

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"kefu.dev/pkg/config"
	"kefu.dev/pkg/service"
	"kefu.dev/services/devstack/procstack"
)

// repoRoot is the workspace root, where docker-compose.yml and deploy/ live.
var repoRoot = filepath.Join("..", "..")

// kefuServices lists every binary; TestEveryCommandHasAnImageAndAComposeService keeps it complete.
var kefuServices = procstack.Services()

// grpcServices are the kefuServices with a database, NATS and a gRPC API: all but the gateway.
func grpcServices() []procstack.Service {
	return slices.DeleteFunc(slices.Clone(kefuServices), func(s procstack.Service) bool { return s.Name == "gateway" })
}

// flagDef matches a flag definition in a command's source: fs.StringVar(&cfg.X, "name", ...) or
// fs.String("name", ...).
var flagDef = regexp.MustCompile(`fs\.[A-Z][A-Za-z0-9]*\(\s*(?:&[\w.]+,\s*)?"([a-z0-9-]+)"`)

// envOf returns the variables a service's binary reads: one per flag its main defines (with auth.BindFlags'
// when it calls it, and service.Main's own flags), named as pkg/config names them.
func envOf(t *testing.T, root, name string) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "services", name, "cmd", name, "main.go"))
	require.NoError(t, err)
	var flags []string
	shared, err := filepath.Glob(filepath.Join(root, "pkg", "service", "*.go"))
	require.NoError(t, err)
	for _, f := range shared {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range flagDef.FindAllStringSubmatch(string(b), -1) {
			flags = append(flags, m[1])
		}
	}
	require.Contains(t, flags, "log-level", "service.Main's flags")
	if strings.Contains(string(src), "auth.BindFlags(") {
		authSrc, err := os.ReadFile(filepath.Join(root, "pkg", "auth", "config.go"))
		require.NoError(t, err)
		for _, m := range flagDef.FindAllStringSubmatch(string(authSrc), -1) {
			flags = append(flags, m[1])
		}
	}
	for _, m := range flagDef.FindAllStringSubmatch(string(src), -1) {
		flags = append(flags, m[1])
	}
	env := map[string]bool{}
	for _, f := range flags {
		if v, ok := service.EnvOverrides[f]; ok {
			env[v] = true
		} else {
			env[config.EnvName(f)] = true
		}
	}
	return env
}

// runtimeEnv are variables compose may give a binary besides its flags': the Go runtime's and
// OpenTelemetry's (read by pkg/telemetry and the SDK).
func runtimeEnv(k string) bool {
	return k == "GOMEMLIMIT" || k == "GOGC" || strings.HasPrefix(k, "OTEL_")
}

// composeSecrets are the variables compose refuses to start without (${X:?...}), with test values.
func composeSecrets() map[string]string {
	return map[string]string{
		"KEFU_API_KEY_PEPPER":  strings.Repeat("ab", 32),
		"KEFU_OIDC_ISSUER":     "https://id.example.com",
		"KEFU_OIDC_JWKS_URL":   "https://id.example.com/jwks.json",
		"KEFU_ENCRYPTION_KEYS": "k1:" + strings.Repeat("A", 43) + "=",
		"KEFU_BLIND_INDEX_KEY": strings.Repeat("B", 43) + "=",
	}
}

// composeServiceKeys maps each service key's variable to who issues it and who uses it.
var composeServiceKeys = procstack.ServiceKeys()

// loadCompose loads docker-compose.yml with env as the only environment.
func loadCompose(t *testing.T, env map[string]string, profiles ...string) (*types.Project, error) {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	return procstack.LoadCompose(t.Context(), root, env, profiles...)
}

// mustLoadCompose loads docker-compose.yml with the secrets and every service key set.
func mustLoadCompose(t *testing.T, profiles ...string) *types.Project {
	t.Helper()
	env := composeSecrets()
	for k := range composeServiceKeys {
		env[k] = "key-" + strings.ToLower(k)
	}
	p, err := loadCompose(t, env, profiles...)
	require.NoError(t, err)
	return p
}

var envMap = procstack.EnvMap

// TestComposeRefusesToStartWithoutItsSecrets loads docker-compose.yml without each required secret in
// turn: compose must refuse, naming it, rather than start a service with an empty key.
func TestComposeRefusesToStartWithoutItsSecrets(t *testing.T) {
	t.Parallel()
	_, err := loadCompose(t, composeSecrets())
	require.NoError(t, err, "the secrets alone are enough to load the file; the services' keys are optional")
	for k := range composeSecrets() {
		env := composeSecrets()
		delete(env, k)
		_, err := loadCompose(t, env)
		require.ErrorContains(t, err, k, "compose must refuse to start without %s", k)
		env[k] = ""
		_, err = loadCompose(t, env)
		require.ErrorContains(t, err, k, "an empty %s is as good as none", k)
	}
}

// TestComposeFileDescribesTheSuite loads docker-compose.yml with compose-go (there is no Docker engine on
// CI machines) and checks each kefu service against its binary: built from its own Dockerfile, run with
// no command override, listening where its port is published and its peers call it, given only variables
// the binary reads and every one it needs, wired to Postgres and NATS as its own roles, with a health
// check, restart policy, resource limits, a stop grace period longer than its own, and depends_on every
// service it calls, healthy.
func TestComposeFileDescribesTheSuite(t *testing.T) {
	t.Parallel()
	p := mustLoadCompose(t)
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)
	ports := map[string]int{}
	for _, ks := range kefuServices {
		ports[ks.Name] = ks.Port
	}

	for _, ks := range kefuServices {
		name := ks.Name
		s, err := p.GetService(name)
		require.NoError(t, err, "service %s missing from docker-compose.yml", name)
		env := envMap(s)

		require.Empty(t, s.Image, "%s is built, not pulled", name)
		require.NotNil(t, s.Build, "service %s has no build section", name)
		require.Equal(t, root, s.Build.Context, "%s is built from the workspace root", name)
		require.Equal(t, "deploy/Dockerfile."+name, s.Build.Dockerfile, name)
		require.FileExists(t, filepath.Join(root, s.Build.Dockerfile))
		require.Empty(t, s.Command, "%s runs its image's entrypoint: the binary, serving", name)
		require.Empty(t, s.Entrypoint, name)

		reads := envOf(t, root, name)
		listen := "KEFU_GRPC_ADDR"
		if name == "gateway" {
			listen = "KEFU_HTTP_ADDR"
		}
		require.Equal(t, fmt.Sprintf("0.0.0.0:%d", ks.Port), env[listen], "%s listens on its port on every interface", name)
		if reads["KEFU_METRICS_ADDR"] {
			require.Equal(t, "0.0.0.0:9464", env["KEFU_METRICS_ADDR"], "%s serves metrics where Prometheus scrapes them", name)
		}
		require.Len(t, s.Ports, 1, "%s publishes its API, not its metrics", name)
		require.EqualValues(t, ks.Port, s.Ports[0].Target, "%s publishes the port it listens on", name)
		require.Equal(t, strconv.Itoa(ks.Port), s.Ports[0].Published, name)

		for k := range env {
			require.True(t, reads[k] || runtimeEnv(k), "service %s: variable %s is not one its binary reads", name, k)
		}
		for _, k := range requiredEnv(name) {
			require.NotEmpty(t, env[k], "service %s needs %s", name, k)
		}

		require.NotNil(t, s.HealthCheck, "%s has no health check", name)
		require.False(t, s.HealthCheck.Disable, name)
		require.Equal(t, types.HealthCheckTest{"CMD", "/service", service.HealthcheckCommand}, s.HealthCheck.Test,
			"%s's health check is the binary's own (the image has no shell)", name)
		require.NotNil(t, s.HealthCheck.Timeout, name)
		require.NotNil(t, s.HealthCheck.Interval, name)
		require.Equal(t, "unless-stopped", s.Restart, name)
		requireLimits(t, s, env["GOMEMLIMIT"])

		// The stop grace period covers the binary's own: in-flight calls, then (gRPC services) the event
		// handlers in hand and the relay's last pass, each up to KEFU_SHUTDOWN_TIMEOUT, then telemetry
		// (KEFU_TELEMETRY_FLUSH_TIMEOUT, 5 s unless set).
		shutdown, err := time.ParseDuration(env["KEFU_SHUTDOWN_TIMEOUT"])
		require.NoError(t, err, "%s sets its graceful stop deadline", name)
		if name != "gateway" {
			shutdown *= 2
		}
		flush := 5 * time.Second
		if v, ok := env["KEFU_TELEMETRY_FLUSH_TIMEOUT"]; ok {
			flush, err = time.ParseDuration(v)
			require.NoError(t, err, name)
		}
		require.NotNil(t, s.StopGracePeriod, name)
		require.Greater(t, time.Duration(*s.StopGracePeriod), shutdown+flush,
			"%s: compose kills it before its own shutdown can end", name)

		// depends_on: what the service calls, healthy. intake calls routing only for staff members'
		// groups, and routing depends on intake, so that edge is left out (compose refuses cycles).
		wantDeps := map[string]bool{}
		if name != "gateway" {
			wantDeps["postgres"], wantDeps["nats"] = true, true
		}
		for k, v := range env {
			peer, _, ok := strings.Cut(v, ":")
			if !ok || !strings.HasSuffix(k, "_ADDR") || peer == "0.0.0.0" {
				continue // not an address, or one the service listens on
			}
			port, ok := ports[peer]
			require.True(t, ok, "%s: %s=%s names no kefu service", name, k, v)
			require.Equal(t, fmt.Sprintf("%s:%d", peer, port), v, "%s calls %s where it listens", name, peer)
			if !(name == "intake" && peer == "routing") {
				wantDeps[peer] = true
			}
		}
		require.ElementsMatch(t, slices.Collect(maps.Keys(wantDeps)), slices.Collect(maps.Keys(s.DependsOn)), "%s's depends_on", name)
		for dep, d := range s.DependsOn {
			require.Equal(t, types.ServiceConditionHealthy, d.Condition, "%s waits for %s to be healthy", name, dep)
			ds, err := p.GetService(dep)
			require.NoError(t, err)
			require.NotNil(t, ds.HealthCheck, "%s waits for %s's health, which has no check", name, dep)
		}
	}

	for _, ks := range grpcServices() {
		name := ks.Name
		s, err := p.GetService(name)
		require.NoError(t, err)
		env := envMap(s)
		require.Equal(t, "postgres://kefu_"+name+":kefu_"+name+"@postgres:5432/kefu?sslmode=disable", env["DATABASE_URL"],
			"%s must connect as its runtime role", name)
		require.Equal(t, "postgres://kefu_"+name+"_owner:kefu_"+name+"_owner@postgres:5432/kefu?sslmode=disable",
			env["KEFU_MIGRATE_DATABASE_URL"], "%s's migrations run as the owner role", name)
		require.Equal(t, "true", env["KEFU_MIGRATE"], "%s migrates its schema on start", name)
		require.Equal(t, "nats://nats:4222", env["NATS_URL"], name)
		require.Equal(t, "kefu", env["KEFU_OIDC_AUDIENCE"], name)
		for k, v := range composeSecrets() {
			if _, ok := env[k]; ok || strings.HasPrefix(k, "KEFU_API_KEY_") || strings.HasPrefix(k, "KEFU_OIDC_") {
				require.Equal(t, v, env[k], "%s: %s comes from the environment", name, k)
			}
		}
	}
	header, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	require.NoError(t, err)
	for k, key := range composeServiceKeys {
		var found []string
		for ek, v := range envMap(mustService(t, p, key.Caller)) {
			if v == "key-"+strings.ToLower(k) {
				found = append(found, ek)
			}
		}
		require.Equal(t, []string{"KEFU_" + strings.ToUpper(key.Issuer) + "_API_KEY"}, found,
			"%s is %s's key at %s: compose must pass it on", k, key.Caller, key.Issuer)
		require.Regexp(t, `(?m)^#.* `+key.Issuer+` +→ `+key.Caller+` +`+k+`\b`, string(header),
			"the compose file's header tells how to issue %s", k)
	}

	init, err := os.ReadFile(filepath.Join(root, "deploy", "postgres", "init.sql"))
	require.NoError(t, err)
	for _, ks := range grpcServices() {
		name := ks.Name
		for _, stmt := range []string{"CREATE ROLE kefu_" + name + "_owner ", "CREATE ROLE kefu_" + name + " ",
			"CREATE SCHEMA " + name + " AUTHORIZATION kefu_" + name + "_owner;"} {
			require.Contains(t, string(init), stmt, "deploy/postgres/init.sql must create %s's roles and schema", name)
		}
	}
}

// requiredEnv lists the variables a service cannot start (or serve its calls) without.
func requiredEnv(name string) []string {
	if name == "gateway" {
		return []string{"KEFU_HTTP_ADDR", "KEFU_INTAKE_ADDR", "KEFU_CUSTOMER_ADDR", "KEFU_ROUTING_ADDR", "KEFU_SLATIMER_ADDR",
			"KEFU_ANALYTICS_ADDR", "KEFU_NOTIFY_ADDR", "KEFU_KB_ADDR"}
	}
	req := []string{"KEFU_GRPC_ADDR", "DATABASE_URL", "KEFU_MIGRATE_DATABASE_URL", "NATS_URL",
		"KEFU_API_KEY_PEPPER", "KEFU_OIDC_ISSUER", "KEFU_OIDC_AUDIENCE", "KEFU_OIDC_JWKS_URL"}
	switch name {
	case "intake":
		req = append(req, "KEFU_CUSTOMER_ADDR", "KEFU_CUSTOMER_API_KEY", "KEFU_ROUTING_ADDR", "KEFU_ROUTING_API_KEY")
	case "customer":
		req = append(req, "KEFU_ENCRYPTION_KEYS", "KEFU_BLIND_INDEX_KEY")
	case "routing":
		req = append(req, "KEFU_INTAKE_ADDR", "KEFU_INTAKE_API_KEY")
	case "notify":
		req = append(req, "KEFU_INTAKE_ADDR", "KEFU_INTAKE_API_KEY", "KEFU_CUSTOMER_ADDR", "KEFU_CUSTOMER_API_KEY",
			"KEFU_SLATIMER_ADDR", "KEFU_SLATIMER_API_KEY", "KEFU_ROUTING_ADDR", "KEFU_ROUTING_API_KEY")
	case "kb":
		req = append(req, "KEFU_INTAKE_ADDR", "KEFU_INTAKE_API_KEY", "KEFU_ROUTING_ADDR", "KEFU_ROUTING_API_KEY")
	}
	return req
}

func mustService(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	require.NoError(t, err)
	return s
}

// requireLimits checks that s has CPU and memory limits and that GOMEMLIMIT, when set, leaves the Go
// runtime headroom under the memory limit.
func requireLimits(t *testing.T, s types.ServiceConfig, gomemlimit string) {
	t.Helper()
	require.NotNil(t, s.Deploy, "%s has no resource limits", s.Name)
	require.NotNil(t, s.Deploy.Resources.Limits, "%s has no resource limits", s.Name)
	lim := s.Deploy.Resources.Limits
	require.Positive(t, float64(lim.NanoCPUs), "%s has no CPU limit", s.Name)
	require.Positive(t, int64(lim.MemoryBytes), "%s has no memory limit", s.Name)
	if gomemlimit == "" {
		return
	}
	n, unit, ok := strings.Cut(gomemlimit, "MiB")
	require.True(t, ok && unit == "", "%s: GOMEMLIMIT %q: use MiB", s.Name, gomemlimit)
	mib, err := strconv.ParseInt(n, 10, 64)
	require.NoError(t, err)
	require.Less(t, mib<<20, int64(lim.MemoryBytes)*9/10, "%s: GOMEMLIMIT leaves too little under the memory limit", s.Name)
}

// TestComposeInfrastructure checks Postgres and NATS: health checks (the services wait for them), data
// on named volumes, the NATS configuration file (file storage in the data volume, fsync before every
// acknowledgement, the monitoring port the health check asks), and that every file compose mounts exists.
func TestComposeInfrastructure(t *testing.T) {
	t.Parallel()
	p := mustLoadCompose(t, "observability")
	root, err := filepath.Abs(repoRoot)
	require.NoError(t, err)

	pg := mustService(t, p, "postgres")
	nats := mustService(t, p, "nats")
	for _, s := range []types.ServiceConfig{pg, nats} {
		require.NotNil(t, s.HealthCheck, s.Name)
		require.Equal(t, "unless-stopped", s.Restart, s.Name)
		requireLimits(t, s, "")
	}
	require.Equal(t, "pgdata", volumeAt(t, pg, "/var/lib/postgresql/data"), "Postgres keeps its data on a named volume")
	natsData := volumeAt(t, nats, "/data")
	require.Equal(t, "natsdata", natsData, "NATS keeps its data on a named volume")
	require.Contains(t, p.Volumes, natsData)

	conf := ""
	for _, v := range nats.Volumes {
		if v.Target == "/etc/nats/nats.conf" {
			conf = v.Source
		}
	}
	require.NotEmpty(t, conf, "nats mounts its configuration")
	require.Equal(t, []string{"nats-server", "-c", "/etc/nats/nats.conf"}, []string(nats.Command))
	opts, err := server.ProcessConfigFile(conf)
	require.NoError(t, err, "deploy/nats/nats.conf must load")
	require.True(t, opts.JetStream, "JetStream is on")
	require.Equal(t, "/data", opts.StoreDir, "JetStream stores its files in the data volume")
	require.True(t, opts.SyncAlways, "JetStream fsyncs every write before acknowledging it (sync_interval: always)")
	require.Equal(t, 4222, opts.Port)
	require.Contains(t, strings.Join(nats.HealthCheck.Test, " "), fmt.Sprintf("127.0.0.1:%d/healthz", opts.HTTPPort),
		"the health check asks the monitoring port nats.conf opens")

	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type == types.VolumeTypeBind {
				_, err := os.Stat(v.Source)
				require.NoError(t, err, "%s mounts %s, which does not exist", s.Name, v.Source)
				require.True(t, strings.HasPrefix(v.Source, root+string(filepath.Separator)), "%s mounts a file outside the repository", s.Name)
			}
		}
	}
}

// volumeAt returns the named volume s mounts at target.
func volumeAt(t *testing.T, s types.ServiceConfig, target string) string {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Target == target {
			require.Equal(t, types.VolumeTypeVolume, v.Type, "%s: %s is not a named volume", s.Name, target)
			return v.Source
		}
	}
	t.Fatalf("%s mounts nothing at %s", s.Name, target)
	return ""
}

// TestComposeObservabilityProfile checks the optional profile: off by default; with it an OpenTelemetry
// collector that passes traces to Jaeger, and Prometheus scraping every kefu service, with Grafana reading
// both. The services send traces only when OTEL_EXPORTER_OTLP_ENDPOINT is given.
func TestComposeObservabilityProfile(t *testing.T) {
	t.Parallel()
	extra := []string{"otel-collector", "jaeger", "prometheus", "grafana"}
	def := mustLoadCompose(t)
	require.Subset(t, def.DisabledServiceNames(), extra, "the observability services are off by default")
	for _, ks := range kefuServices {
		require.Empty(t, envMap(mustService(t, def, ks.Name))["OTEL_EXPORTER_OTLP_ENDPOINT"], "%s sends no traces by default", ks.Name)
	}

	env := composeSecrets()
	env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://otel-collector:4318"
	p, err := loadCompose(t, env, "observability")
	require.NoError(t, err)
	require.Subset(t, p.ServiceNames(), extra)
	for _, ks := range kefuServices {
		require.Equal(t, "http://otel-collector:4318", envMap(mustService(t, p, ks.Name))["OTEL_EXPORTER_OTLP_ENDPOINT"], ks.Name)
	}
	for _, name := range extra {
		s := mustService(t, p, name)
		require.Equal(t, []string{"observability"}, s.Profiles, name)
		require.Equal(t, "unless-stopped", s.Restart, name)
		requireLimits(t, s, "")
		for _, port := range s.Ports {
			require.Equal(t, "127.0.0.1", port.HostIP, "%s's UI is published on loopback only", name)
		}
	}

	var collector struct {
		Receivers map[string]any `yaml:"receivers"`
		Exporters map[string]struct {
			Endpoint string `yaml:"endpoint"`
		} `yaml:"exporters"`
		Service struct {
			Pipelines map[string]struct {
				Receivers []string `yaml:"receivers"`
				Exporters []string `yaml:"exporters"`
			} `yaml:"pipelines"`
		} `yaml:"service"`
	}
	readYAML(t, filepath.Join(repoRoot, "deploy", "otel", "collector.yaml"), &collector)
	traces := collector.Service.Pipelines["traces"]
	require.Contains(t, traces.Receivers, "otlp")
	require.Len(t, traces.Exporters, 1)
	require.Equal(t, "jaeger:4317", collector.Exporters[traces.Exporters[0]].Endpoint, "traces go to Jaeger's OTLP port")

	var prom struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, filepath.Join(repoRoot, "deploy", "prometheus", "prometheus.yml"), &prom)
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}
	for _, ks := range kefuServices {
		require.Contains(t, targets, ks.Name+":9464", "Prometheus scrapes %s's metrics", ks.Name)
	}
	require.Contains(t, targets, "otel-collector:8889")

	var ds struct {
		Datasources []struct {
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(repoRoot, "deploy", "grafana", "provisioning", "datasources", "datasources.yaml"), &ds)
	var urls []string
	for _, d := range ds.Datasources {
		urls = append(urls, d.Type+" "+d.URL)
	}
	require.ElementsMatch(t, []string{"prometheus http://prometheus:9090", "jaeger http://jaeger:16686"}, urls)
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, v), path)
}

// TestEveryCommandHasAnImageAndAComposeService keeps kefuServices complete: every services/<x>/cmd/<x>
// is a service compose runs, and every compose service built here is one of them.
func TestEveryCommandHasAnImageAndAComposeService(t *testing.T) {
	t.Parallel()
	mains, err := filepath.Glob(filepath.Join(repoRoot, "services", "*", "cmd", "*", "main.go"))
	require.NoError(t, err)
	var cmds []string
	for _, m := range mains {
		dir := filepath.Dir(m)
		if filepath.Base(dir) == filepath.Base(filepath.Dir(filepath.Dir(dir))) {
			cmds = append(cmds, filepath.Base(dir))
		}
	}
	var names []string
	for _, ks := range kefuServices {
		names = append(names, ks.Name)
	}
	require.ElementsMatch(t, names, cmds, "services/<x>/cmd/<x> commands and the services compose runs")
	p := mustLoadCompose(t, "observability")
	require.ElementsMatch(t, names, p.ServicesWithBuild(), "compose builds exactly the kefu services")

	files, err := filepath.Glob(filepath.Join(repoRoot, "deploy", "Dockerfile*"))
	require.NoError(t, err)
	var want []string
	for _, n := range names {
		want = append(want, filepath.Join(repoRoot, "deploy", "Dockerfile."+n))
	}
	require.ElementsMatch(t, want, files, "one Dockerfile per service, and no other")
}

var updateDockerfiles = flag.Bool("update-dockerfiles", false, "rewrite deploy/Dockerfile.<service> from dockerfileTemplate")

// dockerfileTemplate renders every service's deploy/Dockerfile.<service>: multi-stage, a static binary
// built from the workspace, distroless as nonroot, the binary's own health check.
var dockerfileTemplate = template.Must(template.New("Dockerfile").Parse(`# syntax=docker/dockerfile:1
# The {{.Name}} image, built from the workspace root: docker build -f deploy/Dockerfile.{{.Name}} -t kefu/{{.Name}} .
# Every deploy/Dockerfile.<service> is generated from one template and checked by a test: edit
# dockerfileTemplate in services/devstack/compose_test.go, then
#   go test kefu.dev/services/devstack -run TestDockerfiles -update-dockerfiles
FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV GOFLAGS=-buildvcs=false CGO_ENABLED=0
# The workspace's modules only: nothing else in the context (.git, .kefu data) reaches the image.
COPY go.work go.work.sum ./
COPY pkg ./pkg
COPY services ./services
# deploy/ is a workspace module too (the manifests' tests): the build needs its go.mod, not its files.
COPY deploy/go.mod deploy/go.sum ./deploy/
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/service ./services/{{.Name}}/cmd/{{.Name}}

# Static binary on distroless: CA certificates and time zone data (also embedded in the binary), no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/service /service
USER nonroot:nonroot
# The API, and Prometheus metrics (KEFU_METRICS_ADDR).
EXPOSE {{.Port}} 9464
# The binary asks its own server (grpc.health.v1, or the gateway's /healthz), configured by the same
# environment: no shell or curl needed.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["/service", "healthcheck"]
ENTRYPOINT ["/service"]
`))

// TestDockerfiles checks every service's Dockerfile is the template's rendering for it, and that the
// template builds the service's command statically and runs it as nonroot with the health check.
func TestDockerfiles(t *testing.T) {
	t.Parallel()
	for _, ks := range kefuServices {
		var b bytes.Buffer
		require.NoError(t, dockerfileTemplate.Execute(&b, ks))
		path := filepath.Join(repoRoot, "deploy", "Dockerfile."+ks.Name)
		if *updateDockerfiles {
			require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err, "%s has no Dockerfile", ks.Name)
		require.Equal(t, b.String(), string(got), "%s is not the template's rendering: run with -update-dockerfiles", path)

		df := string(got)
		stages := regexp.MustCompile(`(?m)^FROM (\S+)`).FindAllStringSubmatch(df, -1)
		require.Len(t, stages, 2, "%s: a build stage and a runtime stage", path)
		require.Equal(t, "golang:1.26-bookworm", stages[0][1])
		require.Equal(t, "gcr.io/distroless/static-debian12:nonroot", stages[1][1])
		require.Contains(t, df, "CGO_ENABLED=0", "a static binary")
		require.Regexp(t, `go build -trimpath .*-o /out/service \./services/`+ks.Name+`/cmd/`+ks.Name+`\n`, df)
		require.FileExists(t, filepath.Join(repoRoot, "services", ks.Name, "cmd", ks.Name, "main.go"))
		require.Regexp(t, `(?m)^USER nonroot`, df)
		require.Regexp(t, `(?m)^HEALTHCHECK .*CMD \["/service", "`+service.HealthcheckCommand+`"\]$`, df)
		require.Regexp(t, `(?m)^EXPOSE `+strconv.Itoa(ks.Port)+` 9464$`, df)
		require.Regexp(t, `(?m)^ENTRYPOINT \["/service"\]$`, df)
	}
	// The build stage copies every module go.work uses, or at least its go.mod: a workspace build needs them all.
	copied := buildContext(t)
	work, err := os.ReadFile(filepath.Join(repoRoot, "go.work"))
	require.NoError(t, err)
	for _, m := range regexp.MustCompile(`(?m)^\s+\./(\S+)$`).FindAllStringSubmatch(string(work), -1) {
		ok := slices.Contains(copied, m[1]+"/go.mod")
		for dir := m[1]; dir != "." && !ok; dir = filepath.Dir(dir) {
			ok = slices.Contains(copied, dir)
		}
		require.True(t, ok, "go.work uses %s, which the Dockerfiles do not copy", m[1])
	}
}

// buildContext returns what the Dockerfiles' build stage copies from the context.
func buildContext(t *testing.T) []string {
	t.Helper()
	srcs, err := procstack.BuildContext(repoRoot)
	require.NoError(t, err)
	return srcs
}
