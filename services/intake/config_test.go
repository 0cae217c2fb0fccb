package intake_test

import (
	"strings"
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
		c.Auth.APIKeyPepper = strings.Repeat("ab", 32)
		c.Auth.OIDCIssuer, c.Auth.OIDCAudience, c.Auth.OIDCJWKSURL = "https://id.example.com", "kefu", "https://id.example.com/jwks"
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
		{"no api key pepper", func(c *intake.Config) { c.Auth.APIKeyPepper = "" }, "KEFU_API_KEY_PEPPER"},
		{"a short api key pepper", func(c *intake.Config) { c.Auth.APIKeyPepper = "abcd" }, "KEFU_API_KEY_PEPPER"},
		{"a pepper that is not hex", func(c *intake.Config) { c.Auth.APIKeyPepper = strings.Repeat("zz", 32) }, "KEFU_API_KEY_PEPPER"},
		{"no oidc issuer", func(c *intake.Config) { c.Auth.OIDCIssuer = "" }, "KEFU_OIDC_ISSUER"},
		{"no oidc audience", func(c *intake.Config) { c.Auth.OIDCAudience = "" }, "KEFU_OIDC_AUDIENCE"},
		{"a jwks url that is not http", func(c *intake.Config) { c.Auth.OIDCJWKSURL = "file:///etc/keys" }, "KEFU_OIDC_JWKS_URL"},
		{"no algorithms", func(c *intake.Config) { c.Auth.OIDCAlgorithms = " , " }, "KEFU_OIDC_ALGORITHMS"},
		{"a pool too small for the relay", func(c *intake.Config) { c.DBMaxConns = 2 }, "KEFU_DB_MAX_CONNS"},
		{"a customer service without an api key", func(c *intake.Config) { c.CustomerAddr = "customer:7002" }, "KEFU_CUSTOMER_API_KEY"},
		{"a customer service with an api key is valid", func(c *intake.Config) {
			c.CustomerAddr, c.CustomerAPIKey = "customer:7002", "kefu_x"
		}, ""},
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
