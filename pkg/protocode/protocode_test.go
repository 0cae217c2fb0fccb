package protocode

import (
	"testing"

	"github.com/stretchr/testify/require"

	intakev1 "kefu.dev/pkg/api/kefu/intake/v1"
)

func TestCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   intakev1.Channel
		want string
	}{
		{intakev1.Channel_CHANNEL_UNSPECIFIED, ""},
		{intakev1.Channel_CHANNEL_WEB_CHAT, "web_chat"},
		{intakev1.Channel_CHANNEL_PHONE, "phone"},
		{intakev1.Channel(99), "99"},
	}
	for _, tc := range tests {
		require.Equal(t, tc.want, Code(tc.in, "CHANNEL_"))
	}
}
