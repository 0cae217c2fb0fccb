package platform_test

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/events"
	"kefu.dev/pkg/platform"
	"kefu.dev/pkg/testkit"
)

// TestDeadLettersCommand: list shows the parked events without their bodies, replay marks the named ones
// (or all of a consumer's) for the running consumer, and bad arguments are refused before anything runs.
func TestDeadLettersCommand(t *testing.T) {
	t.Parallel()
	db := testkit.NewDB(t, "dlcmd", events.Migrations())
	ctx := t.Context()
	for i, c := range []string{"routing-tickets", "routing-tickets", "routing-other"} {
		_, err := db.Pool.Exec(ctx, `INSERT INTO dead_letters (consumer, event_id, stream_seq, subject, headers, data, num_delivered, error)
			VALUES ($1, gen_random_uuid()::text, $2, 'kefu.ticket.created', '{}', '\x0a07736563726574', 10, 'decode: bad wire type')`, c, i+1)
		require.NoError(t, err)
	}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := platform.DeadLettersCommand(ctx, args, platform.Options{DatabaseURL: db.RuntimeURL, Schema: "dlcmd"}, &out)
		return out.String(), err
	}

	out, err := run("list", "--consumer", "routing-tickets")
	require.NoError(t, err)
	require.Contains(t, out, "decode: bad wire type")
	require.Contains(t, out, "parked")
	require.Equal(t, 3, bytes.Count([]byte(out), []byte("\n")), "a header and the consumer's two: %s", out)
	require.NotContains(t, out, "secret", "the body is not shown")

	var first int64
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT min(id) FROM dead_letters`).Scan(&first))
	out, err = run("replay", "--consumer", "routing-tickets", "--id", strconv.FormatInt(first, 10))
	require.NoError(t, err)
	require.Contains(t, out, "marked for replay")
	out, err = run("replay", "--consumer", "routing-other", "--all")
	require.NoError(t, err)
	require.Contains(t, out, "1 dead letters of routing-other marked")
	var requested int
	require.NoError(t, db.Pool.QueryRow(ctx, `SELECT count(*) FROM dead_letters WHERE replay_requested_at IS NOT NULL`).Scan(&requested))
	require.Equal(t, 2, requested, "the first of routing-tickets and the one of routing-other")
	out, err = run("list")
	require.NoError(t, err)
	require.Equal(t, 2, bytes.Count([]byte(out), []byte("replay requested")), out)

	for _, bad := range [][]string{
		{},
		{"resend"},
		{"replay", "--all"},
		{"replay", "--consumer", "routing-tickets"},
		{"replay", "--consumer", "routing-tickets", "--all", "--id", "3"},
		{"replay", "--consumer", "routing-tickets", "--id", "x"},
		{"list", "extra"},
	} {
		_, err := run(bad...)
		require.Error(t, err, "%v", bad)
	}
}
