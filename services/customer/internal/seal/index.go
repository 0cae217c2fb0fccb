package seal

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
)

// minIndexKeySize is the shortest index key accepted: a shorter key would be weaker than the 256-bit hash.
const minIndexKeySize = 32

// Indexer computes blind indexes: a keyed hash of a normalized value that the store can compare for
// equality without holding the value. Without the key an attacker with the database cannot test guesses
// (a phone number has only about 10^10 candidates, so a plain hash would fall to enumeration). The key
// cannot rotate without recomputing every index, so it has no id. An Indexer is safe for concurrent use.
type Indexer struct {
	key []byte
}

// NewIndexer makes an Indexer from a secret of at least 32 bytes; it keeps its own copy.
func NewIndexer(key []byte) (*Indexer, error) {
	if len(key) < minIndexKeySize {
		return nil, fmt.Errorf("seal: index key is %d bytes, want at least %d", len(key), minIndexKeySize)
	}
	return &Indexer{key: append([]byte(nil), key...)}, nil
}

// ParseIndexKey makes an Indexer from configuration: standard or URL-safe base64 (padded or not) of at
// least 32 bytes. Errors never repeat the value.
func ParseIndexKey(spec string) (*Indexer, error) {
	key, ok := decodeBase64(spec)
	if !ok {
		return nil, fmt.Errorf("seal: index key is not valid base64")
	}
	ix, err := NewIndexer(key)
	clear(key)
	return ix, err
}

// Index returns HMAC-SHA256(key, kind || 0x00 || normalized), all 32 bytes. kind separates domains ("phone",
// "email", "national_id"), so one string indexed as two kinds yields unrelated values and an index column
// cannot be joined against another; it must be a constant without NUL bytes, which keeps the encoding
// unambiguous. normalized must already be in the form the customer domain's normalizers produce, or equal
// values will not match.
func (ix *Indexer) Index(kind, normalized string) []byte {
	mac := hmac.New(sha256.New, ix.key)
	io.WriteString(mac, kind)
	mac.Write([]byte{0})
	io.WriteString(mac, normalized)
	return mac.Sum(nil)
}

// String never prints the key.
func (*Indexer) String() string { return "seal.Indexer(redacted)" }

// GoString is String, for %#v.
func (ix *Indexer) GoString() string { return ix.String() }

// Format prints the redacted form for every verb.
func (ix *Indexer) Format(f fmt.State, _ rune) { io.WriteString(f, ix.String()) }

// LogValue logs the redacted form.
func (ix *Indexer) LogValue() slog.Value { return slog.StringValue(ix.String()) }
