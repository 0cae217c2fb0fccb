package pgxutil

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// DropDatabase drops database name if it exists, disconnecting its sessions, through adminURL (a
// superuser's connection to another database). For benchmarks and tools that own a scratch database.
func DropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return redact(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// RecreateDatabase drops database name if it exists and creates it empty.
func RecreateDatabase(ctx context.Context, adminURL, name string) error {
	if err := DropDatabase(ctx, adminURL, name); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return redact(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}
