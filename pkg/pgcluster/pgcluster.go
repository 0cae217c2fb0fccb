// Package pgcluster runs a private PostgreSQL cluster from the binaries installed on the machine, so that
// tests and the dev stack need no Postgres set up beforehand. It initialises a data folder on first use,
// starts the postmaster on a loopback port, waits until it accepts connections and stops it again.
//
// initdb and postgres refuse to run as root. When the calling process is root, the cluster runs as the
// `postgres` OS user and the data folder is handed to that user; see [Start] for what that means for the
// folder's parents.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options configures a cluster.
type Options struct {
	// Dir is the data directory. It is created (mode 0700) when missing and initialised with initdb when it
	// holds no PG_VERSION file; an existing cluster is reused as it is.
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port int
	// Logger receives start/stop messages; nil discards them. The server's own log goes to Dir/postgres.log.
	Logger *slog.Logger
	// BinDir holds initdb and postgres. Empty means the newest /usr/lib/postgresql/<version>/bin, else PATH.
	BinDir string
	// Settings are extra server settings (name → value) passed as `-c name=value`; they override the
	// defaults below.
	Settings map[string]string
	// StartTimeout bounds the wait for the server to accept connections; 0 means 60 s.
	StartTimeout time.Duration
}

// defaultSettings suit development and tests: loopback only, enough connections for many parallel test
// pools, modest memory. fsync stays on, so a benchmark against this cluster measures real commits.
// autovacuum looks every 10 s rather than every minute: these clusters start empty and a benchmark fills
// them at once, and until a table is first analysed the planner takes it for tiny, so a cached plan may
// scan it whole on every key lookup (docs/operations.md, "A fresh database").
var defaultSettings = map[string]string{
	"listen_addresses":          "127.0.0.1",
	"max_connections":           "300",
	"shared_buffers":            "128MB",
	"max_locks_per_transaction": "256",
	"logging_collector":         "off",
	"log_min_messages":          "warning",
	"log_min_error_statement":   "panic",
	"max_wal_size":              "1GB",
	"autovacuum_naptime":        "10s",
	"timezone":                  "UTC",
	"log_timezone":              "UTC",
}

// ErrInUse is returned (wrapped) by [Start] when a live postmaster already serves Options.Dir.
var ErrInUse = errors.New("data dir in use")

// Cluster is a running postmaster started by [Start].
type Cluster struct {
	dir    string
	port   int
	logger *slog.Logger
	proc   *os.Process
	done   chan struct{} // closed when the postmaster has exited
	err    error         // the postmaster's exit status, valid after done is closed
}

// Start initialises (if needed) and starts a cluster in o.Dir, returning once it accepts connections.
//
// When the process runs as root, initdb and postgres run as the `postgres` OS user: o.Dir is chowned to it
// and every parent of o.Dir that user cannot enter gets the search (x) bit for others added, because a
// root-owned 0700 folder such as t.TempDir()'s parent would otherwise hide the data folder from it. Only
// the search bit is added; listing stays forbidden.
//
// A postmaster.pid left by a dead server is removed; a live server on the same folder is an error.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if o.Dir == "" {
		return nil, errors.New("pgcluster: Options.Dir is required")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolve data dir: %w", err)
	}
	bin, err := findBinDir(o.BinDir)
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	if err := prepareDir(dir, cred, logger); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := initdb(ctx, bin, dir, cred, logger); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("check data dir: %w", err)
	}
	if err := clearStalePID(ctx, dir, logger); err != nil {
		return nil, err
	}
	sockDir := filepath.Join(dir, "sockets")
	if err := os.MkdirAll(sockDir, 0o700); err != nil {
		return nil, fmt.Errorf("create socket dir: %w", err)
	}
	if err := chown(sockDir, cred); err != nil {
		return nil, err
	}

	// A picked port can be taken between picking and binding; try a few when we chose it.
	attempts := 1
	if o.Port == 0 {
		attempts = 3
	}
	var lastErr error
	for range attempts {
		port := o.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return nil, err
			}
		}
		c, err := start(ctx, bin, dir, sockDir, port, cred, o, logger)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// AdminURL is the superuser URL of database db over TCP.
func (c *Cluster) AdminURL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

