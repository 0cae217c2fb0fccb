package auth_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/auth"
)

func TestAPIKeysRoundTrip(t *testing.T) {
	id, text, err := auth.NewAPIKey(rand.Reader)
	require.NoError(t, err)
	require.Len(t, text, auth.APIKeyLen)
	require.True(t, strings.HasPrefix(text, "kefu_"+id+"_"))
	gotID, secret, err := auth.ParseAPIKey(text)
	require.NoError(t, err)
	require.Equal(t, id, gotID)
	require.Len(t, secret, 64)

	_, other, err := auth.NewAPIKey(rand.Reader)
	require.NoError(t, err)
	require.NotEqual(t, text, other, "two keys never share text")
}

func TestNewAPIKeyReportsAShortRandomSource(t *testing.T) {
	_, _, err := auth.NewAPIKey(iotest.ErrReader(errors.New("no entropy")))
	require.ErrorContains(t, err, "no entropy")
	_, _, err = auth.NewAPIKey(bytes.NewReader(make([]byte, 10)))
	require.Error(t, err, "fewer random bytes than a key needs")
}

func TestParseAPIKeyRejectsAnythingElse(t *testing.T) {
	good := "kefu_0123456789abcdef_" + strings.Repeat("ab", 32)
	_, _, err := auth.ParseAPIKey(good)
	require.NoError(t, err)
	for name, text := range map[string]string{
		"empty":              "",
		"other prefix":       "kefx_0123456789abcdef_" + strings.Repeat("ab", 32),
		"upper-case hex":     "kefu_0123456789ABCDEF_" + strings.Repeat("ab", 32),
		"non-hex secret":     "kefu_0123456789abcdef_" + strings.Repeat("zz", 32),
		"short id":           "kefu_0123456789abcde_" + strings.Repeat("ab", 32) + "a",
		"separator in id":    "kefu_0123456789abcd_f_" + strings.Repeat("ab", 32),
		"missing separator":  "kefu_0123456789abcdef" + strings.Repeat("ab", 32) + "a",
		"short secret":       "kefu_0123456789abcdef_" + strings.Repeat("ab", 31),
		"long secret":        good + "a",
		"trailing newline":   good[:len(good)-1] + "\n",
		"bearer scheme left": "Bearer " + good,
		"jwt":                "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
	} {
		_, _, err := auth.ParseAPIKey(text)
		require.ErrorIs(t, err, auth.ErrMalformedAPIKey, name)
		if text != "" {
			require.NotContains(t, err.Error(), text, "%s: the error never repeats the key", name)
		}
	}
}

func TestPepperedHashes(t *testing.T) {
	_, err := auth.NewPepper(make([]byte, 31))
	require.ErrorContains(t, err, "at least 32 bytes")
	p1, err := auth.NewPepper(bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	p2, err := auth.NewPepper(bytes.Repeat([]byte{2}, 32))
	require.NoError(t, err)

	id, text, err := auth.NewAPIKey(rand.Reader)
	require.NoError(t, err)
	_, secret, err := auth.ParseAPIKey(text)
	require.NoError(t, err)
	stored := p1.Hash(id, secret)

	require.True(t, p1.Verify(id, secret, stored))
	require.False(t, p2.Verify(id, secret, stored), "another pepper does not verify")
	require.False(t, p1.Verify("ffffffffffffffff", secret, stored), "the hash is bound to its key id")
	require.False(t, p1.Verify(id, strings.Repeat("0", 64), stored), "another secret does not verify")
	require.False(t, p1.Verify(id, secret, nil), "no stored hash verifies nothing")
	require.NotContains(t, string(stored), secret)
}
