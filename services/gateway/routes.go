package gateway

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Paths the gateway serves itself, beside the generated /v1 routes.
const (
	pathOpenAPI = "/openapi.json"
	pathHealthz = "/healthz"
	pathReadyz  = "/readyz"
)

// readyTimeout bounds the readiness check's call to intake: a probe must answer well inside a typical
// orchestrator probe timeout even when intake hangs.
const readyTimeout = 2 * time.Second

// registerPlainRoutes adds the OpenAPI document and the health endpoints to the mux, so they share its
// 404/405 handling and error shape.
func registerPlainRoutes(mux *runtime.ServeMux, health healthpb.HealthClient) error {
	routes := []struct {
		path string
		h    http.HandlerFunc
	}{
		{pathOpenAPI, serveOpenAPI},
		{pathHealthz, serveHealthz},
		{pathReadyz, func(w http.ResponseWriter, r *http.Request) { serveReadyz(w, r, health) }},
	}
	for _, rt := range routes {
		err := mux.HandlePath(http.MethodGet, rt.path, func(w http.ResponseWriter, r *http.Request, _ map[string]string) {
			setRoute(r.Context(), rt.path, "")
			rt.h(w, r)
		})
		if err != nil {
			return fmt.Errorf("register %s: %w", rt.path, err)
		}
	}
	return nil
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapiDoc)
}

// serveHealthz answers liveness: the gateway process serves HTTP. It does not look at backends, so a
// backend outage never gets the gateway restarted.
func serveHealthz(w http.ResponseWriter, _ *http.Request) {
	writeServing(w)
}

// serveReadyz answers readiness: intake's grpc.health.v1 reports the server (empty service name) SERVING.
func serveReadyz(w http.ResponseWriter, r *http.Request, health healthpb.HealthClient) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
	cause := ""
	switch {
	case err != nil:
		cause = "intake health check: " + err.Error()
	case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
		cause = "intake health status " + resp.GetStatus().String()
	}
	if cause != "" {
		noteCause(r.Context(), cause, newRef())
		writeStatus(r.Context(), w, http.StatusServiceUnavailable, status.New(codes.Unavailable, "intake service is not ready"))
		return
	}
	writeServing(w)
}

func writeServing(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(`{"status":"SERVING"}`))
}
