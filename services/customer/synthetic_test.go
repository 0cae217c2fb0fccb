package customer_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	"kefu.dev/services/customer"
)

// TestLoadSyntheticRowsReadLikeCreatedOnes proves the benchmark loader (make bench, issue #5) writes what
// the service reads: customers loaded by COPY are found by phone over gRPC, masked, and open with
// GetCustomer; a phone beyond the loaded range finds nothing. So the loader cannot rot unnoticed while
// the codec or the schema changes.
func TestLoadSyntheticRowsReadLikeCreatedOnes(t *testing.T) {
	t.Parallel()
	s := start(t)
	cfg := s.cfg
	cfg.MigrateDatabaseURL = s.db.OwnerURL
	const n = 50
	require.NoError(t, customer.LoadSynthetic(t.Context(), cfg, n, 2))

	ctx := as(t.Context(), agentP, "agent")
	for _, i := range []int{0, 17, n - 1} {
		phone := customer.SyntheticPhone(i)
		resp, err := s.client.FindCustomers(ctx, &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_Phone{Phone: phone}})
		require.NoError(t, err)
		require.Len(t, resp.GetCustomers(), 1, "customer %d by phone", i)
		c := resp.GetCustomers()[0]
		require.True(t, c.GetMasked())
		require.Equal(t, customerv1.CustomerKind_CUSTOMER_KIND_INDIVIDUAL, c.GetKind())
		require.Len(t, c.GetContacts(), 1)
		shown := c.GetContacts()[0].GetValue()
		require.NotEqual(t, phone, shown)
		require.Contains(t, shown, "*")
		require.True(t, strings.HasSuffix(shown, phone[len(phone)-4:]), "masked phone %q keeps the last four digits", shown)
		require.NotEmpty(t, c.GetIndividual().GetName())
		require.NotEmpty(t, c.GetEtag())

		got, err := s.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{CustomerId: c.GetCustomerId()})
		require.NoError(t, err)
		require.Equal(t, c.GetCustomerId(), got.GetCustomer().GetCustomerId())
		require.Equal(t, shown, got.GetCustomer().GetContacts()[0].GetValue())
	}
	resp, err := s.client.FindCustomers(ctx, &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_Phone{Phone: customer.SyntheticPhone(n)}})
	require.NoError(t, err)
	require.Empty(t, resp.GetCustomers())
}
