package customer_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	customerv1 "kefu.dev/pkg/api/kefu/customer/v1"
	eventsv1 "kefu.dev/pkg/api/kefu/events/v1"
	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
	"kefu.dev/pkg/testkit"
)

// plaintextHits returns the tables of the customer schema in which needle appears as text or as the hex
// of its bytes (how bytea renders) in any row: a direct read of the database by someone without the keys.
func (s *stack) plaintextHits(t *testing.T, needle string) []string {
	t.Helper()
	rows, err := s.db.Pool.Query(t.Context(), `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'customer' AND table_type = 'BASE TABLE' ORDER BY table_name`)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(t, rows.Err())
	require.Contains(t, tables, "customers")
	var hits []string
	for _, tb := range tables {
		var n int
		err := s.db.Pool.QueryRow(t.Context(), fmt.Sprintf(`SELECT count(*) FROM customer.%q t
			WHERE strpos(t::text, $1) > 0 OR strpos(t::text, encode(convert_to($1, 'UTF8'), 'hex')) > 0`, tb), needle).Scan(&n)
		require.NoError(t, err)
		if n > 0 {
			hits = append(hits, tb)
		}
	}
	return hits
}

func TestCreateStoresPersonalDataEncryptedAndReadsItMasked(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := s.create(t, person())

	require.True(t, c.GetMasked())
	require.Equal(t, "张*", c.GetIndividual().GetName())
	require.Equal(t, "110105********002X", c.GetIndividual().GetNationalId())
	require.Equal(t, "standard", c.GetTier(), "the default tier")
	require.Equal(t, "1", c.GetEtag())
	values := map[intakev1.ContactKind]string{}
	for _, ct := range c.GetContacts() {
		values[ct.GetKind()] = ct.GetValue()
		require.True(t, ct.GetUsable())
		require.NotNil(t, ct.GetProvenance().GetRecordTime())
	}
	require.Equal(t, "138****5678", values[intakev1.ContactKind_CONTACT_KIND_PHONE])
	require.Equal(t, "z***@example.com", values[intakev1.ContactKind_CONTACT_KIND_EMAIL])
	require.NotContains(t, values[intakev1.ContactKind_CONTACT_KIND_WECHAT], "zhangsan")

	// Nobody reading the database sees the ID number, the phone, the email, the name or the WeChat id.
	for _, secret := range []string{"11010519491231002X", "13812345678", "zhang.san@example.com", "张三", "wxid_zhangsan88", "教师"} {
		require.Empty(t, s.plaintextHits(t, secret), "plaintext %q found in the database", secret)
	}
	// The control: the same search finds what is stored in plaintext (the order number).
	require.Contains(t, s.plaintextHits(t, "SO-1001"), "business_keys")

	// Every read path masks: Get, List, Find.
	got, err := s.client.GetCustomer(as(t.Context(), agentP, "agent"), &customerv1.GetCustomerRequest{CustomerId: c.GetCustomerId()})
	require.NoError(t, err)
	require.True(t, proto.Equal(c, got.GetCustomer()), "get returns what create returned")
	list, err := s.client.ListCustomers(as(t.Context(), agentP, "agent"), &customerv1.ListCustomersRequest{})
	require.NoError(t, err)
	require.Len(t, list.GetCustomers(), 1)
	require.True(t, proto.Equal(c, list.GetCustomers()[0]))
	found, err := s.client.FindCustomers(as(t.Context(), agentP, "agent"), &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_Phone{Phone: "+86 138-1234-5678"}})
	require.NoError(t, err)
	require.Len(t, found.GetCustomers(), 1)
	require.True(t, proto.Equal(c, found.GetCustomers()[0]))

	// Reveal unmasks only what it names, and Export everything.
	rev, err := s.client.RevealCustomer(as(t.Context(), agentP, "agent"), &customerv1.RevealCustomerRequest{
		CustomerId: c.GetCustomerId(), Fields: []customerv1.RevealField{customerv1.RevealField_REVEAL_FIELD_CONTACTS},
		Reason: "ticket GD202611190001: courier needs the phone"})
	require.NoError(t, err)
	require.True(t, rev.GetCustomer().GetMasked(), "the name and ID stay masked")
	require.Equal(t, "张*", rev.GetCustomer().GetIndividual().GetName())
	var phones []string
	for _, ct := range rev.GetCustomer().GetContacts() {
		phones = append(phones, ct.GetValue())
	}
	require.Contains(t, phones, "13812345678")
	ex, err := s.client.ExportCustomer(as(t.Context(), adminP), &customerv1.ExportCustomerRequest{CustomerId: c.GetCustomerId(), Reason: "access request AR-7"})
	require.NoError(t, err)
	require.False(t, ex.GetCustomer().GetMasked())
	require.Equal(t, "张三", ex.GetCustomer().GetIndividual().GetName())
	require.Equal(t, "11010519491231002X", ex.GetCustomer().GetIndividual().GetNationalId())
	require.Equal(t, "教师", ex.GetCustomer().GetIndividual().GetOccupation())

	// The created event carries ids and codes only.
	evs := s.events(t, 1)
	require.Equal(t, "kefu.customer.created", evs[0].subject)
	require.Equal(t, c.GetCustomerId(), evs[0].meta.GetAggregateId())
	require.EqualValues(t, 1, evs[0].meta.GetAggregateSeq())
	for _, secret := range []string{"13812345678", "zhang", "张三", "11010519491231002X"} {
		require.NotContains(t, string(evs[0].data), secret)
	}
}

