// Package grpcapi implements kefu.customer.v1.CustomerService: it turns requests into app calls and results
// into responses, nothing more. Shape rules were checked by protovalidate before a handler runs; meaning
// rules (check digits, consents, states) are the domain's. Errors are returned as they come; pkg/grpcx maps
// them to statuses.
package grpcapi

import (
	"context"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/timestamppb"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/idempotency"
	"kefu.dev/services/customer/internal/app"
	"kefu.dev/services/customer/internal/domain/customer"
	"kefu.dev/services/customer/internal/store"
)

// Server implements customerv1.CustomerServiceServer on an app.
type Server struct {
	customerv1.UnimplementedCustomerServiceServer
	app *app.App
}

// New returns the server.
func New(a *app.App) *Server { return &Server{app: a} }

// Register registers the server on r.
func (s *Server) Register(r grpc.ServiceRegistrar) { customerv1.RegisterCustomerServiceServer(r, s) }

// CreateCustomer implements CustomerService.CreateCustomer.
func (s *Server) CreateCustomer(ctx context.Context, req *customerv1.CreateCustomerRequest) (*customerv1.CreateCustomerResponse, error) {
	fp, err := idempotency.FingerprintWithout(req, "idempotency_key")
	if err != nil {
		return nil, err
	}
	if req.GetCustomer().GetKind() == customerv1.CustomerKind_CUSTOMER_KIND_UNSPECIFIED {
		return nil, apierr.InvalidField("customer.kind", "is required")
	}
	v, err := s.app.Create(ctx, req.GetIdempotencyKey(), fp, fromProto(req.GetCustomer()))
	if err != nil {
		return nil, err
	}
	return &customerv1.CreateCustomerResponse{Customer: toProto(v)}, nil
}

// GetCustomer implements CustomerService.GetCustomer.
func (s *Server) GetCustomer(ctx context.Context, req *customerv1.GetCustomerRequest) (*customerv1.GetCustomerResponse, error) {
	v, err := s.app.Get(ctx, parseID(req.GetCustomerId()))
	if err != nil {
		return nil, err
	}
	return &customerv1.GetCustomerResponse{Customer: toProto(v)}, nil
}

// outputOnly are mask paths of output-only fields, ignored (AIP-203) rather than refused.
var outputOnly = []string{"customer_id", "kind", "state", "merged_into", "etag", "masked", "create_time", "update_time",
	"erase_time", "enterprise.sole_proprietor"}

// UpdateCustomer implements CustomerService.UpdateCustomer.
func (s *Server) UpdateCustomer(ctx context.Context, req *customerv1.UpdateCustomerRequest) (*customerv1.UpdateCustomerResponse, error) {
	c := req.GetCustomer()
	if c.GetCustomerId() == "" {
		return nil, apierr.InvalidField("customer.customer_id", "is required")
	}
	if c.GetEtag() == "" {
		return nil, apierr.InvalidField("customer.etag", "is required: read the customer and pass its etag")
	}
	var paths []string
	for _, p := range req.GetUpdateMask().GetPaths() {
		switch {
		case slices.Contains(outputOnly, p):
		case slices.Contains(app.UpdatablePaths, p):
			paths = append(paths, p)
		default:
			return nil, apierr.InvalidField("update_mask", "unknown or read-only path "+p+" (contacts and business keys have their own calls)")
		}
	}
	if len(paths) == 0 {
		return nil, apierr.InvalidField("update_mask", "names no field to change")
	}
	v, err := s.app.Update(ctx, parseID(c.GetCustomerId()), c.GetEtag(), app.Patch{Paths: paths, Value: fromProto(c)})
	if err != nil {
		return nil, err
	}
	return &customerv1.UpdateCustomerResponse{Customer: toProto(v)}, nil
}

