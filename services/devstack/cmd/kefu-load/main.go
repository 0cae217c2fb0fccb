// Command kefu-load is the end-to-end load test (`make bench-e2e`, issue #10): every service running as
// its own process with the compose environment (the fault suite's stack: a private Postgres, NATS as its
// own process), and a steady open-loop stream of tickets, by default 500 a second for 10 minutes, over six
// channels. Each channel has a routing rule to a least-loaded group of online agents, so every ticket is
// assigned; routing, the SLA service, analytics, notify and kb consume as they do in production.
//
// It reports submit p50/p99, submit → assigned p50/p99 (the kefu.ticket.assigned event seen on the
// stream), submit → kefu.ticket.created seen (the outbox's lag), the durable consumers' largest backlog,
// and each service's resident memory after the warm-up and at the end. It fails when a ticket is not
// acknowledged or not assigned, or when a service's memory grows beyond --mem-growth.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	authv1 "kefu.dev/pkg/api/kefu/auth/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	routingv1 "kefu.dev/pkg/api/kefu/routing/v1"
	"kefu.dev/pkg/benchkit"
	"kefu.dev/pkg/events"
	"kefu.dev/services/devstack/chaos"
)

// channels spread the load: one adapter key (adapters are rate limited per key), one group and one rule
// each.
var channels = []intakev1.Channel{intakev1.Channel_CHANNEL_WEB_CHAT, intakev1.Channel_CHANNEL_APP,
	intakev1.Channel_CHANNEL_MINI_PROGRAM, intakev1.Channel_CHANNEL_WECHAT, intakev1.Channel_CHANNEL_EMAIL,
	intakev1.Channel_CHANNEL_SMS}

// agentCapacity is each agent's capacity, the most routing allows.
const agentCapacity = 200

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kefu-load:", err)
		os.Exit(1)
	}
}

type config struct {
	rate              int
	duration, warmup  time.Duration
	work, root        string
	maxInflight       int
	memGrowth         float64
	memSlackMiB       int
	agentsPerGroupMin int
	profile           string
}

func run() error {
	var c config
	flag.IntVar(&c.rate, "rate", 500, "tickets per second, open loop")
	flag.DurationVar(&c.duration, "duration", 10*time.Minute, "how long the measured load runs")
	flag.DurationVar(&c.warmup, "warmup", 20*time.Second, "unmeasured load before it")
	flag.StringVar(&c.work, "work", "", "working folder (default: a new temporary folder, removed after a pass)")
	flag.StringVar(&c.root, "root", ".", "the repository root")
	flag.IntVar(&c.maxInflight, "max-inflight", 4000, "submits in flight at most; beyond it the generator waits (and reports it)")
	flag.Float64Var(&c.memGrowth, "mem-growth", 0.5, "fail when a service's resident memory grows by more than this fraction of its size after the warm-up (plus --mem-slack)")
	flag.IntVar(&c.memSlackMiB, "mem-slack", 64, "MiB of growth allowed beside --mem-growth")
	flag.StringVar(&c.profile, "profile", "", "write each service's CPU profile (30 s in the middle of the measured load) to this folder")
	flag.Parse()
	if c.rate <= 0 || c.duration <= 0 || c.warmup < 0 || c.maxInflight <= 0 {
		return errors.New("--rate, --duration and --max-inflight must be positive, --warmup not negative")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir, keep := c.work, c.work != ""
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "kefu-load-"); err != nil {
			return err
		}
	}
	root, err := filepath.Abs(c.root)
	if err != nil {
		return err
	}
	say("starting every service in %s", dir)
	st, err := chaos.Start(ctx, root, dir, log, chaos.StartOptions{
		Services: []string{"customer", "intake", "routing", "slatimer", "analytics", "notify", "kb", "gateway"},
		Channels: channels, Pprof: c.profile != "",
		// Only the events it times, so recording costs the cores it shares with the suite less.
		RecordSubjects: []string{"kefu.ticket.created", "kefu.ticket.assigned"}})
	if err != nil {
		return fmt.Errorf("start: %w (logs in %s)", err, filepath.Join(dir, "logs"))
	}
	defer st.Close()
	err = load(ctx, st, c)
	if err == nil && !keep {
		st.Close()
		return os.RemoveAll(dir)
	}
	if err != nil {
		return fmt.Errorf("%w (logs in %s)", err, filepath.Join(dir, "logs"))
	}
	return nil
}

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kefu-load: "+format+"\n", args...)
}

// submitted is one acknowledged ticket.
type submitted struct {
	start, end time.Time
}

