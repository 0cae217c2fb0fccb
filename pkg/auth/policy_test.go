package auth_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "kefu.dev/pkg/api/kefu/analytics/v1" // registers the analytics service
	_ "kefu.dev/pkg/api/kefu/auth/v1"      // registers the key and audit services
	_ "kefu.dev/pkg/api/kefu/customer/v1"  // registers the customer service
	_ "kefu.dev/pkg/api/kefu/intake/v1"    // registers the intake service
	_ "kefu.dev/pkg/api/kefu/kb/v1"        // registers the knowledge-base service
	_ "kefu.dev/pkg/api/kefu/notify/v1"    // registers the notify service
	_ "kefu.dev/pkg/api/kefu/routing/v1"   // registers the routing service
	_ "kefu.dev/pkg/api/kefu/sla/v1"       // registers the SLA service
	"kefu.dev/pkg/auth"
)

var (
	protoPackage = regexp.MustCompile(`(?m)^package\s+([\w.]+)\s*;`)
	protoService = regexp.MustCompile(`(?m)^service\s+(\w+)\s*\{`)
	protoRPC     = regexp.MustCompile(`(?m)^\s*rpc\s+(\w+)\s*\(`)
)

// protoMethods lists the full method name of every RPC declared under proto/kefu, so a service added in
// any module is covered without this test importing its generated code.
func protoMethods(t *testing.T) []string {
	t.Helper()
	root := filepath.Join("..", "..", "proto", "kefu")
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".proto") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		src := string(b)
		services := protoService.FindAllStringSubmatchIndex(src, -1)
		if len(services) == 0 {
			return nil
		}
		pkg := protoPackage.FindStringSubmatch(src)
		require.NotNil(t, pkg, "%s declares a service but no package", path)
		for i, s := range services {
			end := len(src)
			if i+1 < len(services) {
				end = services[i+1][0]
			}
			name := src[s[2]:s[3]]
			for _, m := range protoRPC.FindAllStringSubmatch(src[s[1]:end], -1) {
				out = append(out, "/"+pkg[1]+"."+name+"/"+m[1])
			}
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, out, "no RPCs found under %s", root)
	return out
}

// TestEveryRPCHasARule is the gate for new RPCs: a method declared in proto/ without an entry in the
// policy table fails here, and so does an entry for a method that no longer exists.
func TestEveryRPCHasARule(t *testing.T) {
	declared := protoMethods(t)
	for _, m := range declared {
		_, ok := auth.RuleFor(m)
		require.True(t, ok, "RPC %s has no entry in the policy table (pkg/auth/policy.go): decide its permission and scope", m)
	}
	require.ElementsMatch(t, declared, auth.Methods(), "the policy table names methods that are not declared in proto/")
}

// TestEveryRuleIsReachable checks that each method's permission is granted to some role: a permission no
// role holds would make its method unusable by anyone.
func TestEveryRuleIsReachable(t *testing.T) {
	for _, m := range auth.Methods() {
		r, _ := auth.RuleFor(m)
		require.True(t, auth.Allows(auth.Roles(), r.Permission), "no role grants %s, which %s needs", r.Permission, m)
	}
}

func TestRoleGrants(t *testing.T) {
	tests := []struct {
		role string
		perm auth.Permission
		want bool
	}{
		{auth.RoleAdapter, auth.PermTicketsSubmit, true},
		{auth.RoleAdapter, auth.PermTicketsCustomerMsg, true},
		{auth.RoleAdapter, auth.PermTicketsList, false},
		{auth.RoleAdapter, auth.PermTicketsWork, false},
		{auth.RoleAdapter, auth.PermTaxonomyAdmin, false},
		{auth.RoleAgent, auth.PermTicketsWork, true},
		{auth.RoleAgent, auth.PermTicketsSubmit, false},
		{auth.RoleAgent, auth.PermTicketsAssign, false},
		{auth.RoleAgent, auth.PermTicketsArchive, false},
		{auth.RoleSupervisor, auth.PermTicketsAssign, true},
		{auth.RoleSupervisor, auth.PermTicketsArchive, true},
		{auth.RoleSupervisor, auth.PermTaxonomyAdmin, false},
		{auth.RoleAdmin, auth.PermTaxonomyAdmin, true},
		{auth.RoleAuditor, auth.PermTicketsGet, true},
		{auth.RoleAuditor, auth.PermTicketsWork, false},
		{auth.RoleAuditor, auth.PermTicketsClassify, false},
		{"root", auth.PermTicketsGet, false},
		{"", auth.PermTicketsGet, false},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, auth.Allows([]string{tc.role}, tc.perm), "%s → %s", tc.role, tc.perm)
	}
	require.True(t, auth.Allows([]string{"root", auth.RoleAgent}, auth.PermTicketsWork), "any one role suffices")
	require.False(t, auth.Allows(nil, auth.PermTicketsGet), "no roles, no permissions")
}

func TestUnknownMethodsHaveNoRule(t *testing.T) {
	for _, m := range []string{"", "/kefu.intake.v1.IntakeService/DropTables", "/grpc.health.v1.Health/Check", "kefu.intake.v1.IntakeService/GetTicket"} {
		_, ok := auth.RuleFor(m)
		require.False(t, ok, m)
	}
}

// TestEveryRegisteredServiceHasARule walks the service descriptors compiled into the binary (every
// generated kefu package registers its files) and checks each method against the table, the same check
// every server makes before it starts (grpcx.Server.CheckPolicy).
func TestEveryRegisteredServiceHasARule(t *testing.T) {
	var n int
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		if !strings.HasPrefix(string(fd.Package()), "kefu.") {
			return true
		}
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				full := "/" + string(sd.FullName()) + "/" + string(sd.Methods().Get(j).Name())
				_, ok := auth.RuleFor(full)
				require.True(t, ok, "registered method %s has no entry in the policy table", full)
				n++
			}
		}
		return true
	})
	require.Equal(t, len(auth.Methods()), n, "every entry's method is registered")
}
