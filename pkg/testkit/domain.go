package testkit

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// RequireDomainImports keeps a domain package plain Go (STYLE.md §1): it fails when a non-test file of
// the package in the test's working directory imports a database driver, transport, broker or generated
// protos (kefu.dev/pkg/api/...; kefu.dev/pkg/apierr and the standard library are fine). Call it from a test
// in each service's internal/domain package.
func RequireDomainImports(t *testing.T) {
	t.Helper()
	forbidden := []string{"pgx", "grpc", "nats", "protobuf"}
	const generated = "kefu.dev/pkg/api"
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range parsed.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err)
			require.False(t, path == generated || strings.HasPrefix(path, generated+"/"),
				"%s imports generated code %s", f, path)
			for _, bad := range forbidden {
				require.NotContains(t, path, bad, "%s imports %s; the domain must stay free of infrastructure", f, path)
			}
		}
		checked++
	}
	require.Positive(t, checked, "no non-test files found: the test would prove nothing")
}
