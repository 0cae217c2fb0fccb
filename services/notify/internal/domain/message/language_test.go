package message

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		fallback string
		want     string
	}{
		{"chinese text is chinese", "我的快递还没到", "en", "zh-CN"},
		{"chinese with english product names is chinese", "我的iPhone 15屏幕坏了", "en", "zh-CN"},
		{"a single han character among english makes it chinese", "order 12345 退款", "en", "zh-CN"},
		{"english text is english", "Where is my parcel?", "zh-CN", "en"},
		{"accented latin letters are english", "café crème", "zh-CN", "en"},
		{"digits alone take the fallback", "12345678", "zh-CN", "zh-CN"},
		{"punctuation and emoji take the fallback", "?!👍", "en", "en"},
		{"cyrillic takes the fallback", "Привет", "zh-CN", "zh-CN"},
		{"empty text takes the fallback", "", "zh-CN", "zh-CN"},
		{"a fallback may be empty", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, Language(tc.text, tc.fallback))
		})
	}
}
