package devstack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/auth"
)

// The dev stack's own identity provider: a signing key and an API-key pepper kept in the data folder, so
// tokens minted by `kefu-dev token` and keys created through the API survive restarts. Production uses a
// real OIDC provider and a pepper from its secret store instead (docs/security.md). The customer service's
// master and blind-index keys live there too, for the same reason: records sealed under them stay
// readable and findable after a restart.
const (
	// DevIssuer and DevAudience are the iss and aud of dev tokens.
	DevIssuer   = "kefu-dev"
	DevAudience = "kefu"
	issuerFile  = "dev-issuer.pem"
	pepperFile  = "api-key-pepper"
	// encryptionKeysFile holds the customer service's --encryption-keys ("id:base64(32 bytes)"), and
	// blindIndexKeyFile its --blind-index-key (base64 of 32 bytes).
	encryptionKeysFile = "customer-encryption-keys"
	blindIndexKeyFile  = "customer-blind-index-key"
	// devEncryptionKeyID names the dev master key in the keyring.
	devEncryptionKeyID = "dev1"
	customerKeyBytes   = 32
)

// devGroupNamespace derives dev group ids from group names (see GroupID).
var devGroupNamespace = uuid.MustParse("6f1c2a3e-5b7d-4e8f-9a0b-1c2d3e4f5a6b")

// GroupID returns the group id a dev token carries for name: name itself when it is a UUID, else a UUID
// derived from it, so `--group logistics` names the same group in every token and request. (Groups get
// real ids once the routing service manages them.)
func GroupID(name string) string {
	if id, err := uuid.Parse(name); err == nil {
		return id.String()
	}
	return uuid.NewSHA1(devGroupNamespace, []byte(name)).String()
}

// LoadIssuer returns the dev issuer kept in dataDir, creating its key on first use.
func LoadIssuer(dataDir string) (*auth.DevIssuer, error) {
	path := filepath.Join(dataDir, issuerFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		iss, err := auth.NewDevIssuer(DevIssuer, DevAudience)
		if err != nil {
			return nil, err
		}
		pemKey, err := iss.KeyPEM()
		if err != nil {
			return nil, err
		}
		if err := writeSecret(path, pemKey); err != nil {
			return nil, err
		}
		return iss, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read dev issuer key: %w", err)
	}
	return auth.LoadDevIssuer(b, DevIssuer, DevAudience)
}

// loadPepper returns the dev stack's API-key pepper (hex), creating it on first use.
func loadPepper(dataDir string) (string, error) {
	path := filepath.Join(dataDir, pepperFile)
	b, err := os.ReadFile(path)
	if err == nil {
		return string(b), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read api key pepper: %w", err)
	}
	p := make([]byte, auth.MinPepperBytes)
	if _, err := rand.Read(p); err != nil {
		return "", fmt.Errorf("draw api key pepper: %w", err)
	}
	h := hex.EncodeToString(p)
	return h, writeSecret(path, []byte(h))
}

// customerKeyFiles returns the paths of the customer service's master-key and blind-index-key files,
// drawing both keys on first use. Only the paths leave this function, so no key reaches a log or a
// config dump; the service reads the files itself (--encryption-keys-file, --blind-index-key-file).
func customerKeyFiles(dataDir string) (encryptionKeys, blindIndexKey string, err error) {
	encryptionKeys = filepath.Join(dataDir, encryptionKeysFile)
	if err := ensureSecret(encryptionKeys, func(k []byte) []byte {
		return []byte(devEncryptionKeyID + ":" + base64.StdEncoding.EncodeToString(k))
	}); err != nil {
		return "", "", err
	}
	blindIndexKey = filepath.Join(dataDir, blindIndexKeyFile)
	if err := ensureSecret(blindIndexKey, func(k []byte) []byte {
		return []byte(base64.StdEncoding.EncodeToString(k))
	}); err != nil {
		return "", "", err
	}
	return encryptionKeys, blindIndexKey, nil
}

// ensureSecret creates path with encode(32 random bytes) unless it exists. A file another start wrote
// meanwhile wins: both then use the same key.
func ensureSecret(path string, encode func(key []byte) []byte) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	k := make([]byte, customerKeyBytes)
	if _, err := rand.Read(k); err != nil {
		return fmt.Errorf("draw key for %s: %w", path, err)
	}
	err := writeSecret(path, encode(k))
	clear(k)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	return err
}

// writeSecret writes a file only its owner can read, without replacing one a concurrent start wrote.
func writeSecret(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// jwksPath is where the dev issuer publishes its keys.
const jwksPath = "/.well-known/jwks.json"

// serveJWKS publishes the issuer's public keys until ctx ends.
func serveJWKS(ctx context.Context, lis net.Listener, iss *auth.DevIssuer) error {
	doc, err := iss.JWKS()
	if err != nil {
		_ = lis.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+jwksPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve dev jwks: %w", err)
	}
	return nil
}