// ListCustomers implements CustomerService.ListCustomers.
func (s *Server) ListCustomers(ctx context.Context, req *customerv1.ListCustomersRequest) (*customerv1.ListCustomersResponse, error) {
	f := store.Filter{Kind: code(req.GetKind(), "CUSTOMER_KIND_"), Tier: req.GetTier()}
	for _, st := range req.GetStates() {
		f.States = append(f.States, code(st, "CUSTOMER_STATE_"))
	}
	if req.GetCreatedAfter() != nil {
		f.CreatedAfter = req.GetCreatedAfter().AsTime()
	}
	if req.GetCreatedBefore() != nil {
		f.CreatedBefore = req.GetCreatedBefore().AsTime()
	}
	vs, next, err := s.app.List(ctx, app.ListQuery{Filter: f, PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken()})
	if err != nil {
		return nil, err
	}
	resp := &customerv1.ListCustomersResponse{NextPageToken: next}
	for _, v := range vs {
		resp.Customers = append(resp.Customers, toProto(v))
	}
	return resp, nil
}

// FindCustomers implements CustomerService.FindCustomers.
func (s *Server) FindCustomers(ctx context.Context, req *customerv1.FindCustomersRequest) (*customerv1.FindCustomersResponse, error) {
	var kind app.FindKind
	var value string
	switch k := req.GetKey().(type) {
	case *customerv1.FindCustomersRequest_Phone:
		kind, value = app.FindPhone, k.Phone
	case *customerv1.FindCustomersRequest_Email:
		kind, value = app.FindEmail, k.Email
	case *customerv1.FindCustomersRequest_WechatId:
		kind, value = app.FindWeChat, k.WechatId
	case *customerv1.FindCustomersRequest_OrderNumber:
		kind, value = app.FindOrder, k.OrderNumber
	case *customerv1.FindCustomersRequest_MemberNumber:
		kind, value = app.FindMember, k.MemberNumber
	case *customerv1.FindCustomersRequest_NationalId:
		kind, value = app.FindNationalID, k.NationalId
	case *customerv1.FindCustomersRequest_CreditCode:
		kind, value = app.FindCreditCode, k.CreditCode
	default:
		return nil, apierr.InvalidField("key", "name one value to match")
	}
	vs, err := s.app.Find(ctx, kind, value)
	if err != nil {
		return nil, err
	}
	resp := &customerv1.FindCustomersResponse{}
	for _, v := range vs {
		resp.Customers = append(resp.Customers, toProto(v))
	}
	return resp, nil
}

// MergeCustomers implements CustomerService.MergeCustomers.
func (s *Server) MergeCustomers(ctx context.Context, req *customerv1.MergeCustomersRequest) (*customerv1.MergeCustomersResponse, error) {
	v, err := s.app.Merge(ctx, parseID(req.GetSurvivorId()), parseID(req.GetDuplicateId()), req.GetSurvivorEtag(), req.GetDuplicateEtag())
	if err != nil {
		return nil, err
	}
	return &customerv1.MergeCustomersResponse{Customer: toProto(v)}, nil
}

// RevealCustomer implements CustomerService.RevealCustomer.
func (s *Server) RevealCustomer(ctx context.Context, req *customerv1.RevealCustomerRequest) (*customerv1.RevealCustomerResponse, error) {
	var r customer.Reveal
	for _, f := range req.GetFields() {
		switch f {
		case customerv1.RevealField_REVEAL_FIELD_NAME:
			r.Name = true
		case customerv1.RevealField_REVEAL_FIELD_NATIONAL_ID:
			r.NationalID = true
		case customerv1.RevealField_REVEAL_FIELD_CONTACTS:
			r.Contacts = true
		case customerv1.RevealField_REVEAL_FIELD_OCCUPATION:
			r.Occupation = true
		case customerv1.RevealField_REVEAL_FIELD_REGISTRATION:
			r.Registration = true
		}
	}
	v, err := s.app.Reveal(ctx, parseID(req.GetCustomerId()), r)
	if err != nil {
		return nil, err
	}
	return &customerv1.RevealCustomerResponse{Customer: toProto(v)}, nil
}

