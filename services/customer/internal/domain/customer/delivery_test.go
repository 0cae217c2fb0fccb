package customer_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"kefu.dev/services/customer/internal/domain/customer"
)

// deliveryRecord holds an email (usable), a phone added earlier (usable), a WeChat id whose only consent
// was withdrawn, and a second copy of the phone with its consent withdrawn (as a merge leaves it).
func deliveryRecord() *customer.Customer {
	c := individual("13812345678")
	c.Contacts[0].CreatedAt = now.Add(-time.Hour)
	withdrawn := consent("follow_up")
	withdrawn.WithdrawnAt = now
	email := customer.Contact{ID: uuid.New(), Kind: customer.ContactEmail, Value: "zhang@example.com",
		Consents: []customer.Consent{consent("follow_up")}, CreatedAt: now.Add(-2 * time.Hour)}
	wechat := customer.Contact{ID: uuid.New(), Kind: customer.ContactWeChat, Value: "wxid_zhang",
		Consents: []customer.Consent{withdrawn}, CreatedAt: now}
	phoneCopy := customer.Contact{ID: uuid.New(), Kind: customer.ContactPhone, Value: "+86 138 1234 5678",
		Consents: []customer.Consent{withdrawn}, CreatedAt: now}
	c.Contacts = append(c.Contacts, email, wechat, phoneCopy)
	return c
}

func TestUsableContactsAreTheConsentedOnesOldestFirst(t *testing.T) {
	t.Parallel()
	c := deliveryRecord()
	got := c.UsableContacts()
	require.Len(t, got, 2)
	require.Equal(t, "zhang@example.com", got[0].Value, "the oldest comes first")
	require.Equal(t, "13812345678", got[1].Value)

	got[0].Consents[0].Purpose = "changed"
	require.Equal(t, "follow_up", c.Contacts[1].Consents[0].Purpose, "the result shares nothing with the record")

	c.Erase(now)
	require.Empty(t, c.UsableContacts(), "an erased record has no contacts")
}

func TestValueStatus(t *testing.T) {
	t.Parallel()
	c := deliveryRecord()
	phone, email, wechat, phoneCopy := c.Contacts[0].ID, c.Contacts[1].ID, c.Contacts[2].ID, c.Contacts[3].ID
	tests := []struct {
		name    string
		holders []uuid.UUID
		want    customer.ContactStatus
	}{
		{"a value no contact holds is unknown", nil, customer.ContactUnknown},
		{"a held value with a consent in force is usable", []uuid.UUID{email}, customer.ContactUsable},
		{"a held value with every consent withdrawn is withdrawn", []uuid.UUID{wechat}, customer.ContactWithdrawn},
		{"a value held twice is usable when one copy is", []uuid.UUID{phoneCopy, phone}, customer.ContactUsable},
		{"a value held twice is withdrawn when both copies are", []uuid.UUID{phoneCopy, wechat}, customer.ContactWithdrawn},
		{"an id of no contact of this record is ignored", []uuid.UUID{uuid.New()}, customer.ContactUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, c.ValueStatus(tc.holders))
		})
	}
}
