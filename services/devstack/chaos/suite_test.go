package chaos_test

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kefu.dev/services/devstack/chaos"
)

// TestShortSuite is the CI version of `make chaos`: every scenario, with shorter faults and phases, on the
// real processes. Every scenario must end with every ticket acknowledged, nothing lost, duplicated or out
// of order; the table is printed either way.
func TestShortSuite(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := chaos.Start(t.Context(), root, t.TempDir(), log, chaos.StartOptions{})
	require.NoError(t, err)
	defer st.Close()
	results, err := chaos.Run(t.Context(), st, chaos.Options{Short: true,
		Load: chaos.Load{Submitters: 24, Interval: 400 * time.Millisecond, CallTimeout: 5 * time.Second}},
		func(s string) { t.Log(s) })
	t.Logf("short chaos suite:\n%s", chaos.Table(results))
	require.NoError(t, err)
	require.Len(t, results, len(chaos.Scenarios())-1, "every scenario but the long NATS outage ran")
	require.Empty(t, chaos.Failed(results))
}