func load(ctx context.Context, st *chaos.Stack, c config) error {
	keys, err := setup(ctx, st, c)
	if err != nil {
		return err
	}
	intakeCC, err := st.Dial("intake")
	if err != nil {
		return err
	}
	intake := intakev1.NewIntakeServiceClient(intakeCC)
	stopSampling, err := sampleBacklog(ctx, st)
	if err != nil {
		return err
	}

	var (
		mu          sync.Mutex
		tickets     = map[string]submitted{}
		submitLat   []time.Duration
		errs        = map[codes.Code]int{}
		inflight    atomic.Int64
		saturated   atomic.Int64
		wg          sync.WaitGroup
		measureFrom = time.Now().Add(c.warmup)
	)
	end := measureFrom.Add(c.duration)
	say("load: %d tickets/s, %s warm-up, then %s measured", c.rate, c.warmup, c.duration)
	var memStart map[string]int64
	var cpuStart map[string]time.Duration
	profiled := profileLater(ctx, st, c, measureFrom)
	interval := time.Second / time.Duration(c.rate)
	next := time.Now()
	for n := 0; time.Now().Before(end) && ctx.Err() == nil; n++ {
		if memStart == nil && !time.Now().Before(measureFrom) {
			memStart, cpuStart = rss(st.Pids()), cpuTimes(st.Pids())
		}
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		if inflight.Load() >= int64(c.maxInflight) {
			saturated.Add(1)
			continue
		}
		ch := n % len(channels)
		inflight.Add(1)
		wg.Go(func() {
			defer inflight.Add(-1)
			req := &intakev1.SubmitTicketRequest{IdempotencyKey: uuid.NewString(), Channel: channels[ch],
				ReceivedTime: timestamppb.Now(), Description: "快递三天还没送到，请帮忙查一下物流"}
			start := time.Now()
			resp, err := submitRetrying(ctx, intake, keys[ch], req)
			done := time.Now()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[status.Code(err)]++
				return
			}
			if !start.Before(measureFrom) {
				tickets[resp.GetTicket().GetTicketId()] = submitted{start, done}
				submitLat = append(submitLat, done.Sub(start))
			}
		})
	}
	cpuEnd := cpuTimes(st.Pids())
	wg.Wait()
	memEnd := rss(st.Pids())
	say("load done; waiting for every measured ticket's assignment")

	// Every measured ticket must be assigned within a minute of the last submit.
	assigned, created := map[string]time.Time{}, map[string]time.Time{}
	seen := 0
	deadline := time.Now().Add(time.Minute)
	for {
		evs, n := st.Recorder().EventsFrom(seen)
		seen = n
		for _, e := range evs {
			if _, ok := tickets[e.AggregateID]; !ok {
				continue
			}
			switch e.Subject {
			case "kefu.ticket.assigned":
				if _, ok := assigned[e.AggregateID]; !ok {
					assigned[e.AggregateID] = e.At
				}
			case "kefu.ticket.created":
				created[e.AggregateID] = e.At
			}
		}
		if len(assigned) == len(tickets) || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	maxBacklog := stopSampling()

	var toAssigned, toCreated []time.Duration
	for id, s := range tickets {
		if at, ok := assigned[id]; ok {
			toAssigned = append(toAssigned, at.Sub(s.start))
		}
		if at, ok := created[id]; ok {
			toCreated = append(toCreated, max(at.Sub(s.end), 0))
		}
	}
	measured := time.Duration(0)
	if len(tickets) > 0 {
		measured = c.duration
	}
	rate := float64(len(tickets)) / measured.Seconds()

	fmt.Printf("\nkefu-load, %s, %s: %d tickets/s offered for %s after a %s warm-up, %d channels, %d agents per group\n\n",
		time.Now().UTC().Format("2006-01-02"), benchkit.Machine(), c.rate, c.duration, c.warmup, len(channels), agentsPerGroup(c))
	fmt.Println("| measure | callers | value | unit | note |")
	fmt.Println("|---|---:|---:|---|---|")
	offered := fmt.Sprintf("%d/s", c.rate)
	fmt.Printf("| end to end: tickets acknowledged per second (open loop, every service a process) | %s | %.0f | tickets/s | %s acknowledged, errors: %s; generator waits at %d in flight: %d |\n",
		offered, rate, benchkit.Thousands(len(tickets)), chaos.ErrorText(errs), c.maxInflight, saturated.Load())
	line := func(what string, ds []time.Duration, note string) {
		if len(ds) == 0 {
			fmt.Printf("| %s | %s | - | ms | none measured |\n", what, offered)
			return
		}
		slices.Sort(ds)
		fmt.Printf("| %s p50 | %s | %.2f | ms | |\n", what, offered, ms(pct(ds, 0.50)))
		fmt.Printf("| %s p99 | %s | %.2f | ms | %s |\n", what, offered, ms(pct(ds, 0.99)), note)
	}
	line("submit call", submitLat, "")
	line("submit call start → kefu.ticket.assigned seen on the stream", toAssigned,
		fmt.Sprintf("%d of %d assigned", len(toAssigned), len(tickets)))
	line("submit answered → kefu.ticket.created seen on the stream (outbox lag)", toCreated, "")
	for _, d := range slices.Sorted(maps.Keys(maxBacklog)) {
		fmt.Printf("| largest backlog of consumer %s (pending + unacknowledged, sampled every 5 s) | %s | %d | events | |\n", d, offered, maxBacklog[d])
	}
	for _, name := range slices.Sorted(maps.Keys(cpuEnd)) {
		fmt.Printf("| CPU of %s during the measured load | %s | %.2f | cores (CPU seconds per second) | |\n", name, offered,
			(cpuEnd[name]-cpuStart[name]).Seconds()/c.duration.Seconds())
	}
	var memErrs []string
	for _, name := range slices.Sorted(maps.Keys(memEnd)) {
		s, e := memStart[name], memEnd[name]
		fmt.Printf("| resident memory of %s, after the warm-up → at the end | %s | %.0f → %.0f | MiB | |\n", name, offered, mib(s), mib(e))
		if s > 0 && float64(e) > float64(s)*(1+c.memGrowth)+float64(c.memSlackMiB)*(1<<20) {
			memErrs = append(memErrs, fmt.Sprintf("%s grew from %.0f to %.0f MiB", name, mib(s), mib(e)))
		}
	}
	if err := <-profiled; err != nil {
		say("profiles: %v", err)
	} else if c.profile != "" {
		say("CPU profiles in %s (go tool pprof -top <file>)", c.profile)
	}
	var problems []string
	if len(toAssigned) < len(tickets) {
		problems = append(problems, fmt.Sprintf("%d of %d tickets not assigned within a minute of the last submit", len(tickets)-len(toAssigned), len(tickets)))
	}
	if len(errs) > 0 {
		problems = append(problems, "submits failed: "+chaos.ErrorText(errs))
	}
	problems = append(problems, memErrs...)
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// submitRetrying submits with the channel's adapter key, retrying (same idempotency key) what a busy
// server answers with for up to 30 s.
func submitRetrying(ctx context.Context, c intakev1.IntakeServiceClient, key string, req *intakev1.SubmitTicketRequest) (*intakev1.SubmitTicketResponse, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(bearerCtx(ctx, key), 10*time.Second)
		resp, err := c.SubmitTicket(cctx, req)
		cancel()
		switch status.Code(err) {
		case codes.OK:
			return resp, nil
		case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded, codes.Aborted:
			if time.Now().After(deadline) {
				return nil, err
			}
			time.Sleep(100 * time.Millisecond)
		default:
			return nil, err
		}
	}
}

