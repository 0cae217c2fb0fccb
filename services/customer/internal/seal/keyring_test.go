package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

func TestParseKeyringAcceptsSpecs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		spec        string
		wantIDs     []string
		wantPrimary string
	}{
		{"one padded standard base64 key is the primary", k1Spec, []string{"k1"}, "k1"},
		{"an unpadded URL-safe key is accepted", "prod-2024:" + urlKey, []string{"prod-2024"}, "prod-2024"},
		{"the last of several keys is the primary", k1Spec + "," + k2Spec, []string{"k1", "k2"}, "k2"},
		{"spaces around entries are ignored", "  " + k2Spec + " , " + k1Spec + "\n", []string{"k2", "k1"}, "k1"},
		{"a 32-character id is long enough", strings.Repeat("a", 32) + k1Spec[2:], []string{strings.Repeat("a", 32)}, strings.Repeat("a", 32)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			kr, err := ParseKeyring(tc.spec)
			require.NoError(t, err)
			require.Equal(t, tc.wantIDs, kr.IDs())
			require.Equal(t, tc.wantPrimary, kr.Primary())
		})
	}
}

func TestParseKeyringRejectsBadSpecs(t *testing.T) {
	t.Parallel()
	key16 := base64.StdEncoding.EncodeToString(make([]byte, 16))
	key33 := base64.StdEncoding.EncodeToString(make([]byte, 33))
	tests := []struct {
		name    string
		spec    string
		wantMsg string
		secret  string // a part of spec that must not appear in the error
	}{
		{"an empty spec has no keys", "", "keyring spec is empty", ""},
		{"a blank spec has no keys", " \n", "keyring spec is empty", ""},
		{"a key without an id is refused without echoing it", "ERERERERERERERERERERERERERERERERERERERERERE=", "entry 1: want id:base64key", "ERERERERERER"},
		{"a trailing comma is an empty entry", k1Spec + ",", "entry 2: want id:base64key", "ERERERERERER"},
		{"bad base64 is refused", "k1:not*base64!", "entry 1 (k1): key is not valid base64", "not*base64!"},
		{"a 16-byte key is too short", "k1:" + key16, "entry 1 (k1): key is 16 bytes, want 32", key16},
		{"a 33-byte key is too long", "k1:" + key33, "entry 1 (k1): key is 33 bytes, want 32", key33},
		{"a duplicate id is refused", k1Spec + "," + k1Spec, `entry 2: duplicate key id "k1"`, "ERERERERERER"},
		{"an empty id is refused", ":" + k1Spec[3:], "entry 1: key id must match", "ERERERERERER"},
		{"an upper-case id is refused", "K1:" + k1Spec[3:], "entry 1: key id must match", "ERERERERERER"},
		{"an id starting with a dash is refused", "-k1:" + k1Spec[3:], "entry 1: key id must match", "ERERERERERER"},
		{"a 33-character id is too long", strings.Repeat("a", 33) + ":" + k1Spec[3:], "entry 1: key id must match", "ERERERERERER"},
		{"an id with a space is refused", "k 1:" + k1Spec[3:], "entry 1: key id must match", "ERERERERERER"},
		{"a key pasted in place of the id is not echoed", k2Spec[3:] + ":" + k1Spec[3:], "entry 1: key id must match", "IiIiIiIiIiIi"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			kr, err := ParseKeyring(tc.spec)
			require.Nil(t, kr)
			require.ErrorContains(t, err, tc.wantMsg)
			if tc.secret != "" {
				require.NotContains(t, err.Error(), tc.secret, "errors must not carry key material")
			}
		})
	}
}

func TestGenerateKeySpec(t *testing.T) {
	t.Parallel()
	spec, err := GenerateKeySpec("dev", bytes.NewReader(bytes.Repeat([]byte{0x11}, 32)))
	require.NoError(t, err)
	require.Equal(t, "dev:"+k1Spec[3:], spec, "the spec is the id and the standard base64 of the 32 bytes read")

	random, err := GenerateKeySpec("dev-2", nil)
	require.NoError(t, err)
	require.NotEqual(t, "dev-2:"+k1Spec[3:], random, "a nil reader means crypto/rand")
	kr := mustKeyring(t, spec+","+random)
	require.Equal(t, []string{"dev", "dev-2"}, kr.IDs(), "generated specs parse as keyring entries")
}

func TestGenerateKeySpecFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		id      string
		r       func() *bytes.Reader
		wantMsg string
	}{
		{"an invalid id is refused before reading", "Dev", func() *bytes.Reader { return bytes.NewReader(make([]byte, 32)) }, "key id must match"},
		{"a reader with too few bytes fails", "dev", func() *bytes.Reader { return bytes.NewReader(make([]byte, 31)) }, "read random master key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec, err := GenerateKeySpec(tc.id, tc.r())
			require.Empty(t, spec)
			require.ErrorContains(t, err, tc.wantMsg)
		})
	}
	t.Run("a failing reader's error is wrapped", func(t *testing.T) {
		t.Parallel()
		boom := errors.New("entropy exhausted")
		_, err := GenerateKeySpec("dev", iotest.ErrReader(boom))
		require.ErrorIs(t, err, boom)
	})
}

