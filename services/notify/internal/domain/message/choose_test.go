package message

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChoose(t *testing.T) {
	t.Parallel()
	phone := Contact{Kind: ContactPhone, Value: "+8613800138000"}
	otherPhone := Contact{Kind: ContactPhone, Value: "+8613900139000"}
	email := Contact{Kind: ContactEmail, Value: "li@example.cn"}
	oldEmail := Contact{Kind: ContactEmail, Value: "old@example.cn"}
	wechat := Contact{Kind: ContactWeChat, Value: "wxid_li"}
	ptr := func(c Contact) *Contact { return &c }

	tests := []struct {
		name    string
		reach   Reach
		want    Choice
		wantErr error
	}{
		{
			name:  "preferred email with a usable email goes out by email",
			reach: Reach{TicketChannel: ChannelPhone, TicketContact: ptr(phone), Preferred: ChannelEmail, Usable: []Contact{phone, email}},
			want:  Choice{Channel: ChannelEmail, Contact: email},
		},
		{
			name:  "preferred email uses the oldest usable email",
			reach: Reach{TicketChannel: ChannelPhone, Preferred: ChannelEmail, Usable: []Contact{oldEmail, email}},
			want:  Choice{Channel: ChannelEmail, Contact: oldEmail},
		},
		{
			name:  "preferred email without a listed email uses the ticket's own email",
			reach: Reach{TicketChannel: ChannelWebChat, TicketContact: ptr(email), Preferred: ChannelEmail, Usable: []Contact{phone}},
			want:  Choice{Channel: ChannelEmail, Contact: email},
		},
		{
			name:  "preferred wechat without a wechat contact falls back to the ticket's phone channel",
			reach: Reach{TicketChannel: ChannelPhone, TicketContact: ptr(phone), Preferred: ChannelWeChat, Usable: []Contact{phone, email}},
			want:  Choice{Channel: ChannelPhone, Contact: phone},
		},
		{
			name:  "preferred wechat with a wechat contact goes out by wechat",
			reach: Reach{TicketChannel: ChannelPhone, TicketContact: ptr(phone), Preferred: ChannelWeChat, Usable: []Contact{phone, wechat}},
			want:  Choice{Channel: ChannelWeChat, Contact: wechat},
		},
		{
			name:  "a preferred session channel needs no contact",
			reach: Reach{TicketChannel: ChannelEmail, TicketContact: ptr(email), Preferred: ChannelApp},
			want:  Choice{Channel: ChannelApp},
		},
		{
			name:  "a preferred store channel is ignored for the ticket's channel",
			reach: Reach{TicketChannel: ChannelSMS, TicketContact: ptr(phone), Preferred: ChannelStore},
			want:  Choice{Channel: ChannelSMS, Contact: phone},
		},
		{
			name:  "an unknown preferred channel is ignored for the ticket's channel",
			reach: Reach{TicketChannel: ChannelWebChat, Preferred: Channel("fax")},
			want:  Choice{Channel: ChannelWebChat},
		},
		{
			name:  "without a preferred channel the ticket's session channel is used",
			reach: Reach{TicketChannel: ChannelMiniProgram},
			want:  Choice{Channel: ChannelMiniProgram},
		},
		{
			name:  "the ticket's channel uses the ticket's own contact before older listed ones",
			reach: Reach{TicketChannel: ChannelSMS, TicketContact: ptr(otherPhone), Usable: []Contact{phone, otherPhone}},
			want:  Choice{Channel: ChannelSMS, Contact: otherPhone},
		},
		{
			name:  "the ticket's channel uses a listed contact when the ticket has none",
			reach: Reach{TicketChannel: ChannelEmail, Usable: []Contact{phone, email}},
			want:  Choice{Channel: ChannelEmail, Contact: email},
		},
		{
			name:  "the ticket's contact of another kind is not used for the ticket's channel",
			reach: Reach{TicketChannel: ChannelEmail, TicketContact: ptr(phone), Usable: []Contact{email}},
			want:  Choice{Channel: ChannelEmail, Contact: email},
		},
		{
			name:    "withdrawn ticket contact is never used even when listed usable",
			reach:   Reach{TicketChannel: ChannelPhone, TicketContact: ptr(phone), TicketContactWithdrawn: true, Usable: []Contact{phone}},
			wantErr: ErrNoUsableContact,
		},
		{
			name:  "withdrawn ticket contact is skipped for another listed contact of the kind",
			reach: Reach{TicketChannel: ChannelPhone, TicketContact: ptr(phone), TicketContactWithdrawn: true, Usable: []Contact{phone, otherPhone}},
			want:  Choice{Channel: ChannelPhone, Contact: otherPhone},
		},
		{
			name:  "withdrawn ticket contact is not used for the preferred channel either",
			reach: Reach{TicketChannel: ChannelWebChat, TicketContact: ptr(email), TicketContactWithdrawn: true, Preferred: ChannelEmail, Usable: []Contact{email}},
			want:  Choice{Channel: ChannelWebChat},
		},
		{
			name:    "a contact with an empty value is never used",
			reach:   Reach{TicketChannel: ChannelEmail, TicketContact: &Contact{Kind: ContactEmail}, Usable: []Contact{{Kind: ContactEmail}}},
			wantErr: ErrNoUsableContact,
		},
		{
			name:    "phone ticket without any phone has no usable contact",
			reach:   Reach{TicketChannel: ChannelPhone, Preferred: ChannelEmail, Usable: []Contact{wechat}},
			wantErr: ErrNoUsableContact,
		},
		{
			name:  "store ticket without preferred channel goes by sms to its consented phone",
			reach: Reach{TicketChannel: ChannelStore, TicketContact: ptr(phone), Usable: []Contact{phone}},
			want:  Choice{Channel: ChannelSMS, Contact: phone},
		},
		{
			name:    "store ticket without any contact is not deliverable",
			reach:   Reach{TicketChannel: ChannelStore},
			wantErr: ErrNotDeliverable,
		},
		{
			name:    "store ticket whose only contact was withdrawn is not deliverable",
			reach:   Reach{TicketChannel: ChannelStore, TicketContact: ptr(phone), TicketContactWithdrawn: true, Usable: []Contact{phone}},
			wantErr: ErrNotDeliverable,
		},
		{
			name:  "store ticket with a usable preferred channel goes out on it",
			reach: Reach{TicketChannel: ChannelStore, TicketContact: ptr(phone), Preferred: ChannelSMS, Usable: []Contact{phone}},
			want:  Choice{Channel: ChannelSMS, Contact: phone},
		},
		{
			name:  "store ticket whose preferred channel has no contact falls back to sms",
			reach: Reach{TicketChannel: ChannelStore, Preferred: ChannelEmail, Usable: []Contact{phone}},
			want:  Choice{Channel: ChannelSMS, Contact: phone},
		},
		{
			name:    "a ticket without a channel is not deliverable",
			reach:   Reach{},
			wantErr: ErrNotDeliverable,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Choose(tc.reach)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.Equal(t, Choice{}, got)
				for _, c := range []Contact{phone, otherPhone, email, oldEmail, wechat} {
					require.NotContains(t, err.Error(), c.Value, "errors never carry contact values")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestFailureReason(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"no usable contact has its code", ErrNoUsableContact, "NO_USABLE_CONTACT"},
		{"not deliverable has its code", ErrNotDeliverable, "CHANNEL_NOT_DELIVERABLE"},
		{"a wrapped failure keeps its code", fmt.Errorf("choose: %w", ErrNotDeliverable), "CHANNEL_NOT_DELIVERABLE"},
		{"another error has no code", errors.New("connection reset"), ""},
		{"no error has no code", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, FailureReason(tc.err))
		})
	}
}

func TestChooseErrorsAreDistinct(t *testing.T) {
	t.Parallel()
	_, err := Choose(Reach{TicketChannel: ChannelStore})
	require.ErrorIs(t, err, ErrNotDeliverable)
	require.NotErrorIs(t, err, ErrNoUsableContact)
}