func TestLookupsUseBlindIndexesAndNormalise(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := s.create(t, person())
	other := person()
	other.Individual.NationalId = "110105194912310038"
	other.Individual.Name = "李四"
	other.Contacts = other.Contacts[:1]
	other.Contacts[0].Value = "13900001111"
	other.BusinessKeys[0].Value = "SO-2002"
	s.create(t, other)

	ctx := as(t.Context(), agentP, "agent")
	tests := []struct {
		name  string
		key   *customerv1.FindCustomersRequest
		found bool
	}{
		{"phone with country code and dashes", &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_Phone{Phone: "0086 138-1234-5678"}}, true},
		{"email in another case", &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_Email{Email: "Zhang.San@Example.COM"}}, true},
		{"wechat id", &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_WechatId{WechatId: "wxid_zhangsan88"}}, true},
		{"order number in lower case", &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_OrderNumber{OrderNumber: "so-1001"}}, true},
		{"id number with a lowercase x", &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_NationalId{NationalId: "11010519491231002x"}}, true},
		{"unknown phone", &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_Phone{Phone: "13800000000"}}, false},
		{"id number with a bad check digit finds nothing", &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_NationalId{NationalId: "110105194912310021"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := s.client.FindCustomers(ctx, tc.key)
			require.NoError(t, err)
			if !tc.found {
				require.Empty(t, resp.GetCustomers())
				return
			}
			require.Len(t, resp.GetCustomers(), 1)
			require.Equal(t, c.GetCustomerId(), resp.GetCustomers()[0].GetCustomerId())
		})
	}
}

