package devstack

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/auth/apikeys"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/pgxutil"
)

// Intake calls the customer service with an API key the customer service issued (its own api_keys table).
// In production an admin creates it through the customer service's KeyService and hands it to intake as a
// secret (--customer-api-key); the dev stack does the same at start, keeping the key's text in the data
// folder so that a restart reuses it rather than piling up keys.
const (
	intakeKeyFile = "intake-customer-api-key"
	// intakePrincipal is intake's identity at the customer service.
	intakePrincipal = "intake"
	// customerSchema is the customer service's schema (its store.Schema, internal to its module).
	customerSchema = "customer"
)

// devstackCaller is who the dev stack's keys are created by (api_keys.created_by).
var devstackCaller = auth.Principal{Kind: auth.KindService, ID: "kefu-dev"}

// intakeCustomerKey returns the text of intake's service key at the customer service, whose schema must
// already be migrated; runtimeURL is the customer's runtime role and pepperHex the services' shared
// --api-key-pepper. The key kept in dataDir is reused while it still authenticates (not revoked, not
// expired, issued under this pepper). Otherwise the dev stack revokes the intake keys it issued before
// (whose text is lost, so nothing can use them) and issues a new one, which keeps intake within
// apikeys.MaxActiveKeys unless an admin gave it two keys of their own.
func intakeCustomerKey(ctx context.Context, dataDir, runtimeURL, pepperHex string) (string, error) {
	pepper, err := auth.Config{APIKeyPepper: pepperHex}.Pepper()
	if err != nil {
		return "", fmt.Errorf("api key pepper: %w", err)
	}
	path := filepath.Join(dataDir, intakeKeyFile)
	text, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read intake's customer API key: %w", err)
	}
	pool, err := pgxutil.Open(ctx, runtimeURL, pgxutil.Options{Schema: customerSchema, AppName: "kefu-dev", MaxConns: 2})
	if err != nil {
		return "", fmt.Errorf("open customer database: %w", err)
	}
	defer pool.Close()
	clk := clock.Real{}
	keys := apikeys.New(pool, pepper, clk, rand.Reader)

	if kept := strings.TrimSpace(string(text)); kept != "" {
		ok, err := keyWorks(ctx, keys, pepper, kept, clk)
		if err != nil {
			return "", err
		}
		if ok {
			return kept, nil
		}
	}
	var stale []apikeys.Key
	for token := ""; ; {
		page, err := keys.List(ctx, apikeys.Filter{PrincipalID: intakePrincipal}, apikeys.MaxPageSize, token)
		if err != nil {
			return "", fmt.Errorf("list intake's customer API keys: %w", err)
		}
		stale = append(stale, page.Keys...)
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	for _, k := range stale {
		if k.CreatedBy != devstackCaller.String() {
			continue // an admin's key: theirs to revoke
		}
		if _, err := keys.Revoke(ctx, k.ID); err != nil {
			return "", fmt.Errorf("revoke intake's old customer API key %s: %w", k.ID, err)
		}
	}
	// A fresh request id each time: this is a new key, not a retry of an earlier creation.
	reqID := rand.Text()
	issued, err := keys.Create(ctx, apikeys.Request{Caller: devstackCaller.String(), ID: reqID, Fingerprint: fingerprint(reqID)},
		apikeys.Spec{PrincipalKind: auth.KindService, PrincipalID: intakePrincipal, DisplayName: "intake (dev stack)",
			Roles: []string{auth.RoleService}})
	if err != nil {
		return "", fmt.Errorf("create intake's customer API key: %w", err)
	}
	if err := replaceSecret(path, []byte(issued.Text)); err != nil {
		return "", err
	}
	return issued.Text, nil
}

// keyWorks reports whether text is an active intake service key under pepper.
func keyWorks(ctx context.Context, keys *apikeys.Store, pepper auth.Pepper, text string, clk clock.Clock) (bool, error) {
	id, secret, err := auth.ParseAPIKey(text)
	if err != nil {
		return false, nil
	}
	rec, err := keys.LookupAPIKey(ctx, id)
	if errors.Is(err, auth.ErrUnknownAPIKey) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return rec.ActiveAt(clk.Now()) && rec.Kind == auth.KindService && rec.PrincipalID == intakePrincipal &&
		pepper.Verify(id, secret, rec.Hash), nil
}

func fingerprint(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// replaceSecret writes b to path (only its owner can read it), replacing any file there in one rename.
func replaceSecret(path string, b []byte) error {
	tmp := path + ".new"
	_ = os.Remove(tmp)
	if err := writeSecret(tmp, b); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}
