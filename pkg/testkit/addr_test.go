package testkit_test

import (
	"errors"
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/testkit"
)

// TestRefusedAddrRefusesAndKeepsItsPort: a connection to the address is refused, and nobody can listen on
// its port while the test runs.
func TestRefusedAddrRefusesAndKeepsItsPort(t *testing.T) {
	addr := testkit.RefusedAddr(t)
	_, err := net.Dial("tcp", addr)
	require.True(t, errors.Is(err, syscall.ECONNREFUSED), "dial: %v", err)
	lis, err := net.Listen("tcp", addr)
	if err == nil {
		_ = lis.Close()
	}
	require.Error(t, err, "the port is held")
}