func TestCreateRejectsBadInputNamingTheField(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := as(t.Context(), agentP, "agent")
	tests := []struct {
		name  string
		edit  func(c *customerv1.Customer)
		field string
	}{
		{"id number with a bad check digit", func(c *customerv1.Customer) { c.Individual.NationalId = "110105194912310021" }, "customer.individual.national_id"},
		{"id number of 17 characters", func(c *customerv1.Customer) { c.Individual.NationalId = "11010519491231002" }, "customer.individual.national_id"},
		{"contact without consent", func(c *customerv1.Customer) { c.Contacts[0].Consents = nil }, "customer.contacts[0].consents"},
		{"contact without provenance", func(c *customerv1.Customer) { c.Contacts[1].Provenance = nil }, "customer.contacts[1].provenance"},
		{"profile without provenance", func(c *customerv1.Customer) { c.Individual.Provenance = nil }, "customer.individual.provenance"},
		{"enterprise profile on an individual", func(c *customerv1.Customer) {
			c.Enterprise = &customerv1.Enterprise{CompanyName: "X"}
		}, "customer.enterprise"},
		{"unknown tier", func(c *customerv1.Customer) { c.Tier = "platinum" }, "customer.tier"},
		{"bad credit code", func(c *customerv1.Customer) {
			c.Kind, c.Individual = customerv1.CustomerKind_CUSTOMER_KIND_ENTERPRISE, nil
			c.Enterprise = &customerv1.Enterprise{CompanyName: "某某公司", CreditCode: "91110000600037341A", Provenance: provided()}
		}, "customer.enterprise.credit_code"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := person()
			tc.edit(c)
			_, err := s.client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{IdempotencyKey: key("bad"), Customer: c})
			requireCode(t, err, codes.InvalidArgument)
			require.Contains(t, badFields(err), tc.field)
			require.NotContains(t, err.Error(), "110105194912310021", "errors never echo personal data")
		})
	}
	var n int
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM customers`).Scan(&n))
	require.Zero(t, n, "nothing was stored")
}

func TestCreateIsIdempotent(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := as(t.Context(), agentP, "agent")
	req := &customerv1.CreateCustomerRequest{IdempotencyKey: key("same"), Customer: person()}
	var wg sync.WaitGroup
	ids := make([]string, 5)
	for i := range ids {
		wg.Go(func() {
			resp, err := s.client.CreateCustomer(ctx, req)
			if err == nil {
				ids[i] = resp.GetCustomer().GetCustomerId()
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id)
	}
	other := proto.Clone(req).(*customerv1.CreateCustomerRequest)
	other.Customer.Tier = "vip"
	_, err := s.client.CreateCustomer(ctx, other)
	requireCode(t, err, codes.AlreadyExists)
	require.Equal(t, "IDEMPOTENCY_KEY_REUSED", errorInfo(err).GetReason())
}

func TestUpdateNeedsTheCurrentEtag(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := s.create(t, person())
	ctx := as(t.Context(), agentP, "agent")
	upd := func(etag, tier string) (*customerv1.Customer, error) {
		resp, err := s.client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
			Customer:   &customerv1.Customer{CustomerId: c.GetCustomerId(), Etag: etag, Tier: tier},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"tier"}}})
		return resp.GetCustomer(), err
	}
	v2, err := upd(c.GetEtag(), "vip")
	require.NoError(t, err)
	require.Equal(t, "vip", v2.GetTier())
	require.Equal(t, "2", v2.GetEtag())

	_, err = upd(c.GetEtag(), "key_account")
	st := requireCode(t, err, codes.Aborted)
	require.Equal(t, "ETAG_MISMATCH", errorInfo(err).GetReason(), st.Message())

	// A profile change needs its provenance.
	_, err = s.client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
		Customer:   &customerv1.Customer{CustomerId: c.GetCustomerId(), Etag: v2.GetEtag(), Individual: &customerv1.Individual{Name: "张三丰"}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"individual.name"}}})
	requireCode(t, err, codes.InvalidArgument)
	resp, err := s.client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
		Customer: &customerv1.Customer{CustomerId: c.GetCustomerId(), Etag: `"` + v2.GetEtag() + `"`,
			Individual: &customerv1.Individual{Name: "张三丰", Provenance: &customerv1.Provenance{Source: customerv1.Source_SOURCE_AUTHORIZED_PARTNER, Detail: "partner X"}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"individual.name", "individual.provenance", "etag"}}})
	require.NoError(t, err)
	require.Equal(t, "张**", resp.GetCustomer().GetIndividual().GetName())
	require.Equal(t, customerv1.Source_SOURCE_AUTHORIZED_PARTNER, resp.GetCustomer().GetIndividual().GetProvenance().GetSource())

	_, err = s.client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
		Customer:   &customerv1.Customer{CustomerId: c.GetCustomerId(), Etag: resp.GetCustomer().GetEtag()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"contacts"}}})
	requireCode(t, err, codes.InvalidArgument)

	evs := s.events(t, 3)
	var updated []*eventsv1.CustomerUpdated
	for _, e := range evs {
		if e.subject == "kefu.customer.updated" {
			var u eventsv1.CustomerUpdated
			require.NoError(t, proto.Unmarshal(e.data, &u))
			updated = append(updated, &u)
		}
	}
	require.Len(t, updated, 2)
	require.Equal(t, []string{"tier"}, updated[0].GetChanged())
	require.Equal(t, []string{"individual.name", "individual.provenance"}, updated[1].GetChanged())
}

func TestConsentWithdrawal(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := s.create(t, person())
	ctx := as(t.Context(), agentP, "agent")
	phone := c.GetContacts()[0]
	resp, err := s.client.WithdrawConsent(ctx, &customerv1.WithdrawConsentRequest{CustomerId: c.GetCustomerId(), ContactId: phone.GetContactId(), Purpose: "service_follow_up"})
	require.NoError(t, err)
	got := resp.GetCustomer().GetContacts()[0]
	require.False(t, got.GetUsable(), "no consent left")
	require.NotNil(t, got.GetConsents()[0].GetWithdrawTime())
	etag := resp.GetCustomer().GetEtag()

	again, err := s.client.WithdrawConsent(ctx, &customerv1.WithdrawConsentRequest{CustomerId: c.GetCustomerId(), ContactId: phone.GetContactId()})
	require.NoError(t, err)
	require.Equal(t, etag, again.GetCustomer().GetEtag(), "a second withdrawal changes nothing")

	rec, err := s.client.RecordConsent(ctx, &customerv1.RecordConsentRequest{CustomerId: c.GetCustomerId(), ContactId: phone.GetContactId(),
		Consent: &customerv1.Consent{Purpose: "service_follow_up", Channel: intakev1.Channel_CHANNEL_APP}})
	require.NoError(t, err)
	require.True(t, rec.GetCustomer().GetContacts()[0].GetUsable())
	require.Len(t, rec.GetCustomer().GetContacts()[0].GetConsents(), 2, "the withdrawn consent stays on record")

	evs := s.events(t, 3)
	var changes []*eventsv1.CustomerConsentChanged
	for _, e := range evs {
		if e.subject == "kefu.customer.consent_changed" {
			var cc eventsv1.CustomerConsentChanged
			require.NoError(t, proto.Unmarshal(e.data, &cc))
			changes = append(changes, &cc)
		}
	}
	require.Len(t, changes, 2)
	require.True(t, changes[0].GetWithdrawn())
	require.False(t, changes[0].GetContactUsable())
	require.False(t, changes[1].GetWithdrawn())

	// A contact without consent cannot be added.
	_, err = s.client.AddContact(ctx, &customerv1.AddContactRequest{CustomerId: c.GetCustomerId(),
		Contact: &customerv1.ContactPoint{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "13700001234", Provenance: provided()}})
	requireCode(t, err, codes.InvalidArgument)
	require.Contains(t, badFields(err), "contact.consents")
}

func TestMergeMovesContactsAndKeys(t *testing.T) {
	t.Parallel()
	s := start(t)
	a := s.create(t, person())
	dupReq := person()
	dupReq.Individual = &customerv1.Individual{Name: "张三", Provenance: provided()}
	dupReq.Contacts = []*customerv1.ContactPoint{
		{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "13812345678", Provenance: provided(), Consents: []*customerv1.Consent{{Purpose: "marketing", Channel: intakev1.Channel_CHANNEL_APP}}},
		{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "13600009999", Provenance: provided(), Consents: consented()},
	}
	dupReq.BusinessKeys[0].Value = "SO-3003"
	d := s.create(t, dupReq)
	ctx := as(t.Context(), "staff:lead-1", "supervisor")

	_, err := s.client.MergeCustomers(ctx, &customerv1.MergeCustomersRequest{SurvivorId: a.GetCustomerId(), DuplicateId: d.GetCustomerId(), SurvivorEtag: a.GetEtag(), DuplicateEtag: "9"})
	requireCode(t, err, codes.Aborted)
	_, err = s.client.MergeCustomers(as(t.Context(), agentP, "agent"), &customerv1.MergeCustomersRequest{SurvivorId: a.GetCustomerId(), DuplicateId: d.GetCustomerId(), SurvivorEtag: a.GetEtag(), DuplicateEtag: d.GetEtag()})
	requireCode(t, err, codes.PermissionDenied)

	resp, err := s.client.MergeCustomers(ctx, &customerv1.MergeCustomersRequest{SurvivorId: a.GetCustomerId(), DuplicateId: d.GetCustomerId(), SurvivorEtag: a.GetEtag(), DuplicateEtag: d.GetEtag()})
	require.NoError(t, err)
	m := resp.GetCustomer()
	require.Len(t, m.GetContacts(), 4, "the shared phone is kept once, the new phone moves")
	require.Len(t, m.GetContacts()[0].GetConsents(), 2, "the duplicate's purpose joins the survivor's phone")
	var keys []string
	for _, k := range m.GetBusinessKeys() {
		keys = append(keys, k.GetValue())
	}
	require.ElementsMatch(t, []string{"SO-1001", "SO-3003"}, keys)

	gone, err := s.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{CustomerId: d.GetCustomerId()})
	require.NoError(t, err)
	require.Equal(t, customerv1.CustomerState_CUSTOMER_STATE_MERGED, gone.GetCustomer().GetState())
	require.Equal(t, a.GetCustomerId(), gone.GetCustomer().GetMergedInto())
	require.Empty(t, gone.GetCustomer().GetContacts())

	found, err := s.client.FindCustomers(ctx, &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_OrderNumber{OrderNumber: "SO-3003"}})
	require.NoError(t, err)
	require.Len(t, found.GetCustomers(), 1)
	require.Equal(t, a.GetCustomerId(), found.GetCustomers()[0].GetCustomerId())

	_, err = s.client.UpdateCustomer(ctx, &customerv1.UpdateCustomerRequest{
		Customer:   &customerv1.Customer{CustomerId: d.GetCustomerId(), Etag: gone.GetCustomer().GetEtag(), Tier: "vip"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"tier"}}})
	requireCode(t, err, codes.FailedPrecondition)
	require.Equal(t, "merged", errorInfo(err).GetMetadata()["current_state"])

	evs := s.events(t, 4)
	var merged *eventsv1.CustomerMerged
	for _, e := range evs {
		if e.subject == "kefu.customer.merged" {
			merged = &eventsv1.CustomerMerged{}
			require.NoError(t, proto.Unmarshal(e.data, merged))
		}
	}
	require.NotNil(t, merged)
	require.Equal(t, d.GetCustomerId(), merged.GetDuplicateId())
	require.Equal(t, a.GetCustomerId(), merged.GetSurvivorId())
	require.Equal(t, d.GetCustomerId(), merged.GetMeta().GetAggregateId())
}

func TestEraseCryptoShredsAndIsANoOpTheSecondTime(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := s.create(t, person())
	keep := person()
	keep.Individual.NationalId = ""
	keep.Contacts = keep.Contacts[:1]
	keep.Contacts[0].Value = "13911112222"
	keep.BusinessKeys = nil
	other := s.create(t, keep)
	ctx := as(t.Context(), adminP)

	_, err := s.client.EraseCustomer(as(t.Context(), agentP, "agent"), &customerv1.EraseCustomerRequest{CustomerId: c.GetCustomerId(), Reason: "PIPL request PR-9"})
	requireCode(t, err, codes.PermissionDenied)

	var wrapped []byte
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT data_key FROM customers WHERE id = $1`, c.GetCustomerId()).Scan(&wrapped))
	require.NotEmpty(t, wrapped)

	resp, err := s.client.EraseCustomer(ctx, &customerv1.EraseCustomerRequest{CustomerId: c.GetCustomerId(), Reason: "PIPL request PR-9", EraseCustomerWords: true})
	require.NoError(t, err)
	e := resp.GetCustomer()
	require.Equal(t, customerv1.CustomerState_CUSTOMER_STATE_ERASED, e.GetState())
	require.NotNil(t, e.GetEraseTime())
	require.Nil(t, e.GetIndividual())
	require.Empty(t, e.GetContacts())
	require.Empty(t, e.GetBusinessKeys())

	// The data key is gone, and with it every sealed field; the blind indexes and contacts too.
	var dk, profile []byte
	var idx []byte
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT data_key, profile, national_id_index FROM customers WHERE id = $1`, c.GetCustomerId()).Scan(&dk, &profile, &idx))
	require.Nil(t, dk)
	require.Nil(t, profile)
	require.Nil(t, idx)
	var contacts int
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM contacts WHERE customer_id = $1`, c.GetCustomerId()).Scan(&contacts))
	require.Zero(t, contacts)
	require.Empty(t, s.plaintextHits(t, "SO-1001"), "the order number (stored in plaintext) is gone too")
	require.Empty(t, s.plaintextHits(t, fmt.Sprintf("%x", wrapped)), "the wrapped data key is nowhere")
	for _, secret := range []string{"11010519491231002X", "13812345678", "zhang.san@example.com", "张三"} {
		require.Empty(t, s.plaintextHits(t, secret))
	}

	again, err := s.client.EraseCustomer(ctx, &customerv1.EraseCustomerRequest{CustomerId: c.GetCustomerId(), Reason: "PIPL request PR-9 retry"})
	require.NoError(t, err)
	require.Equal(t, e.GetEtag(), again.GetCustomer().GetEtag(), "a second erasure is a no-op")

	found, err := s.client.FindCustomers(ctx, &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_Phone{Phone: "13812345678"}})
	require.NoError(t, err)
	require.Empty(t, found.GetCustomers())
	still, err := s.client.GetCustomer(ctx, &customerv1.GetCustomerRequest{CustomerId: other.GetCustomerId()})
	require.NoError(t, err)
	require.Len(t, still.GetCustomer().GetContacts(), 1, "other customers are untouched")

	evs := s.events(t, 3)
	var erased []streamed
	for _, ev := range evs {
		if ev.subject == "kefu.customer.erased" {
			erased = append(erased, ev)
		}
	}
	require.Len(t, erased, 1, "one erasure event however often erasure is asked")
	var body eventsv1.CustomerErased
	require.NoError(t, proto.Unmarshal(erased[0].data, &body))
	require.True(t, body.GetEraseCustomerWords())
	require.Equal(t, c.GetCustomerId(), body.GetMeta().GetAggregateId())
}

