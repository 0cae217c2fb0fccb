package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"google.golang.org/grpc/codes"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
)

// Scenario injects one fault. Fault runs while the load is on and returns when the fault has healed
// (the moment recovery is measured from).
type Scenario struct {
	Name  string
	About string
	Fault func(ctx context.Context, st *Stack, short bool) error
	// REST sends the scenario's load through the gateway instead of to intake over gRPC.
	REST bool
}

// Result is one scenario's row in the report.
type Result struct {
	Scenario string
	Verdict
	Requests int
	Errors   map[codes.Code]int
	Unacked  int
	// Recovery is from the fault's healing until intake acknowledges again and every ticket acknowledged
	// before then has all its effects (its events and each consumer's row); -1 if that never happened.
	Recovery time.Duration
	Duration time.Duration
	// FaultErr is why the fault itself failed (the scenario fails), empty when it did not.
	FaultErr string
}

// pick returns full in the full suite and short in the short one.
func pick[T any](short bool, full, shortV T) T {
	if short {
		return shortV
	}
	return full
}

// Scenarios lists the faults, in the order the suite runs them.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "nats-down", About: "NATS stopped for 30 s (short: 5 s) during steady intake, restarted on the same store",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				st.StopNATS(syscall.SIGTERM)
				sleep(ctx, pick(short, 30*time.Second, 5*time.Second))
				return st.StartNATS(ctx)
			}},
		{Name: "nats-down-3m", About: "NATS stopped for 3 min during steady intake (full suite only)",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				st.StopNATS(syscall.SIGTERM)
				sleep(ctx, pick(short, 3*time.Minute, 5*time.Second))
				return st.StartNATS(ctx)
			}},
		{Name: "nats-kill9", About: "NATS killed with SIGKILL mid-stream and restarted on the same store",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				st.StopNATS(syscall.SIGKILL)
				sleep(ctx, time.Second)
				return st.StartNATS(ctx)
			}},
		// The storm comes early: the stream then holds a few thousand tickets' events, so replaying all of
		// it under load is a storm, not an hour-long backlog that every later scenario would queue behind.
		{Name: "redelivery-storm", About: "routing's, the SLA service's and analytics' durable consumers deleted: each is recreated and every event in the stream is delivered to it again",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				return st.redeliverAll(ctx, "routing-tickets", "slatimer-tickets", "analytics-events")
			}},
		{Name: "nats-ack-lost", About: "intake's publish acknowledgements lost: nothing from NATS reaches intake for 3 s, then its connection resumes",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				return st.toxic(ctx, st.links(st.natsProxies, "intake"), `{"name":"acks","type":"timeout","stream":"downstream","attributes":{"timeout":0}}`, 3*time.Second)
			}},
		{Name: "nats-reset", About: "every service's NATS connection reset mid-publish (toxiproxy reset_peer) for 3 s",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				return st.toxic(ctx, st.links(st.natsProxies), `{"name":"reset","type":"reset_peer","stream":"upstream","attributes":{"timeout":0}}`, 3*time.Second)
			}},
		{Name: "intake-kill9", About: "intake killed with SIGKILL at random points under 32 submitters, 10 cycles (short: 3)",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				return st.killCycles(ctx, "intake", pick(short, 10, 3), 500, 2500)
			}},
		{Name: "relay-kill-before-mark", About: "intake killed with SIGKILL while its outbox relay waits on a slow Postgres (300 ms) to mark what NATS acknowledged, 3 cycles",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				links := st.links(st.pgProxies, "intake")
				for range 3 {
					w, err := addToxic(links, `{"name":"slow-marks","type":"latency","stream":"downstream","attributes":{"latency":300}}`)
					if err != nil {
						return err
					}
					sleep(ctx, time.Duration(1000+rand.IntN(1000))*time.Millisecond)
					st.KillService("intake")
					if err := removeToxic(ctx, links, w); err != nil { // the next intake starts at full speed
						return err
					}
					if err := st.StartService(ctx, "intake"); err != nil {
						return err
					}
				}
				return nil
			}},
		{Name: "relay-leader-kill", About: "two intake replicas, each with a relay; the load on the second while the first, which holds every outbox partition, is killed with SIGKILL and restarted",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				second, err := st.StartReplica(ctx, "intake")
				if err != nil {
					return err
				}
				cc, err := st.dial(second.API)
				if err != nil {
					return err
				}
				first := st.Intake()
				st.useIntake(intakev1.NewIntakeServiceClient(cc))
				sleep(ctx, 2*time.Second)
				st.KillService("intake")
				sleep(ctx, pick(short, 5*time.Second, 2*time.Second))
				if err := st.StartService(ctx, "intake"); err != nil {
					return err
				}
				st.useIntake(first)
				return second.Stop(30 * time.Second)
			}},
		{Name: "postgres-crash", About: "Postgres stopped with an immediate shutdown under load, restarted after 5 s (short: 2 s)",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				st.CrashPostgres()
				sleep(ctx, pick(short, 5*time.Second, 2*time.Second))
				return st.StartPostgres(ctx)
			}},
		{Name: "postgres-latency", About: "500 ms added to every Postgres reply to every service for 20 s (short: 5 s)",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				return st.toxic(ctx, st.links(st.pgProxies), `{"name":"slow","type":"latency","stream":"downstream","attributes":{"latency":500}}`,
					pick(short, 20*time.Second, 5*time.Second))
			}},
		{Name: "held-ticket", About: "a transaction holds a ticket's row for 60 s (short: 10 s) while staff keep trying to reclassify it",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				return st.holdTicket(ctx, pick(short, 60*time.Second, 10*time.Second))
			}},
		{Name: "routing-kill9", About: "routing (a consumer) killed with SIGKILL mid-stream, 3 cycles",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				return st.killCycles(ctx, "routing", 3, 300, 1500)
			}},
		{Name: "consumer-ack-lost", About: "routing's acks cannot reach NATS (its link drops everything it sends) for 3 s while it applies events, then it is killed with SIGKILL and restarted",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				links := st.links(st.natsProxies, "routing")
				w, err := addToxic(links, `{"name":"no-acks","type":"timeout","stream":"upstream","attributes":{"timeout":0}}`)
				if err != nil {
					return err
				}
				sleep(ctx, 3*time.Second)
				st.KillService("routing")
				if err := removeToxic(ctx, links, w); err != nil {
					return err
				}
				return st.StartService(ctx, "routing")
			}},
		{Name: "poison-event", About: "an undecodable ticket event published into the stream: each consumer parks it in its dead letters once and goes on; replayed with dead-letters replay, it fails again and stays parked",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				return st.poison(ctx)
			}},
		{Name: "analytics-shuffled", About: "every event of 300 earlier tickets (short: 100) published again in random order under the same event ids: analytics' projection of them, and what the services publish about them, do not change",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				return st.replayShuffled(ctx, pick(short, 300, 100))
			}},
		{Name: "slatimer-down", About: "the SLA service killed with SIGKILL for 2 min (short: 10 s) while warnings and breaches come due",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				return st.downFor(ctx, "slatimer", pick(short, 2*time.Minute, 10*time.Second))
			}},
		{Name: "sla-clock-jumps", About: "the SLA service's only replica has its clock jump 60 s forward, then back to 30 s behind, while timers come due",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				clk := &skewedClock{}
				st.KillService("slatimer")
				stop, err := st.startSkewedSLA(ctx, clk)
				if err != nil {
					return err
				}
				sleep(ctx, 2*time.Second)
				clk.set(time.Minute)
				sleep(ctx, pick(short, 15*time.Second, 5*time.Second))
				clk.set(-30 * time.Second)
				sleep(ctx, pick(short, 15*time.Second, 5*time.Second))
				if err := stop(); err != nil {
					return err
				}
				return st.StartService(ctx, "slatimer")
			}},
		{Name: "sla-skewed-replicas", About: "two SLA replicas, one with its clock 5 s ahead, fire the same timers",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				clk := &skewedClock{}
				clk.set(5 * time.Second)
				stop, err := st.startSkewedSLA(ctx, clk)
				if err != nil {
					return err
				}
				sleep(ctx, pick(short, 30*time.Second, 12*time.Second))
				return stop()
			}},
		{Name: "routing-two-replicas", About: "a second routing replica shares the consumers under load, then stops",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				second, err := st.StartReplica(ctx, "routing")
				if err != nil {
					return err
				}
				sleep(ctx, pick(short, 20*time.Second, 5*time.Second))
				return second.Stop(30 * time.Second)
			}},
		{Name: "gateway-intake-down", REST: true,
			About: "the load through the REST gateway while intake is killed with SIGKILL for 20 s (short: 5 s): the gateway answers 503 at once, and recovers",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				return st.downFor(ctx, "intake", pick(short, 20*time.Second, 5*time.Second))
			}},
		{Name: "customer-down", About: "the customer service killed with SIGKILL for 30 s (short: 5 s): intake cannot reach it",
			Fault: func(ctx context.Context, st *Stack, short bool) error {
				return st.downFor(ctx, "customer", pick(short, 30*time.Second, 5*time.Second))
			}},
	}
}

