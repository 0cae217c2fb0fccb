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

// A kefu service calls another with an API key the callee issued (in its own api_keys table): intake calls
// the customer service, routing calls intake. In production an admin creates the key through the callee's
// KeyService (or its `issue-service-key --id X` subcommand) and hands it to the caller as a secret
// (intake's --customer-api-key, routing's --intake-api-key); the dev stack does the same at start, keeping
// the key's text in the data folder so that a restart reuses it rather than piling up keys.
type serviceKey struct {
	// caller is the calling service's id: its principal at the callee is service:<caller>.
	caller string
	// callee names the service that issues the key; schema is its schema (its store.Schema, internal to
	// its module), which must already be migrated.
	callee, schema string
	// file keeps the key's text in the data folder.
	file string
}

var (
	// intakeAtCustomer is intake's key at the customer service (--customer-api-key).
	intakeAtCustomer = serviceKey{caller: "intake", callee: "customer", schema: "customer", file: "intake-customer-api-key"}
	// routingAtIntake is routing's key at intake (--intake-api-key).
	routingAtIntake = serviceKey{caller: "routing", callee: "intake", schema: "intake", file: "routing-intake-api-key"}
	// intakeAtRouting is intake's key at the routing service (--routing-api-key).
	intakeAtRouting = serviceKey{caller: "intake", callee: "routing", schema: "routing", file: "intake-routing-api-key"}
	// notifyAtIntake, notifyAtCustomer, notifyAtSlatimer and notifyAtRouting are notify's keys
	// (--intake-api-key, --customer-api-key, --slatimer-api-key, --routing-api-key).
	notifyAtIntake   = serviceKey{caller: "notify", callee: "intake", schema: "intake", file: "notify-intake-api-key"}
	notifyAtCustomer = serviceKey{caller: "notify", callee: "customer", schema: "customer", file: "notify-customer-api-key"}
	notifyAtSlatimer = serviceKey{caller: "notify", callee: "slatimer", schema: "slatimer", file: "notify-slatimer-api-key"}
	notifyAtRouting  = serviceKey{caller: "notify", callee: "routing", schema: "routing", file: "notify-routing-api-key"}
	// kbAtIntake and kbAtRouting are the knowledge base's keys (--intake-api-key, --routing-api-key).
	kbAtIntake  = serviceKey{caller: "kb", callee: "intake", schema: "intake", file: "kb-intake-api-key"}
	kbAtRouting = serviceKey{caller: "kb", callee: "routing", schema: "routing", file: "kb-routing-api-key"}
)

func (k serviceKey) String() string { return k.caller + "'s API key at " + k.callee }

// devstackCaller is who the dev stack's keys are created by (api_keys.created_by).
var devstackCaller = auth.Principal{Kind: auth.KindService, ID: "kefu-dev"}

// ensureServiceKey returns the text of k, issuing it if need be; runtimeURL is the callee's runtime role
// and pepperHex the services' shared --api-key-pepper. The key kept in dataDir is reused while it still
// authenticates (not revoked, not expired, issued under this pepper). Otherwise the dev stack revokes the
// caller's keys it issued before (whose text is lost, so nothing can use them) and issues a new one, which
// keeps the caller within apikeys.MaxActiveKeys unless an admin gave it two keys of their own.
func ensureServiceKey(ctx context.Context, k serviceKey, dataDir, runtimeURL, pepperHex string) (string, error) {
	pepper, err := auth.Config{APIKeyPepper: pepperHex}.Pepper()
	if err != nil {
		return "", fmt.Errorf("api key pepper: %w", err)
	}
	path := filepath.Join(dataDir, k.file)
	text, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", k, err)
	}
	pool, err := pgxutil.Open(ctx, runtimeURL, pgxutil.Options{Schema: k.schema, AppName: "kefu-dev", MaxConns: 2})
	if err != nil {
		return "", fmt.Errorf("open %s database: %w", k.callee, err)
	}
	defer pool.Close()
	clk := clock.Real{}
	keys := apikeys.New(pool, pepper, clk, rand.Reader)

	if kept := strings.TrimSpace(string(text)); kept != "" {
		ok, err := k.works(ctx, keys, pepper, kept, clk)
		if err != nil {
			return "", err
		}
		if ok {
			return kept, nil
		}
	}
	var stale []apikeys.Key
	for token := ""; ; {
		page, err := keys.List(ctx, apikeys.Filter{PrincipalID: k.caller}, apikeys.MaxPageSize, token)
		if err != nil {
			return "", fmt.Errorf("list %s's API keys at %s: %w", k.caller, k.callee, err)
		}
		stale = append(stale, page.Keys...)
		if token = page.NextPageToken; token == "" {
			break
		}
	}
	for _, old := range stale {
		if old.CreatedBy != devstackCaller.String() || old.PrincipalKind != auth.KindService {
			continue // an admin's key: theirs to revoke
		}
		if _, err := keys.Revoke(ctx, old.ID); err != nil {
			return "", fmt.Errorf("revoke %s's old API key %s at %s: %w", k.caller, old.ID, k.callee, err)
		}
	}
	// A fresh request id each time: this is a new key, not a retry of an earlier creation.
	reqID := rand.Text()
	issued, err := keys.Create(ctx, apikeys.Request{Caller: devstackCaller.String(), ID: reqID, Fingerprint: fingerprint(reqID)},
		apikeys.Spec{PrincipalKind: auth.KindService, PrincipalID: k.caller, DisplayName: k.caller + " (dev stack)",
			Roles: []string{auth.RoleService}})
	if err != nil {
		return "", fmt.Errorf("create %s: %w", k, err)
	}
	if err := replaceSecret(path, []byte(issued.Text)); err != nil {
		return "", err
	}
	return issued.Text, nil
}

// works reports whether text is an active key of k's caller, as a service, under pepper.
func (k serviceKey) works(ctx context.Context, keys *apikeys.Store, pepper auth.Pepper, text string, clk clock.Clock) (bool, error) {
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
	return rec.ActiveAt(clk.Now()) && rec.Kind == auth.KindService && rec.PrincipalID == k.caller &&
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
