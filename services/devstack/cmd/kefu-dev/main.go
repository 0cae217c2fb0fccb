// Command kefu-dev brings up the whole kefu suite in one process (see package devstack). `make run` runs it.
//
//	kefu-dev [flags]                                             run the suite
//	kefu-dev [flags] token --role R [--group G]... [--subject S] [--ttl D]
//	                                                             print a staff token from the dev issuer
//	kefu-dev group-id NAME                                       print the group id a dev token uses for NAME
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"kefu.dev/pkg/auth"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/service"
	"kefu.dev/services/devstack"
)

func main() {
	service.Main("kefu-dev", func(fs *flag.FlagSet) func(context.Context, *slog.Logger) error {
		cfg := devstack.DefaultConfig()
		fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "folder for the private Postgres cluster, the JetStream store and the dev keys")
		fs.StringVar(&cfg.DatabaseURL, "database-url", "", "admin URL of an existing Postgres (env DATABASE_URL); empty starts a private cluster")
		fs.IntVar(&cfg.PostgresPort, "postgres-port", cfg.PostgresPort, "port of the private cluster (0 = any free port)")
		fs.IntVar(&cfg.NATSPort, "nats-port", cfg.NATSPort, "embedded NATS client port (-1 = any free port)")
		fs.BoolVar(&cfg.NATSSync, "nats-sync-always", cfg.NATSSync, "fsync every JetStream write")
		fs.DurationVar(&cfg.NATSSyncEvery, "nats-sync-interval", cfg.NATSSyncEvery, "JetStream fsync interval without --nats-sync-always (0 = server default, 2m)")
		fs.StringVar(&cfg.Host, "host", cfg.Host, "interface to listen on")
		fs.IntVar(&cfg.HTTPPort, "http-port", cfg.HTTPPort, "REST gateway port")
		fs.IntVar(&cfg.IntakePort, "intake-port", cfg.IntakePort, "intake gRPC port")
		fs.IntVar(&cfg.CustomerPort, "customer-port", cfg.CustomerPort, "customer gRPC port")
		fs.IntVar(&cfg.RoutingPort, "routing-port", cfg.RoutingPort, "routing gRPC port")
		fs.IntVar(&cfg.SlatimerPort, "slatimer-port", cfg.SlatimerPort, "slatimer gRPC port")
		fs.IntVar(&cfg.AnalyticsPort, "analytics-port", cfg.AnalyticsPort, "analytics gRPC port")
		fs.IntVar(&cfg.NotifyPort, "notify-port", cfg.NotifyPort, "notify gRPC port")
		fs.IntVar(&cfg.KBPort, "kb-port", cfg.KBPort, "knowledge base gRPC port")
		return func(ctx context.Context, log *slog.Logger) error {
			switch args := fs.Args(); {
			case len(args) == 0:
			case args[0] == "token":
				return token(cfg.DataDir, args[1:])
			case args[0] == "group-id" && len(args) == 2:
				fmt.Println(devstack.GroupID(args[1]))
				return nil
			default:
				return fmt.Errorf("unknown command %q: want token or group-id NAME", strings.Join(args, " "))
			}
			// Each service logs under its own name, at the level --log-level gave the runner.
			level := slog.LevelError
			for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn} {
				if log.Enabled(ctx, l) {
					level = l
					break
				}
			}
			cfg.ServiceLogger = func(name string) *slog.Logger { return logging.New(os.Stdout, level, name) }
			return devstack.Run(ctx, cfg, log, func(a devstack.Addresses) {
				fmt.Fprint(os.Stderr, a.Banner())
			})
		}
	})
}

// token prints a staff token signed by the dev issuer in dataDir (created on first use, and trusted by a
// stack running on the same data folder). Group names become the ids devstack.GroupID derives; the mapping
// goes to stderr so the token alone is on stdout.
func token(dataDir string, args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	var roles, groups list
	fs.Var(&roles, "role", "role to grant: agent, supervisor, admin or auditor (repeatable)")
	fs.Var(&groups, "group", "the token's groups claim, read only by an intake running without routing: a name or a UUID (repeatable)")
	subject := fs.String("subject", "", "the staff member's id (default: a UUID derived from the first role)")
	ttl := fs.Duration("ttl", 8*time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(roles) == 0 {
		return errors.New("token: --role is required")
	}
	iss, err := devstack.LoadIssuer(dataDir)
	if err != nil {
		return err
	}
	ids := make([]string, len(groups))
	for i, g := range groups {
		ids[i] = devstack.GroupID(g)
		if ids[i] != g {
			fmt.Fprintf(os.Stderr, "group %s = %s\n", g, ids[i])
		}
	}
	sub := *subject
	if sub == "" {
		sub = devstack.GroupID("staff:" + roles[0])
		fmt.Fprintf(os.Stderr, "subject = %s\n", sub)
	}
	tok, err := iss.Mint(auth.StaffToken{Subject: sub, Roles: roles, Groups: ids, TTL: *ttl})
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

// list is a repeatable string flag.
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }
