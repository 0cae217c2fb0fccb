package service

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPprofServesProfilesOnlyWhenAsked: with an address the runtime profiles answer there, and stop
// closes the listener; without one nothing listens.
func TestPprofServesProfilesOnlyWhenAsked(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())

	stop, err := servePprof(addr)
	require.NoError(t, err)
	res, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	require.NoError(t, err)
	body, err := io.ReadAll(res.Body)
	require.NoError(t, res.Body.Close())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.True(t, strings.HasPrefix(string(body), "goroutine profile:"), "a goroutine profile: %.80s", body)
	stop()
	_, err = net.Dial("tcp", addr)
	require.Error(t, err, "nothing listens after stop")

	stop, err = servePprof("")
	require.NoError(t, err)
	stop()
}
