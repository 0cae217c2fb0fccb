// Package procstack runs the kefu services docker-compose.yml describes as local processes, without a
// container engine: each service's binary (built as its Dockerfile builds it) with exactly the environment
// compose gives it, the compose network's host names mapped to loopback ports. The compose smoke test runs
// the README through it; the chaos suite kills and restarts its processes.
package procstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"kefu.dev/pkg/pgxutil"
	"kefu.dev/pkg/service"
)

// Service is a binary compose runs: its name (services/<name>/cmd/<name>, deploy/Dockerfile.<name>, the
// compose service and its host name) and the port it listens on in its container.
type Service struct {
	Name string
	Port int
}

// Services lists every binary, in start order (a service's peers before it, where there is no cycle).
func Services() []Service {
	return []Service{
		{"intake", 7001}, {"customer", 7002}, {"routing", 7003}, {"slatimer", 7004}, {"analytics", 7005},
		{"notify", 7006}, {"kb", 7007}, {"gateway", 8080},
	}
}

// ServiceKey is one service's API key at another, in .env once issued (see the compose file's header):
// `<Issuer> issue-service-key --id <Caller>` prints it.
type ServiceKey struct{ Issuer, Caller string }

// ServiceKeys maps each service key's variable to who issues it and who uses it.
func ServiceKeys() map[string]ServiceKey {
	return map[string]ServiceKey{
		"KEFU_CUSTOMER_API_KEY": {"customer", "intake"}, "KEFU_ROUTING_API_KEY": {"routing", "intake"},
		"KEFU_INTAKE_API_KEY":        {"intake", "routing"},
		"KEFU_NOTIFY_INTAKE_API_KEY": {"intake", "notify"}, "KEFU_NOTIFY_CUSTOMER_API_KEY": {"customer", "notify"},
		"KEFU_NOTIFY_SLATIMER_API_KEY": {"slatimer", "notify"}, "KEFU_NOTIFY_ROUTING_API_KEY": {"routing", "notify"},
		"KEFU_KB_INTAKE_API_KEY": {"intake", "kb"}, "KEFU_KB_ROUTING_API_KEY": {"routing", "kb"},
	}
}

// LoadCompose loads root/docker-compose.yml as `docker compose` does, with env as the only environment (no
// OS variables, no .env), so a developer's settings cannot change what is run.
func LoadCompose(ctx context.Context, root string, env map[string]string, profiles ...string) (*types.Project, error) {
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithEnv(list), cli.WithProfiles(profiles))
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(ctx)
}

// EnvMap flattens a service's environment; a variable without a value is "".
func EnvMap(s types.ServiceConfig) map[string]string {
	m := map[string]string{}
	for k, v := range s.Environment {
		m[k] = ""
		if v != nil {
			m[k] = *v
		}
	}
	return m
}

// BuildContext returns what the Dockerfiles' build stage copies from the context, as paths relative to
// the repository root (the stage's WORKDIR mirrors it).
func BuildContext(root string) ([]string, error) {
	df, err := os.ReadFile(filepath.Join(root, "deploy", "Dockerfile."+Services()[0].Name))
	if err != nil {
		return nil, err
	}
	build, _, _ := strings.Cut(string(df), "\nFROM gcr.io/")
	var srcs []string
	for _, m := range regexp.MustCompile(`(?m)^COPY ([^-].*) \S+$`).FindAllStringSubmatch(build, -1) {
		srcs = append(srcs, strings.Fields(m[1])...)
	}
	if len(srcs) == 0 {
		return nil, errors.New("the Dockerfile's build stage copies nothing")
	}
	return srcs, nil
}

// Build builds every service's command into dir as its Dockerfile does: static, -trimpath, from a folder
// holding only what the Dockerfile's build stage copies from the context (scratch, a temporary folder).
// extra names more packages of the workspace to build alongside (kefu-dev, for tokens).
func Build(ctx context.Context, root, scratch, dir string, extra ...string) error {
	srcs, err := BuildContext(root)
	if err != nil {
		return err
	}
	for _, rel := range srcs {
		from, to := filepath.Join(root, rel), filepath.Join(scratch, rel)
		fi, err := os.Stat(from)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if fi.IsDir() {
			if err := os.CopyFS(to, os.DirFS(from)); err != nil {
				return err
			}
			continue
		}
		b, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			return err
		}
	}
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}
	for _, s := range Services() {
		args = append(args, "./services/"+s.Name+"/cmd/"+s.Name)
	}
	args = append(args, extra...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = scratch
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOWORK=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build in the Dockerfiles' build context: %w: %s", err, out)
	}
	return nil
}

