package canned

import (
	"testing"

	"kefu.dev/pkg/testkit"
)

// TestDomainImportsNoInfrastructure keeps the domain plain Go (STYLE.md §1): no database driver, transport,
// broker or generated protos may creep into the package's non-test files.
func TestDomainImportsNoInfrastructure(t *testing.T) {
	t.Parallel()
	testkit.RequireDomainImports(t)
}