func TestRevealAndExportAreAudited(t *testing.T) {
	t.Parallel()
	s := start(t)
	c := s.create(t, person())
	_, err := s.client.RevealCustomer(as(t.Context(), agentP, "agent"), &customerv1.RevealCustomerRequest{CustomerId: c.GetCustomerId(),
		Fields: []customerv1.RevealField{customerv1.RevealField_REVEAL_FIELD_NATIONAL_ID}, Reason: "identity check for refund"})
	require.NoError(t, err)
	_, err = s.client.RevealCustomer(as(t.Context(), agentP, "agent"), &customerv1.RevealCustomerRequest{CustomerId: c.GetCustomerId(),
		Fields: []customerv1.RevealField{customerv1.RevealField_REVEAL_FIELD_NATIONAL_ID}})
	requireCode(t, err, codes.InvalidArgument)
	require.Contains(t, badFields(err), "reason")
	_, err = s.client.RevealCustomer(as(t.Context(), "staff:aud-1", "auditor"), &customerv1.RevealCustomerRequest{CustomerId: c.GetCustomerId(),
		Fields: []customerv1.RevealField{customerv1.RevealField_REVEAL_FIELD_NATIONAL_ID}, Reason: "curious auditor"})
	requireCode(t, err, codes.PermissionDenied)

	testkit.EventuallyNoError(t, func() error {
		var n int
		if err := s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM audit_records WHERE method = '/kefu.customer.v1.CustomerService/RevealCustomer'
			AND kind = 'personal_data_read' AND object_type = 'customer' AND object_id = $1 AND principal = $2 AND result = 'OK'
			AND reason = 'identity check for refund' AND fields = ARRAY['national_id']`,
			c.GetCustomerId(), agentP).Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("%d reveal records", n)
		}
		return nil
	}, wait)
	var refused int
	require.NoError(t, s.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM audit_records WHERE method = '/kefu.customer.v1.CustomerService/RevealCustomer'
		AND result = 'PERMISSION_DENIED'`).Scan(&refused))
	require.Equal(t, 1, refused, "refused reveals are on record too")
}

