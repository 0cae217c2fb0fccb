package webhook

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

func TestNewSecret(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		r       func() *bytes.Reader
		want    string
		wantErr bool
	}{
		{
			name: "32 zero bytes give the prefix and 43 base64 characters",
			r:    func() *bytes.Reader { return bytes.NewReader(make([]byte, 32)) },
			want: "whsec_" + strings.Repeat("A", 43),
		},
		{
			name: "bytes that need + and / in standard base64 use the url-safe alphabet",
			r:    func() *bytes.Reader { return bytes.NewReader(bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, 11)) },
			want: "whsec_" + strings.Repeat("-_-_", 10) + "-_8",
		},
		{
			name:    "a reader that runs short is an error",
			r:       func() *bytes.Reader { return bytes.NewReader(make([]byte, 31)) },
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := NewSecret(tc.r())
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestNewSecretFromRandomness(t *testing.T) {
	t.Parallel()
	a, err := NewSecret(rand.Reader)
	require.NoError(t, err)
	b, err := NewSecret(nil)
	require.NoError(t, err)
	require.NotEqual(t, a, b, "two secrets from crypto/rand differ")
	for _, s := range []string{a, b} {
		require.Len(t, s, len("whsec_")+43)
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		require.NoError(t, err)
		require.Len(t, raw, 32)
	}
}

func TestNewSecretWrapsReadErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("entropy source gone")
	_, err := NewSecret(iotest.ErrReader(boom))
	require.ErrorIs(t, err, boom)
}