// GetDeliveryContacts implements CustomerService.GetDeliveryContacts.
func (s *Server) GetDeliveryContacts(ctx context.Context, req *customerv1.GetDeliveryContactsRequest) (*customerv1.GetDeliveryContactsResponse, error) {
	var check *app.ContactCheck
	if c := req.GetCheck(); c != nil {
		check = &app.ContactCheck{Kind: contactKind(c.GetKind()), Value: c.GetValue()}
	}
	d, err := s.app.DeliveryContacts(ctx, parseID(req.GetCustomerId()), check)
	if err != nil {
		return nil, err
	}
	return deliveryProto(d), nil
}

// AddContact implements CustomerService.AddContact.
func (s *Server) AddContact(ctx context.Context, req *customerv1.AddContactRequest) (*customerv1.AddContactResponse, error) {
	v, id, err := s.app.AddContact(ctx, parseID(req.GetCustomerId()), req.GetEtag(), contact(req.GetContact()))
	if err != nil {
		return nil, err
	}
	return &customerv1.AddContactResponse{Customer: toProto(v), ContactId: id.String()}, nil
}

// RemoveContact implements CustomerService.RemoveContact.
func (s *Server) RemoveContact(ctx context.Context, req *customerv1.RemoveContactRequest) (*customerv1.RemoveContactResponse, error) {
	v, err := s.app.RemoveContact(ctx, parseID(req.GetCustomerId()), parseID(req.GetContactId()), req.GetEtag())
	if err != nil {
		return nil, err
	}
	return &customerv1.RemoveContactResponse{Customer: toProto(v)}, nil
}

// RecordConsent implements CustomerService.RecordConsent.
func (s *Server) RecordConsent(ctx context.Context, req *customerv1.RecordConsentRequest) (*customerv1.RecordConsentResponse, error) {
	v, err := s.app.RecordConsent(ctx, parseID(req.GetCustomerId()), parseID(req.GetContactId()), consent(req.GetConsent()))
	if err != nil {
		return nil, err
	}
	return &customerv1.RecordConsentResponse{Customer: toProto(v)}, nil
}

// WithdrawConsent implements CustomerService.WithdrawConsent.
func (s *Server) WithdrawConsent(ctx context.Context, req *customerv1.WithdrawConsentRequest) (*customerv1.WithdrawConsentResponse, error) {
	v, err := s.app.WithdrawConsent(ctx, parseID(req.GetCustomerId()), parseID(req.GetContactId()), req.GetPurpose())
	if err != nil {
		return nil, err
	}
	return &customerv1.WithdrawConsentResponse{Customer: toProto(v)}, nil
}

// AddBusinessKey implements CustomerService.AddBusinessKey.
func (s *Server) AddBusinessKey(ctx context.Context, req *customerv1.AddBusinessKeyRequest) (*customerv1.AddBusinessKeyResponse, error) {
	v, err := s.app.AddKey(ctx, parseID(req.GetCustomerId()), businessKey(req.GetKey()))
	if err != nil {
		return nil, err
	}
	return &customerv1.AddBusinessKeyResponse{Customer: toProto(v)}, nil
}

// RemoveBusinessKey implements CustomerService.RemoveBusinessKey.
func (s *Server) RemoveBusinessKey(ctx context.Context, req *customerv1.RemoveBusinessKeyRequest) (*customerv1.RemoveBusinessKeyResponse, error) {
	v, err := s.app.RemoveKey(ctx, parseID(req.GetCustomerId()), customer.KeyKind(code(req.GetKind(), "BUSINESS_KEY_KIND_")), req.GetValue())
	if err != nil {
		return nil, err
	}
	return &customerv1.RemoveBusinessKeyResponse{Customer: toProto(v)}, nil
}

// EraseCustomer implements CustomerService.EraseCustomer.
func (s *Server) EraseCustomer(ctx context.Context, req *customerv1.EraseCustomerRequest) (*customerv1.EraseCustomerResponse, error) {
	v, err := s.app.Erase(ctx, parseID(req.GetCustomerId()), req.GetEraseCustomerWords())
	if err != nil {
		return nil, err
	}
	return &customerv1.EraseCustomerResponse{Customer: toProto(v)}, nil
}