func TestTiers(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := as(t.Context(), adminP)
	resp, err := s.client.ListTiers(ctx, &customerv1.ListTiersRequest{})
	require.NoError(t, err)
	var codesSeen []string
	for _, tr := range resp.GetTiers() {
		codesSeen = append(codesSeen, tr.GetCode())
		require.True(t, tr.GetBuiltin())
	}
	require.ElementsMatch(t, []string{"standard", "vip", "key_account"}, codesSeen)
	_, err = s.client.CreateTier(ctx, &customerv1.CreateTierRequest{Tier: &customerv1.Tier{Code: "platinum", DisplayName: "白金"}})
	require.NoError(t, err)
	_, err = s.client.CreateTier(ctx, &customerv1.CreateTierRequest{Tier: &customerv1.Tier{Code: "platinum", DisplayName: "again"}})
	requireCode(t, err, codes.AlreadyExists)
	_, err = s.client.CreateTier(as(t.Context(), agentP, "agent"), &customerv1.CreateTierRequest{Tier: &customerv1.Tier{Code: "gold", DisplayName: "金"}})
	requireCode(t, err, codes.PermissionDenied)
	c := person()
	c.Tier = "platinum"
	got := s.create(t, c)
	require.Equal(t, "platinum", got.GetTier())
}

