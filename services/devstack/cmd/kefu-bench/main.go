// Command kefu-bench measures SubmitTicket end to end on this machine: over gRPC and over REST at several
// caller counts, the time from submit to the kefu.ticket.created event reaching a JetStream consumer, the
// floor that Postgres itself sets (the same rows inserted in one transaction straight through pgx), and the
// cost of fsyncing every JetStream write. Its customer-find mode measures FindCustomers by phone over a
// bulk-loaded population of customers (--customers) against the raw Postgres lookup; its routing-assign
// mode the time from a ticket's submit to its assignment to an agent under a steady open-loop load
// (--route-rate, --route-agents). `make bench` runs it
// against a private cluster; it sends traffic only to loopback and every phase stops by itself after
// --duration.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"kefu.dev/pkg/benchkit"
	"kefu.dev/pkg/logging"
	"kefu.dev/services/customer"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "kefu-bench: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	adminURL string
	duration time.Duration
	callers  []int
	out      string
	modes    string
	cpuprof  string
	memprof  string
	logLevel string
	dbConns  int
	rounds   int
	// customer-find mode
	customers   int
	findCallers []int
	// routing-assign mode
	routeRate   int
	routeAgents int
}

// intakeModes are the modes that run the intake stack (bench); customer-find runs its own (benchFind).
var intakeModes = []string{"floor", "noauth", "grpc", "rest", "sync"}

// want reports whether --modes names mode m.
func (o options) want(m string) bool {
	return slices.Contains(strings.Split(o.modes, ","), m)
}

func run() error {
	var o options
	var callers, findCallers string
	fs := flag.NewFlagSet("kefu-bench", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each phase runs")
	fs.StringVar(&callers, "callers", "1,8,32", "comma-separated concurrent caller counts")
	fs.StringVar(&o.out, "out", "", "append the results to this markdown file (e.g. docs/benchmarks.md)")
	fs.StringVar(&o.modes, "modes", "floor,noauth,grpc,rest,sync,customer-find,routing-assign", "phases to run: floor (raw pgx), noauth (two standby replicas, without and with the security layer: the authentication share), grpc, rest, sync (gRPC with NATS fsync on every write), customer-find (FindCustomers by phone over --customers loaded customers, and its raw Postgres floor), routing-assign (intake and routing: submit to kefu.ticket.assigned at --route-rate tickets/s, open loop, for --duration, with --route-agents agents)")
	fs.StringVar(&o.cpuprof, "cpuprofile", "", "write a CPU profile of the gRPC phase at the highest caller count to this file (of the REST phase when --modes has no grpc, of the FindCustomers phase when it has neither, of routing-assign's last round, with a sample of Postgres's wait events, when it has none of those)")
	fs.IntVar(&o.customers, "customers", 1_000_000, "customer-find: how many synthetic customers to load (the load takes most of the mode's time)")
	fs.StringVar(&findCallers, "find-callers", "1,8", "customer-find: comma-separated concurrent caller counts")
	fs.IntVar(&o.routeRate, "route-rate", 200, "routing-assign: tickets submitted a second (open loop: one every 1/rate s, whatever the answers take)")
	fs.IntVar(&o.routeAgents, "route-agents", 50, "routing-assign: online agents in the group, capacity 200 each; --route-rate × --duration must stay below their slots")
	fs.StringVar(&o.memprof, "memprofile", "", "write an allocation profile of the whole run to this file")
	fs.StringVar(&o.logLevel, "log-level", "error", "log level of the services under test")
	fs.IntVar(&o.rounds, "rounds", 5, "how many times the phases are repeated; the report gives each measure's median")
	fs.IntVar(&o.dbConns, "db-max-conns", 0, "intake's Postgres pool size (0: intake's default)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	var err error
	if o.callers, err = parseCounts("callers", callers); err != nil {
		return err
	}
	if o.findCallers, err = parseCounts("find-callers", findCallers); err != nil {
		return err
	}
	if o.customers < 1 || o.customers >= customer.MaxSynthetic {
		return fmt.Errorf("--customers: must be between 1 and %d", customer.MaxSynthetic-1)
	}
	if o.routeRate < 1 || o.routeRate > 100_000 {
		return fmt.Errorf("--route-rate: must be between 1 and 100000")
	}
	if o.routeAgents < 1 || o.routeAgents > 10_000 {
		return fmt.Errorf("--route-agents: must be between 1 and 10000")
	}
	if o.want("routing-assign") && float64(o.routeRate)*o.duration.Seconds() >= float64(o.routeAgents*agentCapacity) {
		return fmt.Errorf("--route-rate × --duration (%.0f tickets a round) must stay below the agents' %d slots (--route-agents × %d)",
			float64(o.routeRate)*o.duration.Seconds(), o.routeAgents*agentCapacity, agentCapacity)
	}
	if o.rounds < 1 {
		return fmt.Errorf("--rounds: must be at least 1")
	}
	o.adminURL = os.Getenv("DATABASE_URL")
	if o.adminURL == "" {
		return fmt.Errorf("DATABASE_URL is not set: run `make bench`, which starts a private cluster")
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := logging.New(os.Stderr, lv, "kefu-bench")

	rep := &report{Machine: benchkit.Machine(), Date: time.Now().UTC().Format("2006-01-02"), Duration: o.duration, Rounds: o.rounds}
	if slices.ContainsFunc(intakeModes, o.want) {
		if err := bench(ctx, o, log, rep); err != nil {
			return err
		}
	}
	if o.want("customer-find") {
		if err := benchFind(ctx, o, log, rep); err != nil {
			return fmt.Errorf("customer-find: %w", err)
		}
	}
	if o.want("routing-assign") {
		if err := benchRoute(ctx, o, log, rep); err != nil {
			return fmt.Errorf("routing-assign: %w", err)
		}
	}
	if o.memprof != "" {
		f, err := os.Create(o.memprof)
		if err != nil {
			return err
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			f.Close()
			return err
		}
		f.Close()
	}
	text := rep.Markdown()
	fmt.Print(text)
	if o.out != "" {
		f, err := os.OpenFile(o.out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := f.WriteString("\n" + text); err != nil {
			return err
		}
	}
	return nil
}

// parseCounts reads a comma-separated list of caller counts for flag.
func parseCounts(flag, list string) ([]int, error) {
	var out []int
	for _, c := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--%s: bad count %q", flag, c)
		}
		out = append(out, n)
	}
	return out, nil
}
