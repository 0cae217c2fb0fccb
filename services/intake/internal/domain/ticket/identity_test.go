package ticket

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
)

func TestNewKeepsWhatTheCustomerServiceSaid(t *testing.T) {
	t.Parallel()
	in := validSubmission()
	in.CustomerID, in.CustomerTier = testCust, "vip"
	v := &IdentityVerification{Verified: true, Method: VerificationPhoneLast4, At: testNow}
	in.Verification = v
	tk, _, err := New(in, testPolicy(), testNow)
	require.NoError(t, err)
	require.Equal(t, "vip", tk.CustomerTier)
	require.Equal(t, v, tk.Verification)
	v.Verified = false
	require.True(t, tk.Verification.Verified, "the ticket holds its own copy")
	require.Nil(t, tk.Erasure, "a new ticket is not erased")
}

func TestValidateNewRefusesWhatNewRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(in *NewTicket)
		field  string // "" when valid
	}{
		{"a valid submission passes", func(*NewTicket) {}, ""},
		{"a received time too far ahead fails", func(in *NewTicket) { in.ReceivedAt = testNow.Add(time.Hour) }, "received_time"},
		{"an empty description fails", func(in *NewTicket) { in.Description = " " }, "description"},
		{"an unknown verification method fails", func(in *NewTicket) {
			in.Verification = &IdentityVerification{Method: VerificationMethod(9)}
		}, "verification"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := validSubmission()
			tc.change(&in)
			err := ValidateNew(in, testPolicy(), testNow)
			_, _, newErr := New(in, testPolicy(), testNow)
			if tc.field == "" {
				require.NoError(t, err)
				require.NoError(t, newErr)
				return
			}
			e, ok := apierr.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, apierr.KindInvalidArgument, e.Kind)
			require.Equal(t, tc.field, e.Fields[0].Field)
			require.Equal(t, err.Error(), newErr.Error())
		})
	}
}
