package devstack_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestComposeFileDescribesTheSuite parses docker-compose.yml (there is no Docker engine on CI machines) and
// checks that every service is built from a command that exists, is wired to Postgres and NATS the way its
// binary reads them, and that the gateway points at intake.
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

	for _, name := range []string{"intake", "customer", "routing", "slatimer", "analytics", "gateway"} {
		s, ok := doc.Services[name]
		require.True(t, ok, "service %s missing from docker-compose.yml", name)
		require.NotNil(t, s.Build, "service %s has no build section", name)
		require.Equal(t, name, s.Build.Args["SERVICE"], "service %s builds another command", name)
		require.FileExists(t, filepath.Join(root, s.Build.Context, s.Build.Dockerfile))
		require.FileExists(t, filepath.Join(root, "services", name, "cmd", name, "main.go"))
		for k := range s.Environment {
			require.True(t, strings.HasPrefix(k, "KEFU_") || k == "DATABASE_URL" || k == "NATS_URL" || strings.HasPrefix(k, "OTEL_"),
				"service %s: variable %s is not one the binaries read", name, k)
		}
	}
	in := doc.Services["intake"].Environment
	require.Contains(t, in["DATABASE_URL"], "kefu_intake:", "intake must connect as its runtime role")
	require.Contains(t, in["KEFU_MIGRATE_DATABASE_URL"], "kefu_intake_owner:", "migrations run as the owner role")
	require.Equal(t, "nats://nats:4222", in["NATS_URL"])
	for _, k := range []string{"KEFU_API_KEY_PEPPER", "KEFU_OIDC_ISSUER", "KEFU_OIDC_AUDIENCE", "KEFU_OIDC_JWKS_URL"} {
		require.NotEmpty(t, in[k], "intake cannot authenticate callers without %s", k)
	}
	require.Equal(t, "intake:7001", doc.Services["gateway"].Environment["KEFU_INTAKE_ADDR"])
	for _, v := range doc.Services["postgres"].Volumes {
		if host, _, ok := strings.Cut(v, ":"); ok && strings.HasPrefix(host, "./") {
			require.FileExists(t, filepath.Join(root, host))
		}
	}
}