func TestWrapUnwrapRoundTrip(t *testing.T) {
	t.Parallel()
	kr := mustKeyring(t, k1Spec)
	dk := mustDataKey(t, 0xab)
	aad := []byte("customer-1")

	blob, err := kr.Wrap(dk, aad)
	require.NoError(t, err)
	require.Len(t, blob, 2+len("k1")+nonceSize+keySize+tagSize)
	require.Equal(t, []byte{formatVersion, 2, 'k', '1'}, blob[:4], "the header is version, id length, id")
	require.NotContains(t, string(blob), string(dk.m.key[:]), "the data key must not appear in the clear")

	got, err := kr.Unwrap(blob, aad)
	require.NoError(t, err)
	require.Equal(t, dk.m.key, got.m.key)

	again, err := kr.Wrap(dk, aad)
	require.NoError(t, err)
	require.NotEqual(t, blob, again, "each wrap uses a fresh nonce")
}

func TestRotation(t *testing.T) {
	t.Parallel()
	dk := mustDataKey(t, 0xab)
	aad := []byte("customer-1")
	old, err := mustKeyring(t, k1Spec).Wrap(dk, aad)
	require.NoError(t, err)

	rotated := mustKeyring(t, k1Spec+","+k2Spec)
	t.Run("a blob wrapped under the old primary still unwraps after a new primary is added", func(t *testing.T) {
		t.Parallel()
		got, err := rotated.Unwrap(old, aad)
		require.NoError(t, err)
		require.Equal(t, dk.m.key, got.m.key)
	})
	t.Run("KeyIDOf names the old key for the old blob and the new primary for a new wrap", func(t *testing.T) {
		t.Parallel()
		id, err := KeyIDOf(old)
		require.NoError(t, err)
		require.Equal(t, "k1", id)
		fresh, err := rotated.Wrap(dk, aad)
		require.NoError(t, err)
		id, err = KeyIDOf(fresh)
		require.NoError(t, err)
		require.Equal(t, "k2", id)
	})
	t.Run("a keyring that dropped the old key reports it unknown by id", func(t *testing.T) {
		t.Parallel()
		_, err := mustKeyring(t, k2Spec).Unwrap(old, aad)
		require.ErrorIs(t, err, ErrUnknownKey)
		require.NotErrorIs(t, err, ErrDecrypt)
		require.ErrorContains(t, err, `"k1"`)
	})
	t.Run("a different key under the same id does not unwrap", func(t *testing.T) {
		t.Parallel()
		_, err := mustKeyring(t, "k1"+k2Spec[2:]).Unwrap(old, aad)
		require.ErrorIs(t, err, ErrDecrypt)
	})
}

func TestUnwrapRejectsTampering(t *testing.T) {
	t.Parallel()
	kr := mustKeyring(t, k1Spec)
	aad := []byte("customer-1")
	blob, err := kr.Wrap(mustDataKey(t, 0xab), aad)
	require.NoError(t, err)
	const header = 4 // version, id length, "k1"
	tests := []struct {
		name string
		blob []byte
		aad  []byte
		want error
	}{
		{"a flipped version byte is refused", flip(blob, 0), aad, ErrDecrypt},
		{"a flipped id length is refused", flip(blob, 1), aad, ErrDecrypt},
		{"a changed id is an unknown key", append([]byte{1, 2, 'k', '9'}, blob[header:]...), aad, ErrUnknownKey},
		{"a flipped first nonce byte is refused", flip(blob, header), aad, ErrDecrypt},
		{"a flipped last nonce byte is refused", flip(blob, header+nonceSize-1), aad, ErrDecrypt},
		{"a flipped ciphertext byte is refused", flip(blob, header+nonceSize+5), aad, ErrDecrypt},
		{"a flipped tag byte is refused", flip(blob, len(blob)-1), aad, ErrDecrypt},
		{"a truncated tag is refused", blob[:len(blob)-1], aad, ErrDecrypt},
		{"an extra trailing byte is refused", append(bytes.Clone(blob), 0), aad, ErrDecrypt},
		{"a header alone is refused", blob[:header], aad, ErrDecrypt},
		{"one byte is refused", blob[:1], aad, ErrDecrypt},
		{"an empty blob is refused", nil, aad, ErrDecrypt},
		{"another customer's aad is refused", blob, []byte("customer-2"), ErrDecrypt},
		{"a missing aad is refused", blob, nil, ErrDecrypt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dk, err := kr.Unwrap(tc.blob, tc.aad)
			require.ErrorIs(t, err, tc.want)
			require.Nil(t, dk.m)
		})
	}
	t.Run("every single flipped byte is refused", func(t *testing.T) {
		t.Parallel()
		for i := range blob {
			_, err := kr.Unwrap(flip(blob, i), aad)
			require.True(t, errors.Is(err, ErrDecrypt) || errors.Is(err, ErrUnknownKey), "byte %d: %v", i, err)
		}
	})
}

func TestKeyIDOfRejectsMalformedBlobs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		blob []byte
	}{
		{"an empty blob has no header", nil},
		{"a version byte alone has no id", []byte{1}},
		{"an unknown version is refused", []byte{2, 2, 'k', '1'}},
		{"an id shorter than its length byte is truncated", []byte{1, 5, 'k', '1'}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id, err := KeyIDOf(tc.blob)
			require.Empty(t, id)
			require.ErrorIs(t, err, ErrDecrypt)
		})
	}
}

func TestWrapRefusesUninitializedValues(t *testing.T) {
	t.Parallel()
	t.Run("a declared DataKey is not wrapped", func(t *testing.T) {
		t.Parallel()
		_, err := mustKeyring(t, k1Spec).Wrap(DataKey{}, nil)
		require.Error(t, err)
	})
	t.Run("a declared Keyring does not wrap", func(t *testing.T) {
		t.Parallel()
		_, err := (&Keyring{}).Wrap(mustDataKey(t, 1), nil)
		require.Error(t, err)
	})
}