// Port is the TCP port the cluster listens on.
func (c *Cluster) Port() int { return c.port }

// Dir is the absolute data directory.
func (c *Cluster) Dir() string { return c.dir }

// Done is closed when the postmaster exits, whether through Stop or not.
func (c *Cluster) Done() <-chan struct{} { return c.done }

// Stop asks the postmaster for a fast shutdown (SIGINT: sessions are disconnected, then a shutdown
// checkpoint) and waits for it to exit. When ctx ends first it escalates to an immediate shutdown
// (SIGQUIT) and then SIGKILL, so Stop never leaves a server behind. Stopping a stopped cluster is a no-op.
func (c *Cluster) Stop(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	default:
	}
	c.logger.InfoContext(ctx, "stopping postgres", slog.Int("pid", c.proc.Pid))
	if err := c.proc.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal postgres: %w", err)
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
	}
	_ = c.proc.Signal(syscall.SIGQUIT)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.proc.Kill()
		<-c.done
	}
	return fmt.Errorf("stop postgres: %w", ctx.Err())
}

// Crash stops the postmaster with an immediate shutdown (SIGQUIT: every backend quits at once, no
// checkpoint; the next start replays the WAL, as after a power cut) and waits for it to exit. The fault
// suite uses it; Stop is the orderly way.
func (c *Cluster) Crash() {
	select {
	case <-c.done:
		return
	default:
	}
	c.logger.Info("crashing postgres (immediate shutdown)", slog.Int("pid", c.proc.Pid))
	_ = c.proc.Signal(syscall.SIGQUIT)
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		_ = c.proc.Kill()
		<-c.done
	}
}

func start(ctx context.Context, bin, dir, sockDir string, port int, cred *syscall.Credential, o Options, logger *slog.Logger) (*Cluster, error) {
	settings := maps.Clone(defaultSettings)
	settings["port"] = strconv.Itoa(port)
	// A unix socket path is limited to 107 bytes; a deep data folder simply gets no socket (TCP is the
	// documented way in).
	if len(filepath.Join(sockDir, ".s.PGSQL."+strconv.Itoa(port))) < 100 {
		settings["unix_socket_directories"] = sockDir
	} else {
		settings["unix_socket_directories"] = ""
	}
	maps.Copy(settings, o.Settings)
	args := []string{"-D", dir}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		args = append(args, "-c", k+"="+settings[k])
	}

	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open postgres log: %w", err)
	}
	logStart, _ := logFile.Seek(0, io.SeekEnd)

	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// Own process group: a Ctrl-C on the terminal reaches our owner, which stops the cluster after
		// its users, rather than the server going away under running tests.
		Setpgid: true,
		// If the owner dies without Stop, the kernel asks the postmaster for a fast shutdown instead of
		// leaving an orphan holding the port and the folder.
		Pdeathsig: syscall.SIGINT,
	}

	c := &Cluster{dir: dir, port: port, logger: logger, done: make(chan struct{})}
	started := make(chan error, 1)
	// Pdeathsig fires when the *thread* that forked the child exits, so the fork happens on a goroutine
	// that keeps its OS thread locked for the postmaster's whole life.
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer logFile.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		c.proc = cmd.Process
		started <- nil
		c.err = cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	logger.InfoContext(ctx, "starting postgres", slog.String("dir", dir), slog.Int("port", port), slog.Int("pid", c.proc.Pid))

	timeout := o.StartTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	if err := c.waitReady(ctx, timeout); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = c.Stop(stopCtx)
		return nil, fmt.Errorf("%w\n%s", err, tailFrom(logPath, logStart))
	}
	logger.InfoContext(ctx, "postgres ready", slog.String("url", c.AdminURL("postgres")))
	return c, nil
}

// waitReady pings until the server answers, the postmaster exits, or the deadline passes.
func (c *Cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		pingCtx, pingCancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(pingCtx, c.AdminURL("postgres"))
		if err == nil {
			err = conn.Ping(pingCtx)
			_ = conn.Close(pingCtx)
		}
		pingCancel()
		if err == nil {
			return nil
		}
		lastErr = err
		select {
		case <-c.done:
			return fmt.Errorf("postgres exited during start-up (%v)", c.err)
		case <-ctx.Done():
			return fmt.Errorf("postgres not ready after %s: %w", timeout, lastErr)
		case <-tick.C:
		}
	}
}

