package platform

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
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
// `issue-service-key --id X` subcommand). When o.Migrate is set it applies the service's migrations first,
// as a start would, so it works on a database the service never ran on: two services that each need the
// other's key can both be bootstrapped before either starts. Run it again to rotate: a principal keeps at most two active keys,
// so revoke the old one afterwards (KeyService.RevokeApiKey).
func IssueServiceKey(ctx context.Context, o Options, id string) (string, error) {
	if !serviceIDPattern.MatchString(id) {
		return "", fmt.Errorf("service id %q: want lower-case letters, digits and dashes", id)
	}
	if o.DatabaseURL == "" {
		return "", errors.New("database-url (DATABASE_URL) is required")
	}
	if o.Migrate {
		if err := Migrate(ctx, o); err != nil {
			return "", err
		}
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

// IssueServiceKeyCommand runs a service's `issue-service-key --id <caller>` subcommand: args are what
// follows the subcommand's name; issue is the service's IssueServiceKey. The key goes to out alone, for a
// secret store or an env file; logs never see it.
func IssueServiceKeyCommand(ctx context.Context, args []string, out io.Writer, issue func(ctx context.Context, id string) (string, error)) error {
	fs := flag.NewFlagSet("issue-service-key", flag.ContinueOnError)
	id := fs.String("id", "", "the calling service's name, e.g. routing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	text, err := issue(ctx, *id)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, text)
	return err
}
