package customer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/logging"
	"kefu.dev/pkg/testkit"
	"kefu.dev/services/customer"
)

func resolveReq(phone string, consent bool) *customerv1.ResolveCustomerRequest {
	return &customerv1.ResolveCustomerRequest{
		IdempotencyKey: key("submit"), Channel: intakev1.Channel_CHANNEL_PHONE,
		Contact: &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: phone, Consent: consent, ConsentPurpose: "service_follow_up"},
	}
}

func TestResolveCreatesOneCustomerPerConsentedContact(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := as(t.Context(), intakeP)

	// Ten tickets from one new caller at once: one customer.
	var wg sync.WaitGroup
	ids := make([]string, 10)
	created := make([]bool, 10)
	for i := range ids {
		wg.Go(func() {
			resp, err := s.client.ResolveCustomer(ctx, resolveReq("138 0013 8000", true))
			if err == nil {
				ids[i], created[i] = resp.GetCustomerId(), resp.GetCreated()
			}
		})
	}
	wg.Wait()
	n := 0
	for i, id := range ids {
		require.Equal(t, ids[0], id)
		if created[i] {
			n++
		}
	}
	require.Equal(t, 1, n, "exactly one call created the record")

	// A retry with the same key returns the same answer.
	req := resolveReq("13900139000", true)
	req.OrderNumber = "so-77"
	first, err := s.client.ResolveCustomer(ctx, req)
	require.NoError(t, err)
	require.True(t, first.GetCreated())
	require.Equal(t, "standard", first.GetTier())
	again, err := s.client.ResolveCustomer(ctx, req)
	require.NoError(t, err)
	require.Equal(t, first.GetCustomerId(), again.GetCustomerId())

	// The order number was linked: a ticket carrying only it finds the customer.
	byOrder, err := s.client.ResolveCustomer(ctx, &customerv1.ResolveCustomerRequest{IdempotencyKey: key("k"), Channel: intakev1.Channel_CHANNEL_EMAIL, OrderNumber: "SO-77"})
	require.NoError(t, err)
	require.Equal(t, first.GetCustomerId(), byOrder.GetCustomerId())
	require.False(t, byOrder.GetCreated())

	got, err := s.client.GetCustomer(as(t.Context(), adminP), &customerv1.GetCustomerRequest{CustomerId: first.GetCustomerId()})
	require.NoError(t, err)
	require.Equal(t, customerv1.Source_SOURCE_CUSTOMER_PROVIDED, got.GetCustomer().GetContacts()[0].GetProvenance().GetSource())
	require.Equal(t, intakev1.Channel_CHANNEL_PHONE, got.GetCustomer().GetContacts()[0].GetConsents()[0].GetChannel())
}

