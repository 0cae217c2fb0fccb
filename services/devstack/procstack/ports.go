package procstack

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// FreePort returns a loopback port that was free at the time of the call, for a service process to bind a
// moment later. It picks below the kernel's ephemeral range (net.ipv4.ip_local_port_range): a port from
// that range, as a bind to port 0 gives, can be taken between this check and the service's bind as the
// source port of any outgoing connection on the machine (tests running beside this one make thousands),
// and the service then fails with "address already in use". A port below the range is only ever taken by
// a deliberate bind. A port is not handed out twice by one process.
func FreePort() (int, error) {
	lo, hi := portWindow()
	for range 200 {
		p := lo + rand.IntN(hi-lo)
		if !reserve(p) {
			continue
		}
		lis, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		_ = lis.Close()
		return p, nil
	}
	return 0, errors.New("no free loopback port below the ephemeral range")
}

var (
	handedMu sync.Mutex
	handed   = map[int]bool{}
)

// reserve records p as handed out, reporting false when it already was.
func reserve(p int) bool {
	handedMu.Lock()
	defer handedMu.Unlock()
	if handed[p] {
		return false
	}
	handed[p] = true
	return true
}

// portWindow is the ports FreePort picks from: the 10,000 below the ephemeral range's start (32768 when it
// cannot be read), never below 1024.
func portWindow() (lo, hi int) {
	hi = 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		var a, z int
		if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &a, &z); err == nil && a > 2048 {
			hi = a
		}
	}
	return max(hi-10000, 1024), hi
}
