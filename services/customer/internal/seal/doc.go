// Package seal encrypts a customer's personal fields so that they can be erased for good (PIPL art. 47)
// and found again by exact value without being decrypted.
//
// Envelope encryption: every customer has a random 256-bit DataKey that seals their fields with AES-256-GCM.
// The data key is stored beside the customer, wrapped (AES-256-GCM) under a master key from configuration;
// deleting the wrapped key crypto-shreds every field, backups included, without finding each copy. Master
// keys carry ids, and a Keyring holds the current (primary) key and any older ones, so a master key can be
// rotated: new wraps use the primary, old blobs still unwrap, and KeyIDOf lets a re-encrypt job find the
// rows still under an old key.
//
// Blind index: an Indexer computes a keyed HMAC-SHA256 of a normalized value, stored in an indexed column,
// so "find the customer with this phone" is an equality lookup while the database never holds the phone
// in the clear. The kind ("phone", "email", ...) is hashed in, so equal strings of different kinds do not
// link.
//
// Every ciphertext is bound to associated data the caller chooses (the customer id, plus the field name for
// fields), so a ciphertext copied to another row or column fails to open instead of decrypting as someone
// else's data. Key material never appears in errors or formatted output.
package seal

import "errors"

// formatVersion is the first byte of every blob and sealed field. It is authenticated with the ciphertext,
// and lets a later format (another cipher, a longer nonce) live beside this one during a migration.
const formatVersion byte = 1

const (
	keySize   = 32 // AES-256
	nonceSize = 12 // GCM's standard nonce; random ones stay within NIST's 2^32 messages per key, far beyond our use
	tagSize   = 16
)

// ErrDecrypt means a blob or sealed field cannot be opened: it is truncated, has an unknown format
// version, was tampered with, or is bound to other associated data (a different customer or field).
// The reasons are not told apart, on purpose: to an attacker probing ciphertexts they must look the same.
var ErrDecrypt = errors.New("seal: cannot decrypt")

// ErrUnknownKey means a wrapped data key names a master key id that the keyring does not hold: a
// configuration problem (a retired key removed too early), not tampering. The error names the id.
var ErrUnknownKey = errors.New("seal: unknown master key")