func TestResolveNeverStoresOrMatchesAnUnconsentedContact(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := as(t.Context(), intakeP)
	known := s.create(t, person())

	resp, err := s.client.ResolveCustomer(ctx, resolveReq("13700137000", false))
	require.NoError(t, err)
	require.Empty(t, resp.GetCustomerId(), "nothing to create from without consent")
	// Even a known phone is not used without consent.
	resp, err = s.client.ResolveCustomer(ctx, resolveReq("13812345678", false))
	require.NoError(t, err)
	require.Empty(t, resp.GetCustomerId())
	var n int
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM customers`).Scan(&n))
	require.Equal(t, 1, n)
	require.Empty(t, s.plaintextHits(t, "13700137000"))

	// Consented, it finds the known customer.
	resp, err = s.client.ResolveCustomer(ctx, resolveReq("13812345678", true))
	require.NoError(t, err)
	require.Equal(t, known.GetCustomerId(), resp.GetCustomerId())

	_, err = s.client.ResolveCustomer(as(t.Context(), agentP, "agent"), resolveReq("13812345678", true))
	requireCode(t, err, codes.PermissionDenied)
}

func TestVerifyIdentityNeverSaysWhichPartWasWrongAndIsLimited(t *testing.T) {
	t.Parallel()
	s := start(t, func(c *customer.Config) { c.VerifyMaxAttempts = 3 })
	c := s.create(t, person())
	other := person()
	other.Individual.NationalId = ""
	other.Contacts = other.Contacts[:1]
	other.Contacts[0].Value = "13911112222"
	other.BusinessKeys[0].Value = "SO-5005"
	o := s.create(t, other)
	ctx := as(t.Context(), adapterP)
	verify := func(ctx context.Context, req *customerv1.VerifyIdentityRequest) (*customerv1.VerifyIdentityResponse, error) {
		return s.client.VerifyIdentity(ctx, req)
	}
	byPhone := func(last4 string) *customerv1.VerifyIdentityRequest {
		return &customerv1.VerifyIdentityRequest{
			Subject: &customerv1.VerifyIdentityRequest_Contact{Contact: &customerv1.ContactRef{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "13812345678"}},
			Fact:    &customerv1.VerifyIdentityRequest_PhoneLast4{PhoneLast4: last4}}
	}
	ok, err := verify(ctx, byPhone("5678"))
	require.NoError(t, err)
	require.True(t, ok.GetVerified())
	require.Equal(t, c.GetCustomerId(), ok.GetCustomerId())

	wrongs := []*customerv1.VerifyIdentityRequest{
		byPhone("0000"),
		{Subject: &customerv1.VerifyIdentityRequest_CustomerId{CustomerId: c.GetCustomerId()}, Fact: &customerv1.VerifyIdentityRequest_OrderNumber{OrderNumber: "SO-5005"}},
	}
	for _, req := range wrongs {
		resp, err := verify(ctx, req)
		require.NoError(t, err)
		require.False(t, resp.GetVerified())
		require.Empty(t, resp.GetCustomerId())
	}
	// The fourth attempt on one customer in the window is refused with a retry time.
	_, err = verify(ctx, byPhone("5678"))
	st := requireCode(t, err, codes.ResourceExhausted)
	require.NotEmpty(t, st.Details(), "RetryInfo tells when to try again")
	// Another customer is not affected; an unknown customer id reads "not verified", not NOT_FOUND.
	resp, err := verify(ctx, &customerv1.VerifyIdentityRequest{Subject: &customerv1.VerifyIdentityRequest_CustomerId{CustomerId: o.GetCustomerId()},
		Fact: &customerv1.VerifyIdentityRequest_OrderNumber{OrderNumber: "so-5005"}})
	require.NoError(t, err)
	require.True(t, resp.GetVerified())
	resp, err = verify(ctx, &customerv1.VerifyIdentityRequest{Subject: &customerv1.VerifyIdentityRequest_CustomerId{CustomerId: "0192f5a0-0000-7000-8000-000000000001"},
		Fact: &customerv1.VerifyIdentityRequest_PhoneLast4{PhoneLast4: "5678"}})
	require.NoError(t, err)
	require.False(t, resp.GetVerified())

	// After the window the customer may try again.
	s.clock.Advance(16 * time.Minute)
	ok, err = verify(ctx, byPhone("5678"))
	require.NoError(t, err)
	require.True(t, ok.GetVerified())

	// Every attempt is on record (audited and in the customer's export).
	ex, err := s.client.ExportCustomer(as(t.Context(), adminP), &customerv1.ExportCustomerRequest{CustomerId: c.GetCustomerId(), Reason: "access request"})
	require.NoError(t, err)
	require.Len(t, ex.GetVerificationAttempts(), 4)
	testkit.EventuallyNoError(t, func() error {
		var n int
		if err := s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM audit_records WHERE method = '/kefu.customer.v1.CustomerService/VerifyIdentity'`).Scan(&n); err != nil {
			return err
		}
		if n < 7 {
			return errTooFew
		}
		return nil
	}, wait)
}

type tooFew struct{}

func (tooFew) Error() string { return "too few audit records" }

var errTooFew error = tooFew{}

