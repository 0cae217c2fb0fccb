package platform

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/auth/apikeys"
	"kefu.dev/pkg/clock"
	"kefu.dev/pkg/config"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/pkg/pgxutil"
)

// IssueServiceKey issues an API key at the service o describes (in its own api_keys table, o.Schema,
// through o.DatabaseURL, hashed with o.Auth's pepper) for another kefu service: principal service:<id>,
// role service. It returns the key's text, which is shown nowhere else. It is the bootstrap of one
// service's key at another in a fresh install, before any admin could call KeyService (each service's
// `issue-service-key --id X` subcommand). Run it again to rotate: a principal keeps at most two active keys,
// so revoke the old one afterwards (KeyService.RevokeApiKey).
func IssueServiceKey(ctx context.Context, o Options, id string) (string, error) {
	if !serviceIDPattern.MatchString(id) {
		return "", fmt.Errorf("service id %q: want lower-case letters, digits and dashes", id)
	}
	if o.DatabaseURL == "" {
		return "", errors.New("database-url (DATABASE_URL) is required")
	}
	pepper, err := o.Auth.Pepper()
	if err != nil {
		return "", fmt.Errorf("api-key-pepper (%s): %w", config.EnvName("api-key-pepper"), err)
	}
	pool, err := pgxutil.Open(ctx, o.DatabaseURL, pgxutil.Options{Schema: o.Schema, AppName: o.Name + "-issue-key", MaxConns: 2})
	if err != nil {
		return "", err
	}
	defer pool.Close()
	reqID := rand.Text()
	fp, err := idempotency.Fingerprint(wrapperspb.String(reqID))
	if err != nil {
		return "", err
	}
	issued, err := apikeys.New(pool, pepper, clock.Real{}, rand.Reader).Create(ctx,
		apikeys.Request{Caller: "operator:" + o.Name + "-issue-service-key", ID: reqID, Fingerprint: fp},
		apikeys.Spec{PrincipalKind: auth.KindService, PrincipalID: id, DisplayName: id + " (issued at the command line)",
			Roles: []string{auth.RoleService}})
	if err != nil {
		return "", fmt.Errorf("issue %s's key: %w", id, err)
	}
	return issued.Text, nil
}

var serviceIDPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