// InitDatabase creates database db on the cluster adminURL reaches and runs root/deploy/postgres/init.sql
// in it as the compose entrypoint does, except that the roles may already exist (they are cluster-wide).
// It returns db's admin URL.
func InitDatabase(ctx context.Context, root, adminURL, db string) (string, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	dbURL, err := pgxutil.WithDatabase(adminURL, db)
	if err != nil {
		return "", err
	}
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", err
	}
	defer c.Close(context.WithoutCancel(ctx))
	sql, err := os.ReadFile(filepath.Join(root, "deploy", "postgres", "init.sql"))
	if err != nil {
		return "", err
	}
	var lines []string
	for l := range strings.SplitSeq(string(sql), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "--") {
			lines = append(lines, l)
		}
	}
	for stmt := range strings.SplitSeq(strings.Join(lines, "\n"), ";") {
		stmt = strings.TrimSpace(strings.ReplaceAll(stmt, " ON DATABASE kefu ", " ON DATABASE "+db+" "))
		if stmt == "" {
			continue
		}
		_, err := c.Exec(ctx, stmt)
		var pgErr *pgconn.PgError
		if strings.HasPrefix(stmt, "CREATE ROLE ") && errors.As(err, &pgErr) && pgErr.Code == "42710" {
			continue // duplicate_object: the role exists
		}
		if err != nil {
			return "", fmt.Errorf("init.sql: %s: %w", stmt, err)
		}
	}
	return dbURL, nil
}

// Stack is the compose stack run as local processes.
type Stack struct {
	// Bin holds the built binaries; LogDir receives each process's output.
	Bin, LogDir string
	// Project is the loaded compose file.
	Project *types.Project
	// PGHost (host:port) and PGDB replace postgres:5432 and kefu in the compose URLs; NATSURL replaces
	// nats://nats:4222. PGHosts and NATSURLs, when they name a service, replace them for that service
	// alone (the chaos suite gives each service its own proxies).
	PGHost, PGDB, NATSURL string
	PGHosts, NATSURLs     map[string]string
	// Extra adds variables the compose file does not set, by service: tools' switches (the load command's
	// profiling), never configuration the compose file must carry.
	Extra map[string][]string
	// API and Metrics are each service's loopback ports for its compose port and for 9464.
	API, Metrics map[string]int
}

// PostgresAt sets PGHost and PGDB from a database URL.
func (st *Stack) PostgresAt(dbURL string) error {
	u, err := neturl.Parse(dbURL)
	if err != nil {
		return err
	}
	st.PGHost, st.PGDB = u.Host, strings.TrimPrefix(u.Path, "/")
	return nil
}

// Environ is the compose environment of service name, with the compose network's names mapped to this
// host: postgres and nats to the stack's, each kefu service's host:port to its loopback port, and the
// service's own listen addresses to apiPort and metricsPort. Nothing else is added but Extra.
func (st *Stack) Environ(name string, apiPort, metricsPort int) ([]string, error) {
	s, err := st.Project.GetService(name)
	if err != nil {
		return nil, err
	}
	pgHost, natsURL := st.PGHost, st.NATSURL
	if h, ok := st.PGHosts[name]; ok {
		pgHost = h
	}
	if u, ok := st.NATSURLs[name]; ok {
		natsURL = u
	}
	pairs := []string{"@postgres:5432/kefu?", "@" + pgHost + "/" + st.PGDB + "?", "nats://nats:4222", natsURL,
		"0.0.0.0:9464", "127.0.0.1:" + strconv.Itoa(metricsPort)}
	for _, ks := range Services() {
		if ks.Name == name {
			pairs = append(pairs, fmt.Sprintf("0.0.0.0:%d", ks.Port), "127.0.0.1:"+strconv.Itoa(apiPort))
		}
		pairs = append(pairs, fmt.Sprintf("%s:%d", ks.Name, ks.Port), "127.0.0.1:"+strconv.Itoa(st.API[ks.Name]))
	}
	r := strings.NewReplacer(pairs...)
	var env []string
	for k, v := range EnvMap(s) {
		v = r.Replace(v)
		for _, host := range []string{"0.0.0.0", "@postgres:", "nats://nats"} {
			if strings.Contains(v, host) {
				return nil, fmt.Errorf("%s: %s still names a compose host: %s", name, k, v)
			}
		}
		env = append(env, k+"="+v)
	}
	env = append(env, st.Extra[name]...)
	slices.Sort(env)
	return env, nil
}

