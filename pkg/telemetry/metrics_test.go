package telemetry_test

import (
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"

	"kefu.dev/pkg/telemetry"
)

// TestMetricsServeWhatTheGlobalMeterRecords: an instrument made through the global meter provider after
// SetupMetrics shows at /metrics in the Prometheus text format, beside the Go runtime's collectors.
func TestMetricsServeWhatTheGlobalMeterRecords(t *testing.T) {
	m, err := telemetry.SetupMetrics("kefu-test")
	require.NoError(t, err)
	c, err := otel.GetMeterProvider().Meter("test").Int64Counter("kefu.test.things")
	require.NoError(t, err)
	c.Add(t.Context(), 3)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = m.Serve(t.Context(), lis) }()
	resp, err := http.Get("http://" + lis.Addr().String() + "/metrics")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Contains(t, string(body), "kefu_test_things_total")
	require.Contains(t, string(body), " 3\n")
	require.Contains(t, string(body), "go_goroutines")
	require.Contains(t, string(body), `service_name="kefu-test"`)
}
