package analytics_test

import (
	"os"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/services/analytics"
)

// TestTuneGC: the binary's GC target applies unless GOGC chooses another. Not parallel: it sets the
// process's GC percent and environment, and puts both back.
func TestTuneGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	t.Setenv("GOGC", "150")
	analytics.TuneGC()
	require.Equal(t, 100, debug.SetGCPercent(100), "GOGC set: left as it is")
	require.NoError(t, os.Unsetenv("GOGC"))
	analytics.TuneGC()
	require.Equal(t, analytics.GCPercent, debug.SetGCPercent(100))
}