func agentsPerGroup(c config) int {
	tickets := float64(c.rate) * (c.duration + c.warmup + time.Minute).Seconds()
	return int(tickets/float64(len(channels))/agentCapacity) + 1
}

// setup creates an adapter key per channel, and per channel a least-loaded group of online agents with a
// rule at the top pointing the channel's tickets at it. Admin calls are rate limited per principal, so the
// work is spread over several admins. It returns the keys by channel index.
func setup(ctx context.Context, st *chaos.Stack, c config) ([]string, error) {
	intakeCC, err := st.Dial("intake")
	if err != nil {
		return nil, err
	}
	routingCC, err := st.Dial("routing")
	if err != nil {
		return nil, err
	}
	keySvc, routing := authv1.NewKeyServiceClient(intakeCC), routingv1.NewRoutingServiceClient(routingCC)
	n := agentsPerGroup(c)
	say("setup: %d channels, a group of %d agents (capacity %d) each", len(channels), n, agentCapacity)
	keys := make([]string, len(channels))
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for i, ch := range channels {
		wg.Go(func() {
			actx, err := st.MintAdminContext(ctx, "load-admin-"+strconv.Itoa(i))
			if err == nil {
				err = setupChannel(actx, keySvc, routing, ch, i, n, &keys[i])
			}
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", ch, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return keys, errors.Join(errs...)
}

func setupChannel(ctx context.Context, keySvc authv1.KeyServiceClient, routing routingv1.RoutingServiceClient, ch intakev1.Channel, i, n int, key *string) error {
	name := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(ch.String(), "CHANNEL_")), "_", "-")
	k, err := retry(ctx, func() (*authv1.CreateApiKeyResponse, error) {
		return keySvc.CreateApiKey(ctx, &authv1.CreateApiKeyRequest{RequestId: "load-" + name, PrincipalKind: authv1.PrincipalKind_PRINCIPAL_KIND_ADAPTER,
			PrincipalId: "load-" + name, DisplayName: "load " + name, AllowedChannels: []intakev1.Channel{ch}})
	})
	if err != nil {
		return fmt.Errorf("adapter key: %w", err)
	}
	*key = k.GetSecret()
	g, err := retry(ctx, func() (*routingv1.CreateGroupResponse, error) {
		return routing.CreateGroup(ctx, &routingv1.CreateGroupRequest{Group: &routingv1.Group{
			Code: "load_" + strings.ReplaceAll(name, "-", "_"), DisplayName: "load " + name, Strategy: routingv1.Strategy_STRATEGY_LEAST_LOADED}})
	})
	if err != nil {
		return fmt.Errorf("group: %w", err)
	}
	group := g.GetGroup().GetGroupId()
	for a := range n {
		id := uuid.NewString()
		if _, err := retry(ctx, func() (*routingv1.CreateAgentResponse, error) {
			return routing.CreateAgent(ctx, &routingv1.CreateAgentRequest{Agent: &routingv1.Agent{AgentId: id,
				DisplayName: fmt.Sprintf("load %s agent %d", name, a+1), GroupIds: []string{group}, Capacity: agentCapacity}})
		}); err != nil {
			return fmt.Errorf("agent: %w", err)
		}
		if _, err := retry(ctx, func() (*routingv1.SetPresenceResponse, error) {
			return routing.SetPresence(ctx, &routingv1.SetPresenceRequest{AgentId: id, Presence: routingv1.Presence_PRESENCE_ONLINE})
		}); err != nil {
			return fmt.Errorf("presence: %w", err)
		}
	}
	_, err = retry(ctx, func() (*routingv1.CreateRoutingRuleResponse, error) {
		return routing.CreateRoutingRule(ctx, &routingv1.CreateRoutingRuleRequest{Rule: &routingv1.RoutingRule{
			Position: int32(i + 1), DisplayName: "load: " + name, Enabled: true, TargetGroupId: group,
			Condition: &routingv1.RuleCondition{Channels: []intakev1.Channel{ch}}}})
	})
	return err
}

// retry calls f until it succeeds, waiting out rate limits (at most a minute).
func retry[T any](ctx context.Context, f func() (T, error)) (T, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		v, err := f()
		if err == nil || status.Code(err) != codes.ResourceExhausted || time.Now().After(deadline) || ctx.Err() != nil {
			return v, err
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// sampleBacklog samples every durable consumer's backlog every 5 s until the returned stop, which returns
// each consumer's largest.
func sampleBacklog(ctx context.Context, st *chaos.Stack) (func() map[string]int64, error) {
	js, closeJS, err := st.JetStream()
	if err != nil {
		return nil, err
	}
	largest := map[string]int64{}
	var mu sync.Mutex
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s, err := js.Stream(ctx, events.StreamName)
			if err != nil {
				continue
			}
			names := s.ConsumerNames(ctx)
			for name := range names.Name() {
				c, err := s.Consumer(ctx, name)
				if err != nil {
					continue
				}
				info, err := c.Info(ctx)
				if err != nil {
					continue
				}
				mu.Lock()
				largest[name] = max(largest[name], int64(info.NumPending)+int64(info.NumAckPending))
				mu.Unlock()
			}
		}
	}()
	stop := func() map[string]int64 {
		close(done)
		<-stopped
		closeJS()
		mu.Lock()
		defer mu.Unlock()
		// Ordered (ephemeral) consumers, such as the recorder's, have generated names: durables only.
		out := map[string]int64{}
		for k, v := range largest {
			if strings.Contains(k, "-") && !strings.HasPrefix(k, "OC_") {
				out[k] = v
			}
		}
		return out
	}
	return stop, nil
}

// rss reads each process's resident set size in bytes.
func rss(pids map[string]int) map[string]int64 {
	out := map[string]int64{}
	for name, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for l := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				out[name] = kb << 10
			}
		}
	}
	return out
}

func pct(sorted []time.Duration, p float64) time.Duration {
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func bearerCtx(ctx context.Context, key string) context.Context { return chaos.WithBearer(ctx, key) }