func TestListPagesNewestFirstWithFilters(t *testing.T) {
	t.Parallel()
	s := start(t)
	var ids []string
	for i := range 5 {
		c := person()
		c.Individual.NationalId = ""
		c.Contacts = c.Contacts[:1]
		c.Contacts[0].Value = fmt.Sprintf("1390000%04d", i)
		c.BusinessKeys[0].Value = fmt.Sprintf("SO-9%03d", i)
		if i%2 == 0 {
			c.Tier = "vip"
		}
		ids = append(ids, s.create(t, c).GetCustomerId())
	}
	ctx := as(t.Context(), agentP, "agent")
	var seen []string
	tok := ""
	for {
		resp, err := s.client.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 2, PageToken: tok})
		require.NoError(t, err)
		for _, c := range resp.GetCustomers() {
			seen = append(seen, c.GetCustomerId())
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	slices.Reverse(ids)
	require.Equal(t, ids, seen)
	vip, err := s.client.ListCustomers(ctx, &customerv1.ListCustomersRequest{Tier: "vip"})
	require.NoError(t, err)
	require.Len(t, vip.GetCustomers(), 3)
	first, err := s.client.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 1})
	require.NoError(t, err)
	_, err = s.client.ListCustomers(ctx, &customerv1.ListCustomersRequest{PageSize: 1, Tier: "vip", PageToken: first.GetNextPageToken()})
	requireCode(t, err, codes.InvalidArgument)
}

