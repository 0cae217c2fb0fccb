package devstack_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"kefu.dev/pkg/config"
	"kefu.dev/pkg/service"
)

// flagDef matches a flag definition in a command's source: fs.StringVar(&cfg.X, "name", ...) or
// fs.String("name", ...).
var flagDef = regexp.MustCompile(`fs\.[A-Z][A-Za-z0-9]*\(\s*(?:&[\w.]+,\s*)?"([a-z0-9-]+)"`)

// envOf returns the variables a service's binary reads: one per flag its main defines (with auth.BindFlags'
// when it calls it, and service.Main's --log-level), named as pkg/config names them.
func envOf(t *testing.T, root, name string) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(root, "services", name, "cmd", name, "main.go"))
	require.NoError(t, err)
	flags := []string{"log-level"}
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

// TestComposeFileDescribesTheSuite parses docker-compose.yml (there is no Docker engine on CI machines) and
// checks that every service is built from a command that exists, is given only variables its binary
// reads, is wired to Postgres and NATS as its own roles, and that intake, routing and the gateway point at
// the services they call.
func TestComposeFileDescribesTheSuite(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	b, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	require.NoError(t, err)
	var doc struct {
		Services map[string]struct {
			Image string `yaml:"image"`
			Build *struct {
				Context    string            `yaml:"context"`
				Dockerfile string            `yaml:"dockerfile"`
				Args       map[string]string `yaml:"args"`
			} `yaml:"build"`
			Environment map[string]string `yaml:"environment"`
			Volumes     []string          `yaml:"volumes"`
		} `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(b, &doc))

	for _, name := range []string{"intake", "customer", "routing", "slatimer", "analytics", "notify", "kb", "gateway"} {
		s, ok := doc.Services[name]
		require.True(t, ok, "service %s missing from docker-compose.yml", name)
		require.NotNil(t, s.Build, "service %s has no build section", name)
		require.Equal(t, name, s.Build.Args["SERVICE"], "service %s builds another command", name)
		require.FileExists(t, filepath.Join(root, s.Build.Context, s.Build.Dockerfile))
		require.FileExists(t, filepath.Join(root, "services", name, "cmd", name, "main.go"))
		reads := envOf(t, root, name)
		for k := range s.Environment {
			require.True(t, reads[k] || strings.HasPrefix(k, "OTEL_"), "service %s: variable %s is not one its binary reads", name, k)
		}
	}
	for _, name := range []string{"intake", "customer", "routing", "slatimer", "analytics", "notify", "kb"} {
		env := doc.Services[name].Environment
		require.Contains(t, env["DATABASE_URL"], "kefu_"+name+":", "%s must connect as its runtime role", name)
		require.Contains(t, env["KEFU_MIGRATE_DATABASE_URL"], "kefu_"+name+"_owner:", "%s's migrations run as the owner role", name)
		require.Equal(t, "nats://nats:4222", env["NATS_URL"], name)
		for _, k := range []string{"KEFU_API_KEY_PEPPER", "KEFU_OIDC_ISSUER", "KEFU_OIDC_AUDIENCE", "KEFU_OIDC_JWKS_URL"} {
			require.NotEmpty(t, env[k], "%s cannot authenticate callers without %s", name, k)
		}
	}
	in, cu := doc.Services["intake"].Environment, doc.Services["customer"].Environment
	require.Equal(t, "customer:7002", in["KEFU_CUSTOMER_ADDR"], "intake resolves customers at the customer service")
	require.NotEmpty(t, in["KEFU_CUSTOMER_API_KEY"], "intake cannot call the customer service without its API key")
	require.Equal(t, "0.0.0.0:7002", cu["KEFU_GRPC_ADDR"], "the customer service listens where intake calls it")
	for _, k := range []string{"KEFU_ENCRYPTION_KEYS", "KEFU_BLIND_INDEX_KEY"} {
		require.True(t, strings.HasPrefix(cu[k], "${"+k+":?"), "the customer service's %s is a secret compose must be given, not a value in the file", k)
	}
	ro := doc.Services["routing"].Environment
	require.Equal(t, "intake:7001", ro["KEFU_INTAKE_ADDR"], "routing assigns tickets at intake")
	require.NotEmpty(t, ro["KEFU_INTAKE_API_KEY"], "routing cannot call intake without its API key")
	require.Equal(t, "0.0.0.0:7001", in["KEFU_GRPC_ADDR"], "intake listens where routing and the gateway call it")
	require.Equal(t, "routing:7003", in["KEFU_ROUTING_ADDR"], "intake takes staff members' groups from routing")
	require.NotEmpty(t, in["KEFU_ROUTING_API_KEY"], "intake cannot call routing without its API key")
	require.Equal(t, "0.0.0.0:7003", ro["KEFU_GRPC_ADDR"], "routing listens where the gateway calls it")
	require.Equal(t, "0.0.0.0:7004", doc.Services["slatimer"].Environment["KEFU_GRPC_ADDR"], "the SLA timer listens where the gateway calls it")
	gw := doc.Services["gateway"].Environment
	require.Equal(t, "intake:7001", gw["KEFU_INTAKE_ADDR"])
	require.Equal(t, "customer:7002", gw["KEFU_CUSTOMER_ADDR"], "the gateway serves /v1/customers from the customer service")
	require.Equal(t, "routing:7003", gw["KEFU_ROUTING_ADDR"], "the gateway serves /v1/groups from the routing service")
	require.Equal(t, "slatimer:7004", gw["KEFU_SLATIMER_ADDR"], "the gateway serves /v1/slaPolicies from the SLA timer service")
	require.Equal(t, "notify:7006", gw["KEFU_NOTIFY_ADDR"], "the gateway serves /v1/webhooks from the notify service")
	require.Equal(t, "kb:7007", gw["KEFU_KB_ADDR"], "the gateway serves /v1/articles from the knowledge base")
	require.Equal(t, "0.0.0.0:7007", doc.Services["kb"].Environment["KEFU_GRPC_ADDR"], "the knowledge base listens where the gateway calls it")
	no := doc.Services["notify"].Environment
	require.Equal(t, "0.0.0.0:7006", no["KEFU_GRPC_ADDR"], "notify listens where the gateway calls it")
	for k, want := range map[string]string{"KEFU_INTAKE_ADDR": "intake:7001", "KEFU_CUSTOMER_ADDR": "customer:7002",
		"KEFU_SLATIMER_ADDR": "slatimer:7004"} {
		require.Equal(t, want, no[k], "notify reads tickets, contacts and calendars at its peers")
	}
	for _, k := range []string{"KEFU_INTAKE_API_KEY", "KEFU_CUSTOMER_API_KEY", "KEFU_SLATIMER_API_KEY"} {
		require.NotEmpty(t, no[k], "notify cannot call its peers without %s", k)
	}
	init, err := os.ReadFile(filepath.Join(root, "deploy", "postgres", "init.sql"))
	require.NoError(t, err)
	for _, name := range []string{"intake", "customer", "routing", "slatimer", "analytics", "notify", "kb"} {
		for _, stmt := range []string{"CREATE ROLE kefu_" + name + "_owner ", "CREATE ROLE kefu_" + name + " ",
			"CREATE SCHEMA " + name + " AUTHORIZATION kefu_" + name + "_owner;"} {
			require.Contains(t, string(init), stmt, "deploy/postgres/init.sql must create %s's roles and schema", name)
		}
	}
	for _, v := range doc.Services["postgres"].Volumes {
		if host, _, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(host, "./") {
			require.FileExists(t, filepath.Join(root, host))
		}
	}
}
