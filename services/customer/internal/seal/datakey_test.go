package seal

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	dk := mustDataKey(t, 0x33)
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"an empty value round-trips", []byte{}},
		{"a phone number round-trips", []byte("13812345678")},
		{"Chinese text round-trips", []byte("北京市朝阳区建国路88号")},
		{"a 64-byte field round-trips", bytes.Repeat([]byte{0x5a}, 64)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			aad := []byte("customer-1\x00address")
			ct, err := dk.Seal(aad, tc.plaintext)
			require.NoError(t, err)
			require.Len(t, ct, 1+nonceSize+len(tc.plaintext)+tagSize)
			require.Equal(t, formatVersion, ct[0])
			if len(tc.plaintext) > 0 {
				require.NotContains(t, string(ct), string(tc.plaintext))
			}
			got, err := dk.Open(aad, ct)
			require.NoError(t, err)
			require.Equal(t, string(tc.plaintext), string(got))

			again, err := dk.Seal(aad, tc.plaintext)
			require.NoError(t, err)
			require.NotEqual(t, ct, again, "each seal uses a fresh nonce")
		})
	}
}

func TestOpenRejectsTampering(t *testing.T) {
	t.Parallel()
	dk := mustDataKey(t, 0x33)
	aad := []byte("customer-1\x00phone")
	ct, err := dk.Seal(aad, []byte("13812345678"))
	require.NoError(t, err)
	tests := []struct {
		name string
		key  DataKey
		ct   []byte
		aad  []byte
	}{
		{"a flipped version byte is refused", dk, flip(ct, 0), aad},
		{"a flipped nonce byte is refused", dk, flip(ct, 1), aad},
		{"a flipped ciphertext byte is refused", dk, flip(ct, 1+nonceSize), aad},
		{"a flipped tag byte is refused", dk, flip(ct, len(ct)-1), aad},
		{"a truncated value is refused", dk, ct[:len(ct)-1], aad},
		{"a value shorter than nonce and tag is refused", dk, ct[:1+nonceSize+tagSize-1], aad},
		{"an empty value is refused", dk, nil, aad},
		{"the same field of another customer is refused", dk, ct, []byte("customer-2\x00phone")},
		{"another field of the same customer is refused", dk, ct, []byte("customer-1\x00email")},
		{"another customer's data key is refused", mustDataKey(t, 0x44), ct, aad},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pt, err := tc.key.Open(tc.aad, tc.ct)
			require.ErrorIs(t, err, ErrDecrypt)
			require.Nil(t, pt)
		})
	}
}

func TestZeroDataKeyRefusesToWork(t *testing.T) {
	t.Parallel()
	var dk DataKey
	_, err := dk.Seal(nil, []byte("x"))
	require.Error(t, err, "sealing under an all-zero key would protect nothing")
	_, err = dk.Open(nil, make([]byte, 64))
	require.Error(t, err)
}

func TestNewDataKeyFailsOnShortRandomness(t *testing.T) {
	t.Parallel()
	_, err := NewDataKey(bytes.NewReader(make([]byte, 31)))
	require.ErrorContains(t, err, "read random data key")
}

func TestNewDataKeyWithNilReaderIsRandom(t *testing.T) {
	t.Parallel()
	a, err := NewDataKey(nil)
	require.NoError(t, err)
	b, err := NewDataKey(nil)
	require.NoError(t, err)
	require.NotEqual(t, a.m.key, b.m.key)
}

func TestSecretsNeverFormat(t *testing.T) {
	t.Parallel()
	dk := mustDataKey(t, 0xc3)
	ix, err := NewIndexer(bytes.Repeat([]byte{0xd4}, 32))
	require.NoError(t, err)
	kr := mustKeyring(t, k1Spec)
	// holder keeps the secrets in unexported fields, where fmt cannot call their methods.
	type holder struct {
		dk DataKey
		ix *Indexer
		kr *Keyring
	}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("keys", "dk", dk, "ix", ix, "kr", kr)
	var jsonLogged bytes.Buffer
	slog.New(slog.NewJSONHandler(&jsonLogged, nil)).Info("keys", "dk", dk, "ix", ix, "kr", kr)

	tests := []struct {
		name string
		out  string
		want string // "" when only the absence of key bytes is checked
	}{
		{"%v of a DataKey is redacted", fmt.Sprintf("%v", dk), "seal.DataKey(redacted)"},
		{"%+v of a DataKey is redacted", fmt.Sprintf("%+v", dk), "seal.DataKey(redacted)"},
		{"%#v of a DataKey is redacted", fmt.Sprintf("%#v", dk), "seal.DataKey(redacted)"},
		{"%s of a DataKey is redacted", fmt.Sprintf("%s", dk), "seal.DataKey(redacted)"},
		{"%x of a DataKey is redacted", fmt.Sprintf("%x", dk), "seal.DataKey(redacted)"},
		{"%q of a DataKey is redacted", fmt.Sprintf("%q", dk), "seal.DataKey(redacted)"},
		{"a pointer to a DataKey is redacted", fmt.Sprintf("%v", &dk), "seal.DataKey(redacted)"},
		{"String of a DataKey is redacted", dk.String(), "seal.DataKey(redacted)"},
		{"GoString of a DataKey is redacted", dk.GoString(), "seal.DataKey(redacted)"},
		{"a DataKey in an exported field is redacted", fmt.Sprintf("%+v", struct{ DK DataKey }{dk}), "{DK:seal.DataKey(redacted)}"},
		{"%x of an Indexer is redacted", fmt.Sprintf("%x", ix), "seal.Indexer(redacted)"},
		{"%#v of an Indexer is redacted", fmt.Sprintf("%#v", ix), "seal.Indexer(redacted)"},
		{"a Keyring prints only its ids", fmt.Sprintf("%+v", kr), "seal.Keyring(primary=k1, ids=k1)"},
		{"%x of a Keyring prints only its ids", fmt.Sprintf("%x", kr), "seal.Keyring(primary=k1, ids=k1)"},
		{"secrets in unexported fields print as addresses", fmt.Sprintf("%+v %#v", holder{dk, ix, kr}, holder{dk, ix, kr}), ""},
		{"slog's text handler logs the redacted forms", logged.String(), ""},
		{"slog's JSON handler logs the redacted forms", jsonLogged.String(), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.want != "" {
				require.Equal(t, tc.want, tc.out)
			}
			for _, secret := range [][]byte{dk.m.key[:], ix.key, bytes.Repeat([]byte{0x11}, 32)} {
				requireNoSecret(t, tc.out, secret)
			}
		})
	}
	require.Contains(t, logged.String(), "dk=seal.DataKey(redacted)")
	require.Contains(t, jsonLogged.String(), `"dk":"seal.DataKey(redacted)"`)
}

// requireNoSecret checks that out holds secret in none of the spellings fmt could produce: raw, hex, and
// the decimal byte list of %v.
func requireNoSecret(t *testing.T, out string, secret []byte) {
	t.Helper()
	decimal := strings.Trim(fmt.Sprint(secret[:8]), "[]")
	for _, s := range []string{string(secret[:8]), hex.EncodeToString(secret[:8]), strings.ToUpper(hex.EncodeToString(secret[:8])), decimal} {
		require.NotContains(t, out, s)
	}
}
