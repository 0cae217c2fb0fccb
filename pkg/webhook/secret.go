package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
)

// secretPrefix marks a string as a kefu webhook secret, so one pasted into the wrong place (or found by a
// secret scanner) is recognisable.
const secretPrefix = "whsec_"

// secretBytes is SHA-256's output size: RFC 2104 discourages HMAC keys shorter than the hash output.
const secretBytes = 32

// NewSecret returns a new signing secret: "whsec_" followed by 32 bytes from r in unpadded URL-safe base64
// (49 characters in all). r is a parameter so tests can be deterministic; pass crypto/rand.Reader, which is
// also used when r is nil.
func NewSecret(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("read webhook secret: %w", err)
	}
	return secretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}
