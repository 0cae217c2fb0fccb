package seal

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIndex(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	ix, err := NewIndexer(key)
	require.NoError(t, err)
	other, err := NewIndexer(bytes.Repeat([]byte{0xee}, 32))
	require.NoError(t, err)

	t.Run("the construction matches an independent HMAC-SHA256 so stored indexes stay valid", func(t *testing.T) {
		t.Parallel()
		// python3: hmac.new(bytes(range(32)), b"phone\x0013812345678", hashlib.sha256).hexdigest()
		require.Equal(t, "9b555e3e923c5d388cd157305738ad7d59b818330430541bce2eef3013344809",
			hex.EncodeToString(ix.Index("phone", "13812345678")))
	})
	t.Run("the same input always gives the same 32 bytes", func(t *testing.T) {
		t.Parallel()
		a, b := ix.Index("email", "z@example.com"), ix.Index("email", "z@example.com")
		require.Len(t, a, 32)
		require.Equal(t, a, b)
	})
	tests := []struct {
		name       string
		aIx, bIx   *Indexer
		aKind, aIn string
		bKind, bIn string
	}{
		{"one string indexed as phone and as email differs", ix, ix, "phone", "13812345678", "email", "13812345678"},
		{"the separator keeps kind and value apart", ix, ix, "ab", "c", "a", "bc"},
		{"different values of one kind differ", ix, ix, "phone", "13812345678", "phone", "13812345679"},
		{"another key gives another index", ix, other, "phone", "13812345678", "phone", "13812345678"},
		{"an empty value still depends on its kind", ix, ix, "phone", "", "email", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.NotEqual(t, tc.aIx.Index(tc.aKind, tc.aIn), tc.bIx.Index(tc.bKind, tc.bIn))
		})
	}
}

func TestNewIndexerCopiesItsKey(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, 32)
	ix, err := NewIndexer(key)
	require.NoError(t, err)
	before := ix.Index("phone", "1")
	key[0] = 8
	require.Equal(t, before, ix.Index("phone", "1"), "changing the caller's slice must not change the index")
}

func TestIndexerKeys(t *testing.T) {
	t.Parallel()
	key32 := bytes.Repeat([]byte{9}, 32)
	tests := []struct {
		name    string
		spec    string
		wantErr string
	}{
		{"32 bytes of standard base64 are enough", base64.StdEncoding.EncodeToString(key32), ""},
		{"64 bytes are accepted", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 64)), ""},
		{"unpadded URL-safe base64 is accepted", urlKey, ""},
		{"16 bytes are too short", base64.StdEncoding.EncodeToString(key32[:16]), "index key is 16 bytes, want at least 32"},
		{"31 bytes are too short", base64.StdEncoding.EncodeToString(key32[:31]), "index key is 31 bytes, want at least 32"},
		{"bad base64 is refused", "not*base64!", "index key is not valid base64"},
		{"an empty spec is too short", "", "index key is 0 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ix, err := ParseIndexKey(tc.spec)
			if tc.wantErr != "" {
				require.Nil(t, ix)
				require.ErrorContains(t, err, tc.wantErr)
				if len(tc.spec) > 8 {
					require.NotContains(t, err.Error(), tc.spec)
				}
				return
			}
			require.NoError(t, err)
			require.Len(t, ix.Index("phone", "1"), 32)
		})
	}
	t.Run("NewIndexer refuses a short key", func(t *testing.T) {
		t.Parallel()
		_, err := NewIndexer(key32[:31])
		require.Error(t, err)
	})
}
