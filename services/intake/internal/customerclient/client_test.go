package customerclient

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestErrorsNameTheCallAndCodeOnly keeps the customer service's status messages, which may quote what was
// sent (a phone, an order number), out of intake's errors and so out of its logs.
func TestErrorsNameTheCallAndCodeOnly(t *testing.T) {
	t.Parallel()
	err := callError("ResolveCustomer", status.Error(codes.InvalidArgument, "contact.value: 13900001111 is not a phone"))
	require.EqualError(t, err, "customer service ResolveCustomer: InvalidArgument")
}

func TestOnlyNumbersThatCanBeBusinessKeysAreSent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		number string
		sent   bool
	}{
		{"an order number", "SO20261123001", true},
		{"one with dots, dashes and underscores", "JD-2026_11.23", true},
		{"an empty one", "", false},
		{"one with a space", "SO 2026", false},
		{"one in Chinese", "订单42", false},
		{"one longer than 64 characters", "A1234567890123456789012345678901234567890123456789012345678901234", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.sent, businessKey.MatchString(tc.number))
		})
	}
}