// TestNoPersonalDataInLogs runs the calls that handle personal data — including refused and failing ones,
// whose errors are logged — and searches everything the service logged at debug level for it.
func TestNoPersonalDataInLogs(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := as(t.Context(), agentP, "agent")
	c := s.create(t, person())
	bad := person()
	bad.Individual.NationalId = "110105194912310021"
	_, err := s.client.CreateCustomer(ctx, &customerv1.CreateCustomerRequest{IdempotencyKey: key("bad"), Customer: bad})
	requireCode(t, err, codes.InvalidArgument)
	_, err = s.client.FindCustomers(ctx, &customerv1.FindCustomersRequest{Key: &customerv1.FindCustomersRequest_Email{Email: "zhang.san@example.com"}})
	require.NoError(t, err)
	_, err = s.client.RevealCustomer(ctx, &customerv1.RevealCustomerRequest{CustomerId: c.GetCustomerId(),
		Fields: []customerv1.RevealField{customerv1.RevealField_REVEAL_FIELD_CONTACTS, customerv1.RevealField_REVEAL_FIELD_NAME}, Reason: "call back about the refund"})
	require.NoError(t, err)
	_, err = s.client.VerifyIdentity(as(t.Context(), adapterP), &customerv1.VerifyIdentityRequest{
		Subject: &customerv1.VerifyIdentityRequest_Contact{Contact: &customerv1.ContactRef{Kind: intakev1.ContactKind_CONTACT_KIND_PHONE, Value: "13812345678"}},
		Fact:    &customerv1.VerifyIdentityRequest_PhoneLast4{PhoneLast4: "5678"}})
	require.NoError(t, err)
	_, err = s.client.ResolveCustomer(as(t.Context(), intakeP), resolveReq("13812345678", true))
	require.NoError(t, err)
	_, err = s.client.EraseCustomer(as(t.Context(), adminP), &customerv1.EraseCustomerRequest{CustomerId: c.GetCustomerId(), Reason: "erasure request"})
	require.NoError(t, err)

	logs := s.logs.String()
	require.Contains(t, logs, "RevealCustomer", "the calls were logged at all")
	for _, secret := range []string{"13812345678", "zhang.san@example.com", "张三", "11010519491231002X", "110105194912310021", "wxid_zhangsan88", "教师"} {
		require.NotContains(t, logs, secret)
	}
}
