package message

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestChannelRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		channel     Channel
		deliverable bool
		needs       ContactKind
		needsOK     bool
	}{
		{"phone needs a phone", ChannelPhone, true, ContactPhone, true},
		{"sms needs a phone", ChannelSMS, true, ContactPhone, true},
		{"email needs an email address", ChannelEmail, true, ContactEmail, true},
		{"wechat needs a wechat id", ChannelWeChat, true, ContactWeChat, true},
		{"web chat is a session and needs no contact", ChannelWebChat, true, "", false},
		{"the app is a session and needs no contact", ChannelApp, true, "", false},
		{"the mini program is a session and needs no contact", ChannelMiniProgram, true, "", false},
		{"social is a session and needs no contact", ChannelSocial, true, "", false},
		{"the store is not deliverable", ChannelStore, false, "", false},
		{"an unknown channel is not deliverable", Channel("fax"), false, "", false},
		{"an empty channel is not deliverable", Channel(""), false, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.deliverable, tc.channel.Deliverable())
			kind, ok := tc.channel.Needs()
			require.Equal(t, tc.needs, kind)
			require.Equal(t, tc.needsOK, ok)
		})
	}
}

func TestChannelValid(t *testing.T) {
	t.Parallel()
	for _, c := range []Channel{ChannelPhone, ChannelWebChat, ChannelApp, ChannelMiniProgram, ChannelEmail,
		ChannelWeChat, ChannelSMS, ChannelStore, ChannelSocial} {
		require.True(t, c.Valid(), "%s", c)
	}
	require.False(t, Channel("PHONE").Valid(), "tokens are lower case")
	require.False(t, Channel("").Valid())
}