// ExportCustomer implements CustomerService.ExportCustomer.
func (s *Server) ExportCustomer(ctx context.Context, req *customerv1.ExportCustomerRequest) (*customerv1.ExportCustomerResponse, error) {
	e, err := s.app.Export(ctx, parseID(req.GetCustomerId()))
	if err != nil {
		return nil, err
	}
	resp := &customerv1.ExportCustomerResponse{Customer: toProto(app.View{Customer: e.Customer}), ExportTime: timestamppb.New(e.At)}
	for _, id := range e.Merged {
		resp.MergedCustomerIds = append(resp.MergedCustomerIds, id.String())
	}
	for _, a := range e.Attempts {
		resp.VerificationAttempts = append(resp.VerificationAttempts, &customerv1.VerificationAttempt{
			AttemptTime: timestamppb.New(a.At), Verified: a.Verified, Principal: a.Principal})
	}
	return resp, nil
}

// VerifyIdentity implements CustomerService.VerifyIdentity.
func (s *Server) VerifyIdentity(ctx context.Context, req *customerv1.VerifyIdentityRequest) (*customerv1.VerifyIdentityResponse, error) {
	in := app.VerifyInput{CustomerID: parseID(req.GetCustomerId()), Order: req.GetOrderNumber(), PhoneLast4: req.GetPhoneLast4()}
	if c := req.GetContact(); c != nil {
		in.ContactKind, in.ContactValue = contactKind(c.GetKind()), c.GetValue()
	}
	ok, id, err := s.app.Verify(ctx, in)
	if err != nil {
		return nil, err
	}
	resp := &customerv1.VerifyIdentityResponse{Verified: ok}
	if ok {
		resp.CustomerId = id.String()
	}
	return resp, nil
}

// ResolveCustomer implements CustomerService.ResolveCustomer.
func (s *Server) ResolveCustomer(ctx context.Context, req *customerv1.ResolveCustomerRequest) (*customerv1.ResolveCustomerResponse, error) {
	fp, err := idempotency.FingerprintWithout(req, "idempotency_key")
	if err != nil {
		return nil, err
	}
	in := app.ResolveInput{Key: req.GetIdempotencyKey(), Fingerprint: fp, Channel: channelCode(req.GetChannel()),
		Order: req.GetOrderNumber(), Member: req.GetMemberNumber()}
	if c := req.GetContact(); c != nil && c.GetConsent() {
		in.Contact = &customer.Contact{Kind: contactKind(c.GetKind()), Value: c.GetValue(),
			Consents: []customer.Consent{{Purpose: c.GetConsentPurpose(), Channel: in.Channel}}}
	}
	r, err := s.app.Resolve(ctx, in)
	if err != nil {
		return nil, err
	}
	resp := &customerv1.ResolveCustomerResponse{Created: r.Created, Tier: r.Tier}
	if r.ID.String() != "00000000-0000-0000-0000-000000000000" {
		resp.CustomerId = r.ID.String()
	}
	return resp, nil
}

// ListTiers implements CustomerService.ListTiers.
func (s *Server) ListTiers(ctx context.Context, _ *customerv1.ListTiersRequest) (*customerv1.ListTiersResponse, error) {
	ts, err := s.app.Tiers(ctx)
	if err != nil {
		return nil, err
	}
	resp := &customerv1.ListTiersResponse{}
	for _, t := range ts {
		resp.Tiers = append(resp.Tiers, tierProto(t))
	}
	return resp, nil
}

// CreateTier implements CustomerService.CreateTier.
func (s *Server) CreateTier(ctx context.Context, req *customerv1.CreateTierRequest) (*customerv1.CreateTierResponse, error) {
	t, err := s.app.CreateTier(ctx, req.GetTier().GetCode(), req.GetTier().GetDisplayName())
	if err != nil {
		return nil, err
	}
	return &customerv1.CreateTierResponse{Tier: tierProto(t)}, nil
}
