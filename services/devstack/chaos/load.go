package chaos

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
)

// Load is steady ticket intake: Submitters callers, each submitting one ticket every Interval. A caller
// retries a failed submit with the same idempotency key, as an adapter does, until it is acknowledged or
// the load's give-up time passes; every attempt is recorded.
type Load struct {
	Submitters int
	Interval   time.Duration
	// CallTimeout bounds one attempt.
	CallTimeout time.Duration
	// REST, when set, is the gateway's base URL: tickets go through POST /v1/tickets instead of gRPC.
	REST string
}

// Outcome is what the callers saw.
type Outcome struct {
	mu sync.Mutex
	// Requests counts attempts; Errors counts failed attempts by gRPC code.
	Requests int
	Errors   map[codes.Code]int
	// Acked maps each acknowledged idempotency key to the ticket id of its first acknowledgement; Conflicts
	// counts keys acknowledged again with another ticket id (a duplicate the caller can see).
	Acked     map[string]string
	Conflicts int
	// AckedAt is when each acknowledged ticket (by id) was first acknowledged.
	AckedAt map[string]time.Time
	// Unacked lists the keys never acknowledged (the caller gave up: they may or may not exist).
	Unacked []string
	// okTimes are the times of acknowledgements, for the recovery time.
	okTimes []time.Time
}

func (o *Outcome) record(key, ticket string, err error, at time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.Requests++
	if err != nil {
		o.Errors[status.Code(err)]++
		return
	}
	if prev, ok := o.Acked[key]; ok && prev != ticket {
		o.Conflicts++
		return
	}
	if _, ok := o.Acked[key]; !ok {
		o.AckedAt[ticket] = at
	}
	o.Acked[key] = ticket
	o.okTimes = append(o.okTimes, at)
}

// AckedIDs returns the tickets acknowledged so far.
func (o *Outcome) AckedIDs() map[string]bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	ids := make(map[string]bool, len(o.Acked))
	for _, id := range o.Acked {
		ids[id] = true
	}
	return ids
}

// FirstAckAfter returns the first acknowledgement at or after t (zero if none).
func (o *Outcome) FirstAckAfter(t time.Time) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	var first time.Time
	for _, at := range o.okTimes {
		if !at.Before(t) && (first.IsZero() || at.Before(first)) {
			first = at
		}
	}
	return first
}

// Run submits until stop is closed, then finishes each caller's ticket in hand (retrying until giveUp),
// and returns what happened. prefix makes the idempotency keys (and the tickets' subjects) unique to a run.
func (l Load) Run(ctx context.Context, st *Stack, prefix string, stop <-chan struct{}, giveUp time.Time, out *Outcome) {
	actx := bearer(ctx, st.AdapterKey)
	var wg sync.WaitGroup
	var unackedMu sync.Mutex
	for w := range l.Submitters {
		wg.Go(func() {
			// Callers start spread over one interval, so the load is steady rather than in waves.
			next := time.Now().Add(l.Interval * time.Duration(w) / time.Duration(l.Submitters))
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				case <-time.After(time.Until(next)):
				}
				next = next.Add(l.Interval)
				key := fmt.Sprintf("%s-%d-%d", prefix, w, n)
				if !l.submit(actx, st, key, out, giveUp) {
					unackedMu.Lock()
					out.Unacked = append(out.Unacked, key)
					unackedMu.Unlock()
				}
			}
		})
	}
	wg.Wait()
}

// NewOutcome returns an empty outcome for Load.Run to fill.
func NewOutcome() *Outcome {
	return &Outcome{Errors: map[codes.Code]int{}, Acked: map[string]string{}, AckedAt: map[string]time.Time{}}
}

// submit sends one ticket until it is acknowledged (true) or giveUp passes.
func (l Load) submit(ctx context.Context, st *Stack, key string, out *Outcome, giveUp time.Time) bool {
	req := &intakev1.SubmitTicketRequest{IdempotencyKey: key, Channel: intakev1.Channel_CHANNEL_WEB_CHAT,
		ReceivedTime: timestamppb.Now(), Subject: key, Description: "快递三天还没送到，请帮忙查一下物流"}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, l.CallTimeout)
		var id string
		var err error
		if l.REST != "" {
			id, err = submitREST(cctx, l.REST, st.AdapterKey, req)
		} else {
			var resp *intakev1.SubmitTicketResponse
			resp, err = st.Intake().SubmitTicket(cctx, req)
			id = resp.GetTicket().GetTicketId()
		}
		cancel()
		out.record(key, id, err, time.Now())
		if err == nil {
			return true
		}
		if time.Now().After(giveUp) {
			return false
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
	return false
}

// submitREST sends req through the gateway and returns the ticket id; a failure is a gRPC status with
// the code the HTTP status stands for (503 Unavailable, 504 DeadlineExceeded, 429 ResourceExhausted...).
func submitREST(ctx context.Context, base, key string, req *intakev1.SubmitTicketRequest) (string, error) {
	body, err := protojson.Marshal(req)
	if err != nil {
		return "", err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/tickets", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	hr.Header.Set("Authorization", "Bearer "+key)
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		if ctx.Err() != nil {
			return "", status.Error(codes.DeadlineExceeded, err.Error())
		}
		return "", status.Error(codes.Unavailable, err.Error())
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", status.Error(codes.Unavailable, err.Error())
	}
	if resp.StatusCode != http.StatusOK {
		return "", status.Error(httpCode(resp.StatusCode), fmt.Sprintf("HTTP %d", resp.StatusCode))
	}
	var out intakev1.SubmitTicketResponse
	if err := protojson.Unmarshal(b, &out); err != nil {
		return "", status.Error(codes.Internal, err.Error())
	}
	return out.GetTicket().GetTicketId(), nil
}

// httpCode maps the gateway's HTTP statuses back to gRPC codes, for the error table.
func httpCode(s int) codes.Code {
	switch s {
	case http.StatusServiceUnavailable:
		return codes.Unavailable
	case http.StatusGatewayTimeout:
		return codes.DeadlineExceeded
	case http.StatusTooManyRequests:
		return codes.ResourceExhausted
	case http.StatusBadRequest:
		return codes.InvalidArgument
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusConflict:
		return codes.Aborted
	default:
		return codes.Internal
	}
}