func TestRekeyMovesDataKeysToTheNewPrimary(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := s.create(t, person())
	var oldID string
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT data_key_id FROM customers WHERE id = $1`, c.GetCustomerId()).Scan(&oldID))
	require.Equal(t, "k1", oldID)

	cfg := s.cfg
	cfg.EncryptionKeys = s.cfg.EncryptionKeys + "," + newKeySpec(t, "k2")
	n, err := customer.Rekey(t.Context(), cfg, logging.Discard())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	n, err = customer.Rekey(t.Context(), cfg, logging.Discard())
	require.NoError(t, err)
	require.Zero(t, n, "nothing left under the old key")

	// A service that knows only the new key reads the record.
	cfg.EncryptionKeys = cfg.EncryptionKeys[len(s.cfg.EncryptionKeys)+1:]
	client := serve(t, cfg)
	ex, err := client.ExportCustomer(as(t.Context(), adminP), &customerv1.ExportCustomerRequest{CustomerId: c.GetCustomerId(), Reason: "check after rekey"})
	require.NoError(t, err)
	require.Equal(t, "11010519491231002X", ex.GetCustomer().GetIndividual().GetNationalId())
}

func TestEnterpriseRecords(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := as(t.Context(), agentP, "agent")
	ent := &customerv1.Customer{
		Kind: customerv1.CustomerKind_CUSTOMER_KIND_ENTERPRISE, Tier: "key_account",
		Enterprise: &customerv1.Enterprise{CompanyName: "北京某某科技有限公司", CreditCode: "91110000600037341l",
			Size: customerv1.EnterpriseSize_ENTERPRISE_SIZE_MEDIUM, Industry: "软件", RegisteredAddress: "北京市海淀区某路1号",
			ContactPersons: []*customerv1.ContactPerson{{Name: "王五", Title: "采购经理"}}, Provenance: provided()},
	}
	c := s.create(t, ent)
	en := c.GetEnterprise()
	require.Equal(t, "91110000600037341L", en.GetCreditCode(), "a company's code is public register data: shown, normalised")
	require.False(t, en.GetSoleProprietor())
	require.Equal(t, "王*", en.GetContactPersons()[0].GetName())
	require.Empty(t, s.plaintextHits(t, "王五"))
	require.Empty(t, s.plaintextHits(t, "91110000600037341L"), "encrypted at rest even when shown")

	// A contact of the contact person finds the enterprise.
	person := en.GetContactPersons()[0].GetPersonId()
	_, err := s.client.AddContact(ctx, &customerv1.AddContactRequest{CustomerId: c.GetCustomerId(), Etag: c.GetEtag(),
		Contact: &customerv1.ContactPoint{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "13566667777", PersonId: person, Provenance: provided(), Consents: consented()}})
	require.NoError(t, err)
	found, err := s.client.FindCustomers(ctx, &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_Phone{Phone: "13566667777"}})
	require.NoError(t, err)
	require.Len(t, found.GetCustomers(), 1)
	require.Equal(t, person, found.GetCustomers()[0].GetContacts()[0].GetPersonId())
	byCode, err := s.client.FindCustomers(ctx, &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_CreditCode{CreditCode: "91110000600037341L"}})
	require.NoError(t, err)
	require.Len(t, byCode.GetCustomers(), 1)

	// A sole proprietor's code and address identify a person: masked.
	sole := &customerv1.Customer{Kind: customerv1.CustomerKind_CUSTOMER_KIND_ENTERPRISE,
		Enterprise: &customerv1.Enterprise{CompanyName: "某某小吃店", CreditCode: soleProprietorCode, RegisteredAddress: "上海市某区某街2号", Provenance: provided()}}
	sc := s.create(t, sole).GetEnterprise()
	require.True(t, sc.GetSoleProprietor())
	require.NotEqual(t, soleProprietorCode, sc.GetCreditCode())
	require.NotContains(t, sc.GetRegisteredAddress(), "某街2号")
}

// soleProprietorCode is a valid credit code of a sole proprietorship (authority 9, kind 2).
const soleProprietorCode = "92440300MA5EXXXX06"

func TestIssueServiceKeyBootstrapsAnotherServicesKey(t *testing.T) {
	t.Parallel()
	s := start(t)
	text, err := customer.IssueServiceKey(t.Context(), s.cfg, "routing")
	require.NoError(t, err)
	ctx := metadata.AppendToOutgoingContext(t.Context(), "authorization", "Bearer "+text)
	resp, err := s.client.ResolveCustomer(ctx, resolveReq("13512345678", true))
	require.NoError(t, err, "the new key authenticates as a service")
	require.True(t, resp.GetCreated())
	_, err = s.client.EraseCustomer(ctx, &customerv1.EraseCustomerRequest{CustomerId: resp.GetCustomerId(), Reason: "not a service's job"})
	requireCode(t, err, codes.PermissionDenied)
	_, err = customer.IssueServiceKey(t.Context(), s.cfg, "Bad Name")
	require.Error(t, err)
}
