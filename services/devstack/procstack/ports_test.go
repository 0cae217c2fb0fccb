package procstack

import (
	"net"
	"strconv"
	"testing"
)

// TestFreePortPicksBelowTheEphemeralRange: ports come from below the range the kernel gives outgoing
// connections, are bindable, and are never handed out twice.
func TestFreePortPicksBelowTheEphemeralRange(t *testing.T) {
	lo, hi := portWindow()
	seen := map[int]bool{}
	for range 50 {
		p, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if p < lo || p >= hi {
			t.Fatalf("port %d outside [%d, %d)", p, lo, hi)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		lis, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Fatalf("port %d is not bindable: %v", p, err)
		}
		_ = lis.Close()
	}
}
