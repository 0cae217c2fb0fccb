package testkit

import (
	"net"
	"strconv"
	"syscall"
	"testing"
)

// RefusedAddr returns a loopback address ("127.0.0.1:port") that refuses every connection for the rest of
// the test: a socket is bound to the port but never listens, so a connection gets a reset at once and no
// other listener (another test's server, an outgoing connection's source port) can take the port. Picking
// a port by listening on :0 and closing it leaves it free for the next bind, and a parallel test's server
// answered a test that wanted nothing there.
func RefusedAddr(t testing.TB) string {
	t.Helper()
	// SOCK_CLOEXEC is Linux's; CloseOnExec keeps this building wherever pgcluster does (macOS too).
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("testkit: socket: %v", err)
	}
	syscall.CloseOnExec(fd)
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("testkit: bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("testkit: getsockname: %v", err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		t.Fatalf("testkit: bound to %T", sa)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(in4.Port))
}
