package devstack_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/grpcx"
)

// TestHostileCallersOfTheCustomerService tries what an attacker would against customer records: no or
// foreign credentials, staff reaching past their role for unmasked data or PIPL operations, a reveal
// without a reason, and probing lookups; every refusal is exact and changes nothing.
func TestHostileCallersOfTheCustomerService(t *testing.T) {
	t.Parallel()
	h := startHostile(t)
	cc, err := grpcx.Dial(h.a.Customer)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	customers := customerv1.NewCustomerServiceClient(cc)
	created, err := customers.CreateCustomer(bearer(t.Context(), h.admin), &customerv1.CreateCustomerRequest{IdempotencyKey: "victim",
		Customer: &customerv1.Customer{Kind: customerv1.CustomerKind_CUSTOMER_KIND_INDIVIDUAL,
			Individual: &customerv1.Individual{Name: "张三", NationalId: "11010519491231002X",
				Provenance: &customerv1.Provenance{Source: customerv1.Source_SOURCE_CUSTOMER_PROVIDED}},
			Contacts: []*customerv1.ContactPoint{{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "13912340000",
				Provenance: &customerv1.Provenance{Source: customerv1.Source_SOURCE_CUSTOMER_PROVIDED},
				Consents:   []*customerv1.Consent{{Purpose: "service_follow_up", Channel: intakev1.Channel_CHANNEL_PHONE}}}}}})
	require.NoError(t, err)
	victim := created.GetCustomer()
	id := victim.GetCustomerId()

	// The state of every customer record as an admin sees it, unmasked: a refused call leaves it alone.
	state := func(t *testing.T) string {
		var b strings.Builder
		list, err := customers.ListCustomers(bearer(t.Context(), h.admin), &customerv1.ListCustomersRequest{PageSize: 500,
			States: []customerv1.CustomerState{customerv1.CustomerState_CUSTOMER_STATE_ACTIVE, customerv1.CustomerState_CUSTOMER_STATE_MERGED, customerv1.CustomerState_CUSTOMER_STATE_ERASED}})
		require.NoError(t, err)
		for _, c := range list.GetCustomers() {
			fmt.Fprintf(&b, "%s/%s/%s;", c.GetCustomerId(), c.GetEtag(), c.GetState())
		}
		tiers, err := customers.ListTiers(bearer(t.Context(), h.admin), &customerv1.ListTiersRequest{})
		require.NoError(t, err)
		fmt.Fprintf(&b, "tiers:%d", len(tiers.GetTiers()))
		return b.String()
	}
	expect := func(t *testing.T, name string, want codes.Code, write bool, call func(ctx context.Context) error) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			var before string
			if write {
				before = state(t)
			}
			tally.tried.Add(1)
			err := call(t.Context())
			got := status.Code(err)
			if got == codes.OK && want != codes.OK {
				tally.acceptedWrongly.Add(1)
			}
			require.Equal(t, want, got, "%v", err)
			if write {
				require.Equal(t, before, state(t), "a refused call changed something")
			}
		})
	}
	sd := customerv1.File_kefu_customer_v1_customer_service_proto.Services().ByName("CustomerService")

	t.Run("no credentials on every RPC", func(t *testing.T) {
		for i := range sd.Methods().Len() {
			m := sd.Methods().Get(i)
			expect(t, string(m.Name()), codes.Unauthenticated, true, func(ctx context.Context) error { return invoke(ctx, cc, m) })
		}
	})

	t.Run("an adapter key issued by intake means nothing here", func(t *testing.T) {
		expect(t, "verify with intake's adapter key", codes.Unauthenticated, true, func(ctx context.Context) error {
			_, err := customers.VerifyIdentity(bearer(ctx, h.webKey), &customerv1.VerifyIdentityRequest{
				Subject: &customerv1.VerifyIdentityRequest_CustomerId{CustomerId: id},
				Fact:    &customerv1.VerifyIdentityRequest_PhoneLast4{PhoneLast4: "0000"}})
			return err
		})
	})

	t.Run("staff reaching past their role", func(t *testing.T) {
		for _, c := range []struct {
			name string
			cred string
			call func(ctx context.Context, cred string) error
		}{
			{"agent erasing", h.agentG1, func(ctx context.Context, cred string) error {
				_, err := customers.EraseCustomer(bearer(ctx, cred), &customerv1.EraseCustomerRequest{CustomerId: id, Reason: "because I can"})
				return err
			}},
			{"agent exporting everything", h.agentG1, func(ctx context.Context, cred string) error {
				_, err := customers.ExportCustomer(bearer(ctx, cred), &customerv1.ExportCustomerRequest{CustomerId: id, Reason: "because I can"})
				return err
			}},
			{"agent merging", h.agentG1, func(ctx context.Context, cred string) error {
				_, err := customers.MergeCustomers(bearer(ctx, cred), &customerv1.MergeCustomersRequest{SurvivorId: id, DuplicateId: h.g1, SurvivorEtag: "1", DuplicateEtag: "1"})
				return err
			}},
			{"agent adding a tier", h.agentG1, func(ctx context.Context, cred string) error {
				_, err := customers.CreateTier(bearer(ctx, cred), &customerv1.CreateTierRequest{Tier: &customerv1.Tier{Code: "gold", DisplayName: "Gold"}})
				return err
			}},
			{"agent creating customers as intake would", h.agentG1, func(ctx context.Context, cred string) error {
				_, err := customers.ResolveCustomer(bearer(ctx, cred), &customerv1.ResolveCustomerRequest{IdempotencyKey: "r", Channel: intakev1.Channel_CHANNEL_PHONE,
					Contact: &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "13700000000", Consent: true, ConsentPurpose: "x"}})
				return err
			}},
			{"auditor unmasking", h.auditor, func(ctx context.Context, cred string) error {
				_, err := customers.RevealCustomer(bearer(ctx, cred), &customerv1.RevealCustomerRequest{CustomerId: id,
					Fields: []customerv1.RevealField{customerv1.RevealField_REVEAL_FIELD_NATIONAL_ID}, Reason: "just looking"})
				return err
			}},
			{"auditor changing a record", h.auditor, func(ctx context.Context, cred string) error {
				_, err := customers.UpdateCustomer(bearer(ctx, cred), &customerv1.UpdateCustomerRequest{
					Customer: &customerv1.Customer{CustomerId: id, Etag: victim.GetEtag(), Tier: "vip"}, UpdateMask: fieldMask("tier")})
				return err
			}},
		} {
			expect(t, c.name, codes.PermissionDenied, true, func(ctx context.Context) error { return c.call(ctx, c.cred) })
		}
	})

	t.Run("unmasking needs a reason", func(t *testing.T) {
		expect(t, "reveal without a reason", codes.InvalidArgument, false, func(ctx context.Context) error {
			_, err := customers.RevealCustomer(bearer(ctx, h.agentG1), &customerv1.RevealCustomerRequest{CustomerId: id,
				Fields: []customerv1.RevealField{customerv1.RevealField_REVEAL_FIELD_NATIONAL_ID}})
			return err
		})
	})

	t.Run("probing lookups learn nothing unmasked", func(t *testing.T) {
		expect(t, "find by the exact ID number returns it masked", codes.OK, false, func(ctx context.Context) error {
			resp, err := customers.FindCustomers(bearer(ctx, h.agentG1), &customerv1.FindCustomersRequest{
				Key: &customerv1.FindCustomersRequest_NationalId{NationalId: "11010519491231002x"}})
			if err != nil {
				return err
			}
			if len(resp.GetCustomers()) != 1 || resp.GetCustomers()[0].GetIndividual().GetNationalId() == "11010519491231002X" ||
				!resp.GetCustomers()[0].GetMasked() {
				tally.acceptedWrongly.Add(1)
				return fmt.Errorf("lookup returned %d records, masked=%v", len(resp.GetCustomers()), resp.GetCustomers())
			}
			return nil
		})
		expect(t, "verify against a made-up customer says only no", codes.OK, false, func(ctx context.Context) error {
			resp, err := customers.VerifyIdentity(bearer(ctx, h.agentG1), &customerv1.VerifyIdentityRequest{
				Subject: &customerv1.VerifyIdentityRequest_CustomerId{CustomerId: h.g2},
				Fact:    &customerv1.VerifyIdentityRequest_PhoneLast4{PhoneLast4: "0000"}})
			if err == nil && resp.GetVerified() {
				tally.acceptedWrongly.Add(1)
				return fmt.Errorf("verified a made-up customer")
			}
			return err
		})
	})
}
