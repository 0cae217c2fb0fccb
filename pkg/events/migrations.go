package events

import (
	"embed"
	"io/fs"

	"kefu.dev/pkg/pgxutil"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the "events" migration set: the inbox and dead_letters tables Consume writes. A
// consuming service lists it next to its own set; the tables land in the service's schema.
func Migrations() pgxutil.MigrationSet {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		// The embedded folder is fixed at build time; a missing one is a build defect.
		panic("events: embedded migrations missing: " + err.Error())
	}
	return pgxutil.MigrationSet{Name: "events", FS: sub}
}
