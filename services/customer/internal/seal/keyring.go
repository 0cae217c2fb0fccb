package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
)

// keyIDPattern is what a master key id may look like: short (it is stored in every wrapped key), and plain
// enough to go in file names, environment variables and metric labels.
var keyIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// Keyring holds the master keys that wrap data keys, by id. The primary key wraps; every key unwraps, so
// a new key can be added as primary while data keys under older ones are re-wrapped at leisure. A Keyring
// is immutable and safe for concurrent use.
type Keyring struct {
	aeads   map[string]cipher.AEAD
	ids     []string
	primary string
}

// ParseKeyring reads a keyring from configuration: a comma-separated list of id:base64key entries, each key
// exactly 32 bytes in standard or URL-safe base64 (padded or not). The last entry is the primary; earlier
// ones only unwrap, so rotating means appending a key. Errors say which entry is wrong by position and
// never repeat the entry, which could be a key with its id missing.
func ParseKeyring(spec string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("seal: keyring spec is empty")
	}
	kr := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, entry := range strings.Split(spec, ",") {
		n := i + 1
		id, b64, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok {
			return nil, fmt.Errorf("seal: keyring entry %d: want id:base64key", n)
		}
		if !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("seal: keyring entry %d: key id must match %s", n, keyIDPattern)
		}
		if _, dup := kr.aeads[id]; dup {
			return nil, fmt.Errorf("seal: keyring entry %d: duplicate key id %q", n, id)
		}
		key, ok := decodeBase64(b64)
		if !ok {
			return nil, fmt.Errorf("seal: keyring entry %d (%s): key is not valid base64", n, id)
		}
		if len(key) != keySize {
			return nil, fmt.Errorf("seal: keyring entry %d (%s): key is %d bytes, want %d", n, id, len(key), keySize)
		}
		aead, err := newGCM(key)
		clear(key)
		if err != nil {
			return nil, fmt.Errorf("seal: keyring entry %d (%s): %w", n, id, err)
		}
		kr.aeads[id] = aead
		kr.ids = append(kr.ids, id)
		kr.primary = id
	}
	return kr, nil
}

// GenerateKeySpec returns one keyring entry, "id:base64key", with 32 bytes read from r (crypto/rand when r
// is nil). The dev stack writes it to a key file on first start.
func GenerateKeySpec(id string, r io.Reader) (string, error) {
	if !keyIDPattern.MatchString(id) {
		return "", fmt.Errorf("seal: key id must match %s", keyIDPattern)
	}
	key := make([]byte, keySize)
	if _, err := io.ReadFull(randOr(r), key); err != nil {
		return "", fmt.Errorf("seal: read random master key: %w", err)
	}
	spec := id + ":" + base64.StdEncoding.EncodeToString(key)
	clear(key)
	return spec, nil
}

// Primary returns the id of the key that new wraps use.
func (kr *Keyring) Primary() string { return kr.primary }

// IDs returns every key id in configuration order, the primary last.
func (kr *Keyring) IDs() []string { return slices.Clone(kr.ids) }

// Wrap encrypts dk under the primary master key. aad binds the blob to its owner (callers pass the
// customer id), so a wrapped key copied to another customer does not unwrap. The blob is
// version (1) | id length (1) | id | nonce (12) | ciphertext and tag (48); the header is authenticated too.
func (kr *Keyring) Wrap(dk DataKey, aad []byte) ([]byte, error) {
	if dk.m == nil {
		return nil, errZeroDataKey
	}
	id := kr.primary
	aead := kr.aeads[id]
	if aead == nil {
		return nil, errNoKeys
	}
	headerLen := 2 + len(id)
	blob := make([]byte, headerLen+nonceSize, headerLen+nonceSize+keySize+tagSize)
	blob[0], blob[1] = formatVersion, byte(len(id))
	copy(blob[2:], id)
	nonce := blob[headerLen:]
	rand.Read(nonce) // never fails: crypto/rand crashes the program rather than return weak bytes
	return aead.Seal(blob, nonce, dk.m.key[:], joinAAD(blob[:headerLen], aad)), nil
}

// Unwrap decrypts a blob made by Wrap with the same aad. A blob under a key id the keyring lacks fails with
// an error wrapping ErrUnknownKey; anything else that does not open fails with ErrDecrypt.
func (kr *Keyring) Unwrap(blob, aad []byte) (DataKey, error) {
	id, headerLen, err := parseWrapHeader(blob)
	if err != nil {
		return DataKey{}, err
	}
	aead, ok := kr.aeads[id]
	if !ok {
		return DataKey{}, fmt.Errorf("%w %q", ErrUnknownKey, id)
	}
	header, rest := blob[:headerLen], blob[headerLen:]
	if len(rest) != nonceSize+keySize+tagSize {
		return DataKey{}, fmt.Errorf("%w: wrapped key has the wrong length", ErrDecrypt)
	}
	key, err := aead.Open(nil, rest[:nonceSize], rest[nonceSize:], joinAAD(header, aad))
	if err != nil {
		return DataKey{}, ErrDecrypt
	}
	dk, err := dataKeyFrom(key)
	clear(key)
	return dk, err
}

// KeyIDOf returns the id of the master key a blob was wrapped under, without decrypting it, so a
// re-encrypt job can find the rows still under a retired key.
func KeyIDOf(blob []byte) (string, error) {
	id, _, err := parseWrapHeader(blob)
	return id, err
}

// parseWrapHeader reads a wrapped blob's version and key id and returns the header's length.
func parseWrapHeader(blob []byte) (id string, headerLen int, err error) {
	if len(blob) < 2 {
		return "", 0, fmt.Errorf("%w: wrapped key is truncated", ErrDecrypt)
	}
	if blob[0] != formatVersion {
		return "", 0, fmt.Errorf("%w: unsupported format version %d", ErrDecrypt, blob[0])
	}
	headerLen = 2 + int(blob[1])
	if len(blob) < headerLen {
		return "", 0, fmt.Errorf("%w: wrapped key is truncated", ErrDecrypt)
	}
	return string(blob[2:headerLen]), headerLen, nil
}

// joinAAD is the GCM additional data: the blob's own header, then the caller's aad. The header has a fixed
// shape given its length byte, so the split between the two is unambiguous.
func joinAAD(header, aad []byte) []byte {
	return append(slices.Clip(header), aad...)
}

// String describes the keyring by its ids, which are not secret; it never prints key material.
func (kr *Keyring) String() string {
	return fmt.Sprintf("seal.Keyring(primary=%s, ids=%s)", kr.primary, strings.Join(kr.ids, ","))
}

// GoString is String, so %#v does not dump the key schedule.
func (kr *Keyring) GoString() string { return kr.String() }

// Format prints String for every verb, so no verb (%x, %+v) reaches the fields.
func (kr *Keyring) Format(f fmt.State, _ rune) { io.WriteString(f, kr.String()) }

// LogValue logs String, so slog handlers that walk structs never reach the fields.
func (kr *Keyring) LogValue() slog.Value { return slog.StringValue(kr.String()) }

// newGCM builds AES-256-GCM for a 32-byte key.
func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// decodeBase64 accepts standard and URL-safe base64, padded or not, since keys are pasted from different
// tools; the alphabets differ only in two characters that cannot be confused.
func decodeBase64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// errNoKeys is returned by a Keyring that did not come from ParseKeyring.
var errNoKeys = errors.New("seal: keyring has no keys")

// randOr returns r, or crypto/rand when r is nil.
func randOr(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
