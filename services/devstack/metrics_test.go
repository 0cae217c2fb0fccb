package devstack_test

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/telemetry"
	"kefu.dev/pkg/testkit"
)

// TestMetricsCoverTheSuite: with a Prometheus endpoint installed, the suite reports requests by method and
// code with latency histograms, the outbox (published, backlog, oldest age), each durable consumer's lag,
// dead letters, the Postgres pools, the SLA timers, routing's queues and notify's webhooks. It installs
// the process's global meter provider, so it does not run in parallel with the other tests of this package.
func TestMetricsCoverTheSuite(t *testing.T) {
	m, err := telemetry.SetupMetrics("kefu-dev")
	require.NoError(t, err)
	srv := httptest.NewServer(m.Handler)
	t.Cleanup(srv.Close)
	a, cfg := startStackIn(t, t.TempDir())
	key := adapterKey(t, a, cfg)
	resp, err := post(t, a.REST+"/v1/tickets", key, fmt.Sprintf(`{"idempotencyKey": "m-1", "channel": "CHANNEL_APP",
		"receivedTime": %q, "description": "耳机没有声音"}`, time.Now().UTC().Format(time.RFC3339)))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_ = resp.Body.Close()

	scrape := func() string {
		r, err := http.Get(srv.URL)
		require.NoError(t, err)
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		return string(b)
	}
	want := []string{
		`rpc_server_call_duration_seconds_bucket\{[^}]*rpc_method="kefu.intake.v1.IntakeService/SubmitTicket"[^}]*rpc_response_status_code="OK"`,
		`kefu_outbox_published_total`, `kefu_outbox_backlog\{[^}]*service="intake"`, `kefu_outbox_oldest_age_seconds\{[^}]*service="customer"`,
		`kefu_consumer_pending\{consumer="routing-tickets"`, `kefu_consumer_ack_pending\{consumer="notify-messages"`,
		`kefu_events_dead_letters\{[^}]*service="analytics"`, `pgxpool_acquired_connections\{[^}]*service="intake"`,
		`kefu_sla_timers_pending`, `kefu_webhook_pending`, `kefu_messages_created_total\{kind="acknowledgement"`, `go_goroutines`,
	}
	var body string
	defer func() {
		if t.Failed() {
			for _, w := range want {
				if !regexp.MustCompile(w).MatchString(body) {
					t.Logf("missing %s", w)
				}
			}
			for _, l := range strings.Split(body, "\n") {
				if strings.HasPrefix(l, "db_client_conn") || strings.HasPrefix(l, "pgxpool") {
					t.Log(l)
				}
			}
		}
	}()
	testkit.Eventually(t, func() bool {
		body = scrape()
		for _, w := range want {
			if !regexp.MustCompile(w).MatchString(body) {
				return false
			}
		}
		return true
	}, 20*time.Second, "every metric family appears")
	for _, w := range want {
		require.Regexp(t, w, body)
	}
	requireDashboardsUseRealMetrics(t, body)
}

// requireDashboardsUseRealMetrics checks that every metric the alert rules and the Grafana dashboard name
// exists: in the scrape, or, for one that appears only once something happened (a timer fired late, a
// webhook attempt), as an instrument some kefu code creates.
func requireDashboardsUseRealMetrics(t *testing.T, scraped string) {
	t.Helper()
	declared := map[string]bool{}
	instrument := regexp.MustCompile(`"(kefu\.[a-z0-9_.]+)"`)
	for _, dir := range []string{"../../pkg", "../../services"} {
		require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range instrument.FindAllStringSubmatch(string(b), -1) {
				declared[strings.ReplaceAll(m[1], ".", "_")] = true
			}
			return nil
		}))
	}
	name := regexp.MustCompile(`\b(?:kefu|rpc|pgxpool)_[a-z0-9_]+`)
	for _, f := range []string{"../../deploy/prometheus/rules/kefu.rules.yml", "../../deploy/grafana/dashboards/kefu-overview.json"} {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		names := name.FindAllString(string(b), -1)
		require.NotEmpty(t, names, f)
		for _, n := range names {
			if n == "rpc_method" || n == "rpc_response_status_code" {
				continue // labels, not metrics
			}
			if strings.Contains(scraped, "\n"+n+"{") || strings.Contains(scraped, "\n"+n+" ") {
				continue
			}
			base := n
			for _, suffix := range []string{"_bucket", "_count", "_sum", "_total", "_seconds"} {
				base = strings.TrimSuffix(base, suffix)
			}
			require.True(t, declared[base], "%s names %s, which no kefu code exports", f, n)
		}
	}
}
