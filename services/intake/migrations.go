package intake

import (
	"kefu.dev/pkg/pgxutil"
	"kefu.dev/services/intake/internal/store"
)

// Migrations returns intake's migration sets in the order they are applied (idempotency, outbox, intake),
// for tools and tests that prepare a database the way the service does.
func Migrations() []pgxutil.MigrationSet { return store.Migrations() }
