package customer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/prototext"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/testkit"
)

// delivery calls GetDeliveryContacts as the intake service (a service principal, like the notifier),
// checking value of kind when kind is set.
func (s *stack) delivery(t *testing.T, id string, kind intakev1.ContactKind, value string) (*customerv1.GetDeliveryContactsResponse, error) {
	t.Helper()
	req := &customerv1.GetDeliveryContactsRequest{CustomerId: id}
	if kind != intakev1.ContactKind_CONTACT_KIND_UNSPECIFIED {
		req.Check = &intakev1.Contact{Kind: kind, Value: value}
	}
	return s.client.GetDeliveryContacts(as(t.Context(), intakeP), req)
}

// plainRecord is person() without the values that must be unique across records (ID number, order
// number), reachable only by phone.
func plainRecord(phone string) *customerv1.Customer {
	c := person()
	c.Individual.NationalId = ""
	c.Contacts = c.Contacts[:1]
	c.Contacts[0].Value = phone
	c.BusinessKeys = nil
	return c
}

func TestDeliveryContactsAreTheUsableOnesUnmaskedAndChecksSayWhatTheRecordHolds(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := s.create(t, person())
	other := s.create(t, plainRecord("13700007777"))
	ids := map[intakev1.ContactKind]string{}
	for _, ct := range c.GetContacts() {
		ids[ct.GetKind()] = ct.GetContactId()
	}
	staff := as(t.Context(), agentP, "agent")
	// The email's only consent is withdrawn; a newer phone is added a minute later.
	_, err := s.client.WithdrawConsent(staff, &customerv1.WithdrawConsentRequest{CustomerId: c.GetCustomerId(),
		ContactId: ids[intakev1.ContactKind_CONTACT_KIND_EMAIL]})
	require.NoError(t, err)
	s.clock.Advance(time.Minute)
	added, err := s.client.AddContact(staff, &customerv1.AddContactRequest{CustomerId: c.GetCustomerId(),
		Contact: &customerv1.ContactPoint{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "139 0000 2222", Provenance: provided(), Consents: consented()}})
	require.NoError(t, err)

	resp, err := s.delivery(t, c.GetCustomerId(), intakev1.ContactKind_CONTACT_KIND_UNSPECIFIED, "")
	require.NoError(t, err)
	require.Equal(t, c.GetCustomerId(), resp.GetCustomerId())
	require.Equal(t, intakev1.Channel_CHANNEL_WECHAT, resp.GetPreferredChannel())
	require.Equal(t, customerv1.ContactStatus_CONTACT_STATUS_UNSPECIFIED, resp.GetCheckStatus(), "no check, no status")
	type got struct {
		id    string
		kind  intakev1.ContactKind
		value string
	}
	var contacts []got
	for _, ct := range resp.GetContacts() {
		contacts = append(contacts, got{ct.GetContactId(), ct.GetKind(), ct.GetValue()})
	}
	require.Equal(t, []got{
		{ids[intakev1.ContactKind_CONTACT_KIND_PHONE], intakev1.ContactKind_CONTACT_KIND_PHONE, "13812345678"},
		{ids[intakev1.ContactKind_CONTACT_KIND_WECHAT], intakev1.ContactKind_CONTACT_KIND_WECHAT, "wxid_zhangsan88"},
		{added.GetContactId(), intakev1.ContactKind_CONTACT_KIND_PHONE, "139 0000 2222"},
	}, contacts, "usable contacts in full, oldest first; the withdrawn email is left out")

	tests := []struct {
		name  string
		kind  intakev1.ContactKind
		value string
		want  customerv1.ContactStatus
	}{
		{"a held phone spelt another way is usable", intakev1.ContactKind_CONTACT_KIND_PHONE, "+86 138-1234-5678", customerv1.ContactStatus_CONTACT_STATUS_USABLE},
		{"a held WeChat id is usable", intakev1.ContactKind_CONTACT_KIND_WECHAT, "wxid_zhangsan88", customerv1.ContactStatus_CONTACT_STATUS_USABLE},
		{"the withdrawn email is withdrawn", intakev1.ContactKind_CONTACT_KIND_EMAIL, "zhang.san@example.com", customerv1.ContactStatus_CONTACT_STATUS_WITHDRAWN},
		{"the withdrawn email in another case is withdrawn", intakev1.ContactKind_CONTACT_KIND_EMAIL, "Zhang.San@Example.COM", customerv1.ContactStatus_CONTACT_STATUS_WITHDRAWN},
		{"a phone nobody holds is unknown", intakev1.ContactKind_CONTACT_KIND_PHONE, "13700000000", customerv1.ContactStatus_CONTACT_STATUS_UNKNOWN},
		{"another customer's phone is unknown to this one", intakev1.ContactKind_CONTACT_KIND_PHONE, "13700007777", customerv1.ContactStatus_CONTACT_STATUS_UNKNOWN},
		{"a WeChat id differing in case is unknown (ids are case-sensitive)", intakev1.ContactKind_CONTACT_KIND_WECHAT, "WXID_ZHANGSAN88", customerv1.ContactStatus_CONTACT_STATUS_UNKNOWN},
		{"a held phone number checked as a WeChat id is unknown", intakev1.ContactKind_CONTACT_KIND_WECHAT, "13812345678", customerv1.ContactStatus_CONTACT_STATUS_UNKNOWN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := s.delivery(t, c.GetCustomerId(), tc.kind, tc.value)
			require.NoError(t, err)
			require.Equal(t, tc.want, resp.GetCheckStatus())
			require.Len(t, resp.GetContacts(), 3, "a check changes nothing in the list")
			require.NotContains(t, prototext.Format(resp), "zhang.san", "a withdrawn value is never returned")
		})
	}

	same, err := s.delivery(t, other.GetCustomerId(), intakev1.ContactKind_CONTACT_KIND_PHONE, "13700007777")
	require.NoError(t, err)
	require.Equal(t, customerv1.ContactStatus_CONTACT_STATUS_USABLE, same.GetCheckStatus(), "the control: its holder knows it")

	_, err = s.delivery(t, uuid.NewString(), intakev1.ContactKind_CONTACT_KIND_UNSPECIFIED, "")
	requireCode(t, err, codes.NotFound)
	_, err = s.client.GetDeliveryContacts(as(t.Context(), intakeP), &customerv1.GetDeliveryContactsRequest{CustomerId: c.GetCustomerId(),
		Check: &intakev1.Contact{Kind: intakev1.ContactKind_CONTACT_KIND_EMAIL, Value: "not an address"}})
	requireCode(t, err, codes.InvalidArgument)

	// Every call is a personal-data read on record.
	testkit.EventuallyNoError(t, func() error {
		var n int
		if err := s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM audit_records WHERE method = '/kefu.customer.v1.CustomerService/GetDeliveryContacts'
			AND kind = 'personal_data_read' AND object_type = 'customer' AND object_id = $1 AND principal = $2 AND result = 'OK'`,
			c.GetCustomerId(), intakeP).Scan(&n); err != nil {
			return err
		}
		if want := 1 + len(tests); n != want {
			return fmt.Errorf("%d delivery reads on record, want %d", n, want)
		}
		return nil
	}, wait)
}

func TestDeliveryContactsOfMergedAndErasedRecords(t *testing.T) {
	t.Parallel()
	s := start(t)
	a := s.create(t, plainRecord("13812345678"))
	s.clock.Advance(time.Minute) // the duplicate's phone is the newer one
	dupReq := plainRecord("13600009999")
	dupReq.PreferredChannel = intakev1.Channel_CHANNEL_EMAIL
	d := s.create(t, dupReq)
	_, err := s.client.MergeCustomers(as(t.Context(), "staff:lead-1", "supervisor"), &customerv1.MergeCustomersRequest{
		SurvivorId: a.GetCustomerId(), DuplicateId: d.GetCustomerId(), SurvivorEtag: a.GetEtag(), DuplicateEtag: d.GetEtag()})
	require.NoError(t, err)

	resp, err := s.delivery(t, d.GetCustomerId(), intakev1.ContactKind_CONTACT_KIND_PHONE, "13600009999")
	require.NoError(t, err)
	require.Equal(t, a.GetCustomerId(), resp.GetCustomerId(), "a merged record answers for its survivor")
	require.Equal(t, intakev1.Channel_CHANNEL_WECHAT, resp.GetPreferredChannel(), "the survivor's preference")
	require.Equal(t, customerv1.ContactStatus_CONTACT_STATUS_USABLE, resp.GetCheckStatus(), "the moved phone is the survivor's now")
	var values []string
	for _, ct := range resp.GetContacts() {
		values = append(values, ct.GetValue())
	}
	require.Equal(t, []string{"13812345678", "13600009999"}, values)

	e := s.create(t, plainRecord("13511112222"))
	_, err = s.client.EraseCustomer(as(t.Context(), adminP), &customerv1.EraseCustomerRequest{CustomerId: e.GetCustomerId(), Reason: "PIPL request PR-1"})
	require.NoError(t, err)
	erased, err := s.delivery(t, e.GetCustomerId(), intakev1.ContactKind_CONTACT_KIND_PHONE, "13511112222")
	require.NoError(t, err, "an erased record is not an error")
	require.Equal(t, e.GetCustomerId(), erased.GetCustomerId())
	require.Empty(t, erased.GetContacts())
	require.Equal(t, intakev1.Channel_CHANNEL_UNSPECIFIED, erased.GetPreferredChannel())
	require.Equal(t, customerv1.ContactStatus_CONTACT_STATUS_UNKNOWN, erased.GetCheckStatus())

	// Erasing the survivor leaves the merged record pointing at an erased one: nothing to reach either.
	_, err = s.client.EraseCustomer(as(t.Context(), adminP), &customerv1.EraseCustomerRequest{CustomerId: a.GetCustomerId(), Reason: "PIPL request PR-2"})
	require.NoError(t, err)
	gone, err := s.delivery(t, d.GetCustomerId(), intakev1.ContactKind_CONTACT_KIND_UNSPECIFIED, "")
	require.NoError(t, err)
	require.Equal(t, a.GetCustomerId(), gone.GetCustomerId())
	require.Empty(t, gone.GetContacts())
}

func TestDeliveryContactsAreForServicesOnly(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := s.create(t, person())
	req := &customerv1.GetDeliveryContactsRequest{CustomerId: c.GetCustomerId()}
	for _, tc := range []struct {
		name  string
		p     string
		roles []string
	}{
		{"an adapter", adapterP, nil},
		{"an agent", agentP, []string{"agent"}},
		{"an auditor", "staff:aud-1", []string{"auditor"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.client.GetDeliveryContacts(as(t.Context(), tc.p, tc.roles...), req)
			requireCode(t, err, codes.PermissionDenied)
		})
	}
	_, err := s.client.GetDeliveryContacts(as(t.Context(), intakeP), req)
	require.NoError(t, err, "the control: a service may")
}
