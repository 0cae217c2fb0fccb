package customer_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/pkg/apierr"
	"kefu.dev/services/customer/internal/domain/customer"
)

var now = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func consent(purpose string) customer.Consent {
	return customer.Consent{Purpose: purpose, Channel: "phone", GrantedAt: now}
}

func individual(phone string) *customer.Customer {
	return &customer.Customer{
		ID: uuid.New(), Kind: customer.KindIndividual, State: customer.StateActive, Tier: "standard",
		Individual: &customer.Individual{Name: "张三", NationalID: "11010519491231002X"},
		Provenance: customer.Provenance{Source: customer.SourceCustomer},
		Contacts: []customer.Contact{{ID: uuid.New(), Kind: customer.ContactPhone, Value: phone,
			Provenance: customer.Provenance{Source: customer.SourceCustomer}, Consents: []customer.Consent{consent("follow_up")}}},
		Keys: []customer.BusinessKey{{Kind: customer.KeyOrder, Value: "SO-1", Provenance: customer.Provenance{Source: customer.SourceInteraction}}},
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(c *customer.Customer)
		field string // "" when valid
	}{
		{"a complete individual is valid", func(*customer.Customer) {}, ""},
		{"a lowercase x is normalised", func(c *customer.Customer) { c.Individual.NationalID = "11010519491231002x" }, ""},
		{"a bad check digit names the field", func(c *customer.Customer) { c.Individual.NationalID = "110105194912310021" }, "customer.individual.national_id"},
		{"a contact without consent is refused", func(c *customer.Customer) { c.Contacts[0].Consents = nil }, "customer.contacts[0].consents"},
		{"a withdrawn consent is no consent", func(c *customer.Customer) { c.Contacts[0].Consents[0].WithdrawnAt = now }, "customer.contacts[0].consents"},
		{"a phone that is not one", func(c *customer.Customer) { c.Contacts[0].Value = "call me" }, "customer.contacts[0].value"},
		{"a business key listed twice", func(c *customer.Customer) {
			c.Keys = append(c.Keys, customer.BusinessKey{Kind: customer.KeyOrder, Value: "so-1", Provenance: c.Keys[0].Provenance})
		}, "customer.business_keys[1]"},
		{"a profile without provenance", func(c *customer.Customer) { c.Provenance = customer.Provenance{} }, "customer.individual.provenance"},
		{"an enterprise without a company name", func(c *customer.Customer) {
			c.Kind, c.Individual, c.Enterprise = customer.KindEnterprise, nil, &customer.Enterprise{}
		}, "customer.enterprise.company_name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := individual("13812345678")
			tc.edit(c)
			err := c.Validate("customer.")
			if tc.field == "" {
				require.NoError(t, err)
				require.Equal(t, "11010519491231002X", c.Individual.NationalID)
				return
			}
			e, ok := apierr.As(err)
			require.True(t, ok, "%v", err)
			var fields []string
			for _, f := range e.Fields {
				fields = append(fields, f.Field)
			}
			require.Contains(t, fields, tc.field)
		})
	}
}

func TestViewMasksEverythingNotRevealed(t *testing.T) {
	t.Parallel()
	c := individual("13812345678")
	v, masked := c.View(customer.Reveal{})
	require.True(t, masked)
	require.Equal(t, "张*", v.Individual.Name)
	require.Equal(t, "110105********002X", v.Individual.NationalID)
	require.Equal(t, "138****5678", v.Contacts[0].Value)
	require.Equal(t, "13812345678", c.Contacts[0].Value, "the view is a copy")

	v, masked = c.View(customer.Reveal{Contacts: true})
	require.True(t, masked, "name and ID stay masked")
	require.Equal(t, "13812345678", v.Contacts[0].Value)
	v, masked = c.View(customer.RevealAll)
	require.False(t, masked)
	require.Equal(t, "张三", v.Individual.Name)
}

func TestConsentWithdrawalIsIdempotent(t *testing.T) {
	t.Parallel()
	c := individual("13812345678")
	id := c.Contacts[0].ID
	changed, err := c.WithdrawConsent(id, "follow_up", now)
	require.NoError(t, err)
	require.True(t, changed)
	require.False(t, c.Contacts[0].Usable())
	changed, err = c.WithdrawConsent(id, "", now.Add(time.Hour))
	require.NoError(t, err)
	require.False(t, changed, "nothing left to withdraw")
	require.Equal(t, now, c.Contacts[0].Consents[0].WithdrawnAt, "the first withdrawal time stays")
	_, err = c.WithdrawConsent(uuid.New(), "", now)
	require.Equal(t, apierr.KindNotFound, apierr.KindOf(err))
}

func TestMerge(t *testing.T) {
	t.Parallel()
	s, d := individual("13812345678"), individual("+86 138 1234 5678")
	d.Individual = &customer.Individual{Occupation: "教师"}
	s.Individual.Occupation = ""
	d.Contacts[0].Consents = []customer.Consent{consent("marketing")}
	d.Contacts = append(d.Contacts, customer.Contact{ID: uuid.New(), Kind: customer.ContactEmail, Value: "a@example.com",
		Provenance: customer.Provenance{Source: customer.SourceCustomer}, Consents: []customer.Consent{consent("follow_up")}})
	d.Keys[0].Value = "SO-2"
	require.NoError(t, s.Merge(d, now))
	require.Len(t, s.Contacts, 2, "the same phone in another spelling is one contact")
	require.Len(t, s.Contacts[0].Consents, 2, "with both purposes")
	require.Len(t, s.Keys, 2)
	require.Equal(t, "教师", s.Individual.Occupation, "a field the survivor lacked is taken")
	require.Equal(t, customer.StateMerged, d.State)
	require.Equal(t, s.ID, d.MergedInto)
	require.Empty(t, d.Contacts)

	e := &customer.Customer{ID: uuid.New(), Kind: customer.KindEnterprise, State: customer.StateActive}
	err := s.Merge(e, now)
	require.Equal(t, apierr.KindInvalidArgument, apierr.KindOf(err), "kinds must match")
	err = s.Merge(d, now)
	require.Equal(t, apierr.KindFailedPrecondition, apierr.KindOf(err), "a merged record cannot merge again")
}

func TestEraseLeavesAnAnonymousStubOnce(t *testing.T) {
	t.Parallel()
	c := individual("13812345678")
	require.True(t, c.Erase(now))
	require.Equal(t, customer.StateErased, c.State)
	require.Nil(t, c.Individual)
	require.Empty(t, c.Contacts)
	require.Empty(t, c.Keys)
	require.False(t, c.Erase(now.Add(time.Hour)), "a second erasure is a no-op")
	require.Equal(t, now, c.ErasedAt)
	_, err := c.AddKey(customer.BusinessKey{Kind: customer.KeyOrder, Value: "SO-9"})
	require.Equal(t, apierr.KindFailedPrecondition, apierr.KindOf(err))
}

func TestPhoneEndsWith(t *testing.T) {
	t.Parallel()
	c := individual("+86 138-1234-5678")
	require.True(t, c.PhoneEndsWith("5678"))
	require.False(t, c.PhoneEndsWith("1234"))
	c.Contacts[0].PersonID = uuid.New()
	require.False(t, c.PhoneEndsWith("5678"), "a contact person's phone is not the customer's")
}