// toxic adds the toxic spec (toxiproxy's JSON form) to links for d, then removes it.
func (st *Stack) toxic(ctx context.Context, links []*toxiproxy.Proxy, spec string, d time.Duration) error {
	name, err := addToxic(links, spec)
	if err != nil {
		return err
	}
	sleep(ctx, d)
	return removeToxic(ctx, links, name)
}

func addToxic(links []*toxiproxy.Proxy, spec string) (string, error) {
	var name string
	for _, p := range links {
		w, err := p.Toxics.AddToxicJson(strings.NewReader(spec))
		if err != nil {
			return "", fmt.Errorf("add toxic to %s: %w", p.Name, err)
		}
		name = w.Name
	}
	return name, nil
}

func removeToxic(ctx context.Context, links []*toxiproxy.Proxy, name string) error {
	for _, p := range links {
		if err := p.Toxics.RemoveToxic(context.WithoutCancel(ctx), name); err != nil {
			return fmt.Errorf("remove toxic from %s: %w", p.Name, err)
		}
	}
	return nil
}

// links returns the proxies of the named services (all when none is named).
func (st *Stack) links(proxies map[string]*toxiproxy.Proxy, services ...string) []*toxiproxy.Proxy {
	var out []*toxiproxy.Proxy
	for name, p := range proxies {
		if len(services) == 0 || slices.Contains(services, name) {
			out = append(out, p)
		}
	}
	return out
}