// Command is the binary of service name with its compose environment and args.
func (st *Stack) Command(ctx context.Context, name string, apiPort, metricsPort int, args ...string) (*exec.Cmd, error) {
	env, err := st.Environ(name, apiPort, metricsPort)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(st.Bin, name), args...)
	cmd.Env = env
	cmd.WaitDelay = 10 * time.Second
	return cmd, nil
}

// IssueServiceKeys runs `<issuer> issue-service-key --id <caller>` for every service key, as the compose
// file's first start does, and returns the variables to add to the environment.
func (st *Stack) IssueServiceKeys(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for k, key := range ServiceKeys() {
		cmd, err := st.Command(ctx, key.Issuer, 0, 0, "issue-service-key", "--id", key.Caller)
		if err != nil {
			return nil, err
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("%s issue-service-key --id %s: %w: %s", key.Issuer, key.Caller, err, stderr.String())
		}
		out[k] = strings.TrimSpace(string(b))
		if out[k] == "" {
			return nil, fmt.Errorf("%s issue-service-key --id %s printed nothing", key.Issuer, key.Caller)
		}
	}
	return out, nil
}

// Proc is one running service process.
type Proc struct {
	Name, Log string
	API       int // its API port
	cmd       *exec.Cmd
	env       []string
	done      chan struct{}
	err       error
}

// Start runs service name (its entrypoint, no command, as compose does) until stopped or killed; its
// output goes to a file in LogDir.
func (st *Stack) Start(name string, apiPort, metricsPort int) (*Proc, error) {
	f, err := os.CreateTemp(st.LogDir, name+"-*.log")
	if err != nil {
		return nil, err
	}
	env, err := st.Environ(name, apiPort, metricsPort)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	cmd := exec.Command(filepath.Join(st.Bin, name))
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	pr := &Proc{Name: name, Log: f.Name(), API: apiPort, cmd: cmd, env: env, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		return nil, err
	}
	go func() {
		pr.err = cmd.Wait()
		_ = f.Close()
		close(pr.done)
	}()
	return pr, nil
}

// WaitHealthy runs the compose health check of pr's service (the binary's own `healthcheck`, with the
// same environment) until it passes, for at most its start period plus its retries.
func (st *Stack) WaitHealthy(ctx context.Context, pr *Proc) error {
	s, err := st.Project.GetService(pr.Name)
	if err != nil {
		return err
	}
	hc := s.HealthCheck
	if hc == nil || !slices.Equal(hc.Test, types.HealthCheckTest{"CMD", "/service", service.HealthcheckCommand}) {
		return fmt.Errorf("%s: the health check is not the binary's own", s.Name)
	}
	limit := time.Duration(*hc.StartPeriod) + time.Duration(*hc.Interval)*time.Duration(*hc.Retries)
	deadline := time.Now().Add(limit)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Duration(*hc.Timeout))
		cmd := exec.CommandContext(cctx, filepath.Join(st.Bin, s.Name), hc.Test[2:]...)
		cmd.Env = pr.env
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-pr.done:
			return fmt.Errorf("%s exited before it was healthy: %v\n%s", s.Name, pr.err, pr.Tail(4000))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy after %s: %s\n%s", s.Name, limit, out, pr.Tail(4000))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Pid is the process's id.
func (pr *Proc) Pid() int { return pr.cmd.Process.Pid }

// Done is closed when the process has exited.
func (pr *Proc) Done() <-chan struct{} { return pr.done }

// Stop sends SIGTERM and waits up to grace for a clean exit, as `docker compose stop` does before it
// kills.
func (pr *Proc) Stop(grace time.Duration) error {
	start := time.Now()
	if err := pr.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("%s: SIGTERM: %w", pr.Name, err)
	}
	select {
	case <-pr.done:
		if pr.err != nil {
			return fmt.Errorf("%s exited uncleanly on SIGTERM after %s: %w", pr.Name, time.Since(start).Round(time.Millisecond), pr.err)
		}
		return nil
	case <-time.After(grace):
		return fmt.Errorf("%s still running %s after SIGTERM: compose would kill it", pr.Name, grace)
	}
}

// Kill ends the process with SIGKILL (a crash: nothing runs on the way out) and waits for it.
func (pr *Proc) Kill() {
	select {
	case <-pr.done:
		return
	default:
	}
	_ = pr.cmd.Process.Kill()
	<-pr.done
}

// Tail returns the last n bytes of the process's output, for failure messages.
func (pr *Proc) Tail(n int) string {
	out, _ := os.ReadFile(pr.Log)
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return fmt.Sprintf("\n--- %s (%s):\n%s", pr.Name, pr.Log, out)
}
