package benchkit

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 20000: "20,000",
		1234567: "1,234,567", 10000000: "10,000,000", -1000: "-1,000", -999: "-999"} {
		require.Equal(t, want, Thousands(n), "%d", n)
	}
}

func TestField(t *testing.T) {
	text := "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu\n"
	v, ok := field(text, "model name")
	require.True(t, ok)
	require.Equal(t, "Intel(R) Xeon(R) Processor", v)
	_, ok = field(text, "model")
	require.False(t, ok, "a name is matched whole")
	v, ok = field("MemTotal:       24567124 kB\nMemFree: 1 kB\n", "MemTotal")
	require.True(t, ok)
	require.Equal(t, "24567124 kB", v)
}

func TestMachine(t *testing.T) {
	m := Machine()
	require.True(t, strings.HasSuffix(m, runtime.GOOS+"/"+runtime.GOARCH+", "+runtime.Version()), m)
	require.Contains(t, m, " cores (")
}
