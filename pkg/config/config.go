// Package config binds a service's flags to environment variables: a flag given on the command line beats
// its variable, which beats the default. Variables are KEFU_ plus the flag name in upper snake case
// (--grpc-addr ↔ KEFU_GRPC_ADDR), except the few standard names passed as overrides (DATABASE_URL,
// NATS_URL). Only main reads the environment: it passes os.Getenv in.
package config

import (
	"flag"
	"fmt"
	"strings"
)

// EnvName returns the variable bound to a flag name.
func EnvName(flagName string) string {
	return "KEFU_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args into fs, then fills every flag not given on the command line from its variable.
// overrides maps flag names to variable names that do not follow the KEFU_ rule. A bad value names the
// variable.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string, overrides map[string]string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		name := EnvName(f.Name)
		if o, ok := overrides[f.Name]; ok {
			name = o
		}
		if v := getenv(name); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", name, e)
			}
		}
	})
	return err
}

// Redact hides the password of a URL-ish secret for start-up logs.
func Redact(url string) string {
	at := strings.LastIndex(url, "@")
	scheme := strings.Index(url, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return url
	}
	userinfo := url[scheme+3 : at]
	if user, _, ok := strings.Cut(userinfo, ":"); ok {
		return url[:scheme+3] + user + ":xxxxx" + url[at:]
	}
	return url
}