func initdb(ctx context.Context, bin, dir string, cred *syscall.Credential, logger *slog.Logger) error {
	logger.InfoContext(ctx, "initialising postgres cluster", slog.String("dir", dir))
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", dir, "--encoding=UTF8", "--locale=C.UTF-8", "--auth=trust", "-U", "postgres", "--no-instructions")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initdb %s: %w\n%s", dir, err, out.String())
	}
	return nil
}

// clearStalePID handles a postmaster.pid left behind. Postgres itself ignores a lock file whose PID is
// dead, but refuses when the PID has been reused by another process, so such a file is removed. A live
// postmaster on the folder is an error: it belongs to someone else (another test run), and stopping it would
// pull the database from under them. Orphans are not expected, because the postmaster gets SIGINT when
// its owner dies (Pdeathsig).
func clearStalePID(ctx context.Context, dir string, logger *slog.Logger) error {
	pidFile := filepath.Join(dir, "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read postmaster.pid: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		logger.WarnContext(ctx, "removing unreadable postmaster.pid", slog.String("file", pidFile))
		return os.Remove(pidFile)
	}
	if !isPostmasterOf(pid, dir) {
		logger.InfoContext(ctx, "removing stale postmaster.pid", slog.Int("pid", pid))
		if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove stale postmaster.pid: %w", err)
		}
		return nil
	}
	port := ""
	if lines := strings.Split(string(b), "\n"); len(lines) > 3 {
		port = strings.TrimSpace(lines[3])
	}
	return fmt.Errorf("%w: a postgres server (pid %d, port %s) is running on %s: stop it or use another data dir", ErrInUse, pid, port, dir)
}

// isPostmasterOf reports whether pid is a live postgres process whose command line names dir.
func isPostmasterOf(pid int, dir string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	if len(args) == 0 || !strings.Contains(filepath.Base(args[0]), "postgres") {
		return false
	}
	return slices.Contains(args, dir)
}

// runAs returns the credential to run the server with: nil (the current user) unless we are root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a postgres OS user: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse uid of postgres: %w", err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("parse gid of postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// prepareDir creates dir, hands it to the server's user and makes its parents traversable for that user.
func prepareDir(dir string, cred *syscall.Credential, logger *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if cred == nil {
		return nil
	}
	if err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(cred.Uid), int(cred.Gid))
	}); err != nil {
		return fmt.Errorf("chown data dir to postgres: %w", err)
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if !canTraverse(fi, cred) {
			logger.Info("making parent of data dir traversable for postgres", slog.String("dir", p))
			if err := os.Chmod(p, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("data dir parent %s is not traversable by postgres: %w", p, err)
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func canTraverse(fi fs.FileInfo, cred *syscall.Credential) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := fi.Mode().Perm()
	switch {
	case st.Uid == cred.Uid:
		return perm&0o100 != 0
	case st.Gid == cred.Gid:
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

func chown(path string, cred *syscall.Credential) error {
	if cred == nil {
		return nil
	}
	if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", path, err)
	}
	return nil
}

// findBinDir returns dir if given, else the newest /usr/lib/postgresql/<major>/bin, else the folder of
// `postgres` on PATH.
func findBinDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	entries, _ := os.ReadDir("/usr/lib/postgresql")
	best, bestVer := "", -1
	for _, e := range entries {
		v, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		bin := filepath.Join("/usr/lib/postgresql", e.Name(), "bin")
		if _, err := os.Stat(filepath.Join(bin, "postgres")); err == nil && v > bestVer {
			best, bestVer = bin, v
		}
	}
	if best != "" {
		return best, nil
	}
	p, err := exec.LookPath("postgres")
	if err != nil {
		return "", errors.New("no PostgreSQL binaries found in /usr/lib/postgresql/*/bin or on PATH; install postgresql or set BinDir")
	}
	return filepath.Dir(p), nil
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailFrom returns the server log written since offset (at most the last 4 KiB), for start-up errors.
func tailFrom(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	b = b[offset:]
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return "postgres log:\n" + string(b)
}
