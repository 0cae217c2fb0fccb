package intake_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kefu.dev/services/intake"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	valid := func() intake.Config {
		c := intake.DefaultConfig()
		c.DatabaseURL, c.NATSURL = "postgres://x@localhost/db", "nats://localhost:4222"
		return c
	}
	tests := []struct {
		name   string
		change func(c *intake.Config)
		want   string // names the flag and its variable; "" when valid
	}{
		{"the defaults with urls are valid", func(*intake.Config) {}, ""},
		{"no database url", func(c *intake.Config) { c.DatabaseURL = "" }, "DATABASE_URL"},
		{"no nats url", func(c *intake.Config) { c.NATSURL = "" }, "NATS_URL"},
		{"an unknown zone", func(c *intake.Config) { c.BusinessZone = "Mars/Olympus" }, "KEFU_BUSINESS_ZONE"},
		{"a negative skew", func(c *intake.Config) { c.MaxSkew = -time.Second }, "KEFU_MAX_SKEW"},
		{"no auto-close delay", func(c *intake.Config) { c.AutoCloseAfter = 0 }, "KEFU_AUTO_CLOSE_AFTER"},
		{"a dedupe window longer than the stream", func(c *intake.Config) { c.StreamDuplicates = 2 * c.StreamMaxAge }, "KEFU_STREAM_DUPLICATES"},
		{"a malformed default principal", func(c *intake.Config) { c.DefaultPrincipal = "root" }, "KEFU_DEFAULT_PRINCIPAL"},
		{"a pool too small for the relay", func(c *intake.Config) { c.DBMaxConns = 2 }, "KEFU_DB_MAX_CONNS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := valid()
			tc.change(&c)
			err := c.Validate()
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}
