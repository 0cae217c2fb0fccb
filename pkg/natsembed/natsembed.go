// Package natsembed runs a real NATS server with JetStream inside the current process, for the dev stack and
// for tests. It is the same server binary as production (nats-server/v2), only started as a library, so
// JetStream semantics (dedupe window, acks, file storage and its fsync policy) are the real ones.
package natsembed

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// readyTimeout bounds how long Start waits for the server to accept clients; JetStream recovery of a large
// store directory happens before that, so it is generous.
const readyTimeout = 30 * time.Second

// Options configures an embedded server.
type Options struct {
	// Host is the interface to listen on; empty means 127.0.0.1 (never all interfaces by accident).
	Host string
	// Port is the client port; -1 picks a free random port, 0 means the NATS default 4222.
	Port int
	// StoreDir holds JetStream's file store. Starting again on the same folder recovers the streams.
	StoreDir string
	// SyncAlways makes JetStream fsync every write before acknowledging it. Without it, acknowledged writes
	// since the last sync can be lost in a machine crash; the outbox relay repairs such gaps.
	SyncAlways bool
	// SyncInterval is how often JetStream fsyncs when SyncAlways is off; 0 keeps the server default (2m).
	SyncInterval time.Duration
	// ServerName names the server in logs and JetStream metadata; empty lets the server pick its id.
	ServerName string
	// Logger receives the server's log lines; nil silences them.
	Logger *slog.Logger
}

// Server is a running embedded NATS server.
type Server struct {
	ns   *server.Server
	opts Options
	once sync.Once
}

// Start starts a server with JetStream enabled and returns once it accepts client connections.
func Start(o Options) (*Server, error) {
	if o.StoreDir == "" {
		return nil, errors.New("start nats: StoreDir is required")
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	opts := &server.Options{
		ServerName:   o.ServerName,
		Host:         o.Host,
		Port:         o.Port,
		JetStream:    true,
		StoreDir:     o.StoreDir,
		SyncAlways:   o.SyncAlways,
		SyncInterval: o.SyncInterval,
		// The host process owns signals (signal.NotifyContext in main); the server must not install its own.
		NoSigs: true,
		NoLog:  o.Logger == nil,
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("start nats: %w", err)
	}
	if o.Logger != nil {
		ns.SetLoggerV2(slogAdapter{l: o.Logger.With("component", "nats")}, false, false, false)
	}
	ns.Start()
	if !ns.ReadyForConnections(readyTimeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("start nats on %s: not ready within %s", net.JoinHostPort(o.Host, fmt.Sprint(o.Port)), readyTimeout)
	}
	if !ns.JetStreamEnabled() {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, errors.New("start nats: JetStream did not start")
	}
	if a, ok := ns.Addr().(*net.TCPAddr); ok {
		o.Port = a.Port
	}
	return &Server{ns: ns, opts: o}, nil
}

// ClientURL returns the nats:// URL clients connect to, with the real port when Port was -1.
func (s *Server) ClientURL() string {
	return s.ns.ClientURL()
}

// Options returns the options the server runs with, the real port in place of -1, so that
// Start(s.Options()) after Shutdown restarts it on the same port and store folder.
func (s *Server) Options() Options {
	return s.opts
}

// Shutdown stops the server and waits until it has closed its listeners and flushed its store, so a new
// server can start on the same port and folder right away. Calling it twice is safe.
func (s *Server) Shutdown() {
	s.once.Do(func() {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
	})
}

// slogAdapter turns the server's printf-style logger into slog records.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Noticef(format string, v ...any) { a.l.Info(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.l.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Errorf(format string, v ...any)  { a.l.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Debugf(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Tracef(format string, v ...any)  { a.l.Debug(fmt.Sprintf(format, v...)) }
