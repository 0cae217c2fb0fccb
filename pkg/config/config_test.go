package config_test

import (
	"flag"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/config"
)

func TestParsePrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		addr    string
		db      string
		wait    time.Duration
		wantErr string
	}{
		{name: "defaults stand when nothing is given", addr: "127.0.0.1:7001", wait: time.Second},
		{name: "a KEFU_ variable beats the default", env: map[string]string{"KEFU_GRPC_ADDR": ":9000"}, addr: ":9000", wait: time.Second},
		{name: "a flag beats its variable", args: []string{"--grpc-addr", ":9100"}, env: map[string]string{"KEFU_GRPC_ADDR": ":9000"}, addr: ":9100", wait: time.Second},
		{name: "standard names bind through overrides", env: map[string]string{"DATABASE_URL": "postgres://x", "KEFU_DATABASE_URL": "ignored"}, addr: "127.0.0.1:7001", db: "postgres://x", wait: time.Second},
		{name: "a bad variable names itself", env: map[string]string{"KEFU_MAX_WAIT": "soon"}, wantErr: "KEFU_MAX_WAIT"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			addr := fs.String("grpc-addr", "127.0.0.1:7001", "")
			db := fs.String("database-url", "", "")
			wait := fs.Duration("max-wait", time.Second, "")
			err := config.Parse(fs, tc.args, func(k string) string { return tc.env[k] }, map[string]string{"database-url": "DATABASE_URL"})
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.addr, *addr)
			require.Equal(t, tc.db, *db)
			require.Equal(t, tc.wait, *wait)
		})
	}
}

func TestRedactHidesPasswords(t *testing.T) {
	t.Parallel()
	require.Equal(t, "postgres://kefu:xxxxx@db:5432/kefu", config.Redact("postgres://kefu:s3cret@db:5432/kefu"))
	require.Equal(t, "nats://nats:4222", config.Redact("nats://nats:4222"))
}