// downFor kills service name with SIGKILL and starts it again after d.
func (st *Stack) downFor(ctx context.Context, name string, d time.Duration) error {
	st.KillService(name)
	sleep(ctx, d)
	return st.StartService(ctx, name)
}

// killCycles kills service name with SIGKILL n times, each after a random pause of minMS to maxMS
// milliseconds, restarting it each time.
func (st *Stack) killCycles(ctx context.Context, name string, n, minMS, maxMS int) error {
	for range n {
		sleep(ctx, time.Duration(minMS+rand.IntN(maxMS-minMS))*time.Millisecond)
		st.KillService(name)
		if err := st.StartService(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// Options configures a suite run.
type Options struct {
	// Short runs the CI version: shorter faults and load phases.
	Short bool
	// Only runs the named scenarios (all when empty).
	Only []string
	// Load is the intake during each scenario.
	Load Load
}

// Run runs the scenarios on st, one after another, each with its own tickets, and returns their rows.
func Run(ctx context.Context, st *Stack, o Options, progress func(string)) ([]Result, error) {
	rec := st.rec
	run := fmt.Sprintf("chaos%d", time.Now().Unix())
	var results []Result
	for _, sc := range Scenarios() {
		if len(o.Only) > 0 && !slices.Contains(o.Only, sc.Name) {
			continue
		}
		if o.Short && len(o.Only) == 0 && sc.Name == "nats-down-3m" {
			continue // the same as nats-down in the short suite
		}
		progress(fmt.Sprintf("scenario %s: %s", sc.Name, sc.About))
		res, err := runOne(ctx, st, rec, sc, o, run+"-"+sc.Name)
		if err != nil {
			return results, fmt.Errorf("%s: %w", sc.Name, err) // the stack cannot be checked: stop
		}
		results = append(results, res)
		progress(Table(results[len(results)-1:]))
	}
	return results, nil
}

func runOne(ctx context.Context, st *Stack, rec *Recorder, sc Scenario, o Options, prefix string) (Result, error) {
	start := time.Now()
	warm, after := pick(o.Short, 5*time.Second, 2*time.Second), pick(o.Short, 10*time.Second, 3*time.Second)
	stop := make(chan struct{})
	// Callers give up on a ticket only long after the fault: an unacknowledged ticket is an error the
	// caller saw, not a loss, but the suite wants every ticket acknowledged.
	giveUp := time.Now().Add(10 * time.Minute)
	out := NewOutcome()
	done := make(chan struct{})
	load := o.Load
	if sc.REST {
		load.REST = st.GatewayURL()
	}
	go func() { load.Run(ctx, st, prefix, stop, giveUp, out); close(done) }()
	sleep(ctx, warm)
	// A fault that fails (a service that does not come back, a check of its own that fails) fails the
	// scenario, but the tickets are still checked, and the suite goes on with the next scenario.
	faultErr := sc.Fault(ctx, st, o.Short)
	healed := time.Now()
	// Recovery: every ticket acknowledged by now has all its effects, and a new submit is acknowledged.
	wctx, cancel := context.WithTimeout(ctx, pick(o.Short, 5*time.Minute, 2*time.Minute))
	defer cancel()
	whole := make(chan time.Time, 1)
	go func() { whole <- WaitWhole(wctx, st, rec, out.AckedIDs(), prefix) }()
	sleep(ctx, after)
	close(stop)
	<-done
	wholeAt := <-whole
	v, err := Check(ctx, st, rec, out, prefix, pick(o.Short, 3*time.Minute, time.Minute))
	if err != nil {
		return Result{}, fmt.Errorf("check: %w", err)
	}
	r := Result{Scenario: sc.Name, Verdict: v, Requests: out.Requests, Errors: out.Errors, Unacked: len(out.Unacked),
		Duration: time.Since(start), Recovery: -1}
	if faultErr != nil {
		r.FaultErr = faultErr.Error()
	}
	if first := out.FirstAckAfter(healed); !first.IsZero() && !wholeAt.IsZero() {
		r.Recovery = max(first.Sub(healed), wholeAt.Sub(healed))
	}
	return r, nil
}
