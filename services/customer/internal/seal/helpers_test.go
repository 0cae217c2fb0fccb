package seal

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// Test master keys: fixed bytes so failures reproduce. k1 is 32×0x11, k2 32×0x22; urlKey decodes only as
// URL-safe base64 (it contains "-" and "_").
const (
	k1Spec = "k1:ERERERERERERERERERERERERERERERERERERERERERE="
	k2Spec = "k2:IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI="
	urlKey = "yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5uc"
)

// mustKeyring parses spec or fails the test.
func mustKeyring(t testing.TB, spec string) *Keyring {
	t.Helper()
	kr, err := ParseKeyring(spec)
	require.NoError(t, err)
	return kr
}

// mustDataKey makes a data key of 32 copies of b.
func mustDataKey(t testing.TB, b byte) DataKey {
	t.Helper()
	dk, err := NewDataKey(bytes.NewReader(bytes.Repeat([]byte{b}, keySize)))
	require.NoError(t, err)
	return dk
}

// flip returns a copy of b with byte i inverted.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0xff
	return c
}
