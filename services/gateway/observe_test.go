package gateway_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/gateway"
)

// serveOnce runs one request through the handler in the test's goroutine, so the log line is written
// when it returns, and decodes that line.
func serveOnce(t *testing.T, intakeAddr string, req *http.Request) (*httptest.ResponseRecorder, map[string]any, string) {
	t.Helper()
	var buf bytes.Buffer
	logger := logging.New(&buf, slog.LevelDebug, "gateway")
	h, closeConns, err := gateway.NewHandler(t.Context(), gateway.Config{IntakeAddr: intakeAddr}, logger)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, closeConns()) })

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 1, buf.String())
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &entry))
	return rec, entry, lines[0]
}

func TestRequestLogNamesTheRouteNotThePath(t *testing.T) {
	t.Parallel()
	be := startBackend(t, &fakeIntake{})
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/v1/tickets/"+ticketID+"?customerId=13800138000", nil)

	rec, entry, line := serveOnce(t, be.addr, req)

	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, "INFO", entry["level"])
	require.Equal(t, "http request", entry["msg"])
	require.Equal(t, "gateway", entry[logging.KeyService])
	require.Equal(t, "GET", entry[logging.KeyMethod])
	require.Equal(t, "/v1/tickets/{ticket_id}", entry["route"])
	require.Equal(t, "/kefu.intake.v1.IntakeService/GetTicket", entry["rpc"])
	require.EqualValues(t, http.StatusOK, entry["status"])
	require.Contains(t, entry, logging.KeyDuration)
	require.NotContains(t, line, ticketID, "ids in paths stay out of the log")
	require.NotContains(t, line, "13800138000", "query values can hold personal data")
}

func TestRequestLogOfAnOutageCarriesTheHiddenCause(t *testing.T) {
	t.Parallel()
	addr := testkit.RefusedAddr(t)
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/v1/tickets", strings.NewReader(`{"description": "my phone 13800138000"}`))

	rec, entry, line := serveOnce(t, addr, req)

	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "ERROR", entry["level"])
	require.Equal(t, "/v1/tickets", entry["route"])
	require.Equal(t, "UNAVAILABLE", entry[logging.KeyCode])
	require.Contains(t, entry[logging.KeyError], addr, "the log keeps what the client is not told")
	ref, ok := entry[logging.KeyRef].(string)
	require.True(t, ok)
	require.Contains(t, rec.Body.String(), "(ref "+ref+")")
	require.NotContains(t, line, "13800138000", "bodies are never logged")
}

func TestUnknownRoutesAreLoggedWithoutARoute(t *testing.T) {
	t.Parallel()
	be := startBackend(t, &fakeIntake{})
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/v1/customers/13800138000", nil)

	rec, entry, line := serveOnce(t, be.addr, req)

	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Equal(t, "INFO", entry["level"])
	require.NotContains(t, entry, "route")
	require.Equal(t, "NOT_FOUND", entry[logging.KeyCode])
	require.NotContains(t, line, "13800138000")
}
