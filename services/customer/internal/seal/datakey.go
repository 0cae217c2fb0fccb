package seal

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// redacted is how every DataKey prints, whatever the verb.
const redacted = "seal.DataKey(redacted)"

// errZeroDataKey is returned when a DataKey was declared rather than made by NewDataKey or Unwrap: sealing
// under an all-zero key would look like encryption and protect nothing.
var errZeroDataKey = errors.New("seal: DataKey is not initialized")

// DataKey is one customer's 256-bit field key. Its material sits behind a pointer, so even a struct that
// holds a DataKey in an unexported field prints an address rather than key bytes; String, GoString,
// Format and LogValue print "seal.DataKey(redacted)". Copies share the key. The zero value refuses to
// seal or open. A DataKey is safe for concurrent use.
type DataKey struct {
	m *keyMaterial
}

type keyMaterial struct {
	key  [keySize]byte
	aead cipher.AEAD
}

// NewDataKey makes a data key from 32 bytes of r (crypto/rand when r is nil; tests pass a fixed reader).
func NewDataKey(r io.Reader) (DataKey, error) {
	var key [keySize]byte
	if _, err := io.ReadFull(randOr(r), key[:]); err != nil {
		return DataKey{}, fmt.Errorf("seal: read random data key: %w", err)
	}
	dk, err := dataKeyFrom(key[:])
	clear(key[:])
	return dk, err
}

// dataKeyFrom copies a 32-byte key into a new DataKey.
func dataKeyFrom(key []byte) (DataKey, error) {
	m := &keyMaterial{}
	copy(m.key[:], key)
	aead, err := newGCM(m.key[:])
	if err != nil {
		return DataKey{}, fmt.Errorf("seal: data key: %w", err)
	}
	m.aead = aead
	return DataKey{m: m}, nil
}

// Seal encrypts one field value with a fresh random nonce. aad should name the owner and the field (e.g.
// customer id + "\x00" + "national_id"), so the ciphertext opens only in the place it was written. The
// result is version (1) | nonce (12) | ciphertext and tag (len(plaintext)+16).
func (dk DataKey) Seal(aad, plaintext []byte) ([]byte, error) {
	if dk.m == nil {
		return nil, errZeroDataKey
	}
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+tagSize)
	out[0] = formatVersion
	nonce := out[1:]
	rand.Read(nonce) // never fails: crypto/rand crashes the program rather than return weak bytes
	return dk.m.aead.Seal(out, nonce, plaintext, joinAAD(out[:1], aad)), nil
}

// Open decrypts a value made by Seal with the same key and aad, or fails with ErrDecrypt.
func (dk DataKey) Open(aad, ct []byte) ([]byte, error) {
	if dk.m == nil {
		return nil, errZeroDataKey
	}
	if len(ct) < 1+nonceSize+tagSize {
		return nil, fmt.Errorf("%w: sealed value is truncated", ErrDecrypt)
	}
	if ct[0] != formatVersion {
		return nil, fmt.Errorf("%w: unsupported format version %d", ErrDecrypt, ct[0])
	}
	pt, err := dk.m.aead.Open(nil, ct[1:1+nonceSize], ct[1+nonceSize:], joinAAD(ct[:1], aad))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// String never prints the key, so a DataKey that reaches a log line by accident leaks nothing.
func (DataKey) String() string { return redacted }

// GoString is String, for %#v.
func (DataKey) GoString() string { return redacted }

// Format prints the redacted form for every verb, so %x or %+v cannot reach the key bytes either.
func (DataKey) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// LogValue logs the redacted form, so slog handlers that walk values never reach the key.
func (DataKey) LogValue() slog.Value { return slog.StringValue(redacted) }
