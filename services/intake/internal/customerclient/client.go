// Package customerclient is intake's client of the customer service: app.CustomerDirectory over gRPC
// (ResolveCustomer and VerifyIdentity), authenticated with intake's own API key. Its errors name the RPC
// and the status code only, never the status message, so callers can log them knowing they hold no
// personal data.
package customerclient

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/grpcx"
	"kefu.dev/services/intake/internal/app"
	"kefu.dev/services/intake/internal/domain/ticket"
	"kefu.dev/services/intake/internal/protoconv"
)

// CallTimeout bounds each call, within any earlier deadline the caller has: a submit waits for the
// customer service at most this long per call before it goes on without it.
const CallTimeout = 2 * time.Second

// businessKey is the customer service's shape of an order or member number. A number outside it cannot
// be a business key, so it is left out of ResolveCustomer rather than failing the whole call.
var businessKey = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Client implements app.CustomerDirectory.
type Client struct {
	cc  *grpc.ClientConn
	api customerv1.CustomerServiceClient
}

var _ app.CustomerDirectory = (*Client)(nil)

// Dial returns a client of the customer service at addr that authenticates with apiKey. The connection is
// lazy (grpcx.Dial): an unreachable service fails calls, not Dial.
func Dial(addr, apiKey string) (*Client, error) {
	cc, err := grpcx.Dial(addr, grpcx.Bearer(apiKey))
	if err != nil {
		return nil, fmt.Errorf("customer service: %w", err)
	}
	return New(cc), nil
}

// New returns a client on an existing connection (which the caller closes).
func New(cc *grpc.ClientConn) *Client {
	return &Client{cc: cc, api: customerv1.NewCustomerServiceClient(cc)}
}

// Close closes the connection.
func (c *Client) Close() error { return c.cc.Close() }

// Resolve calls ResolveCustomer.
func (c *Client) Resolve(ctx context.Context, in app.ResolveInput) (app.ResolveResult, error) {
	req := &customerv1.ResolveCustomerRequest{IdempotencyKey: in.IdempotencyKey, Channel: protoconv.Channel(in.Channel)}
	if ct := in.Contact; ct != nil {
		req.Contact = &intakev1.Contact{Kind: protoconv.ContactKind(ct.Kind), Value: ct.Value, Consent: in.ContactConsent}
		if in.ContactConsent {
			req.Contact.ConsentPurpose = ct.Purpose
		}
	}
	if businessKey.MatchString(in.OrderNumber) {
		req.OrderNumber = in.OrderNumber
	}
	if businessKey.MatchString(in.MemberNumber) {
		req.MemberNumber = in.MemberNumber
	}
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	resp, err := c.api.ResolveCustomer(ctx, req)
	if err != nil {
		return app.ResolveResult{}, callError("ResolveCustomer", err)
	}
	return app.ResolveResult{CustomerID: resp.GetCustomerId(), Tier: resp.GetTier(), Created: resp.GetCreated()}, nil
}

// Verify calls VerifyIdentity for the customer.
func (c *Client) Verify(ctx context.Context, customerID string, fact app.VerifyFact) (bool, error) {
	req := &customerv1.VerifyIdentityRequest{Subject: &customerv1.VerifyIdentityRequest_CustomerId{CustomerId: customerID}}
	switch fact.Method {
	case ticket.VerificationOrderNumber:
		req.Fact = &customerv1.VerifyIdentityRequest_OrderNumber{OrderNumber: fact.Value}
	case ticket.VerificationPhoneLast4:
		req.Fact = &customerv1.VerifyIdentityRequest_PhoneLast4{PhoneLast4: fact.Value}
	default:
		return false, fmt.Errorf("customer service VerifyIdentity: unknown verification method %s", fact.Method)
	}
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	resp, err := c.api.VerifyIdentity(ctx, req)
	if err != nil {
		return false, callError("VerifyIdentity", err)
	}
	return resp.GetVerified(), nil
}

// callError reduces a failed call to its RPC and status code: a status message may quote what was sent.
func callError(rpc string, err error) error {
	return fmt.Errorf("customer service %s: %s", rpc, status.Code(err))
}
