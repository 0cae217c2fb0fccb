package ticket

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCheckText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		in       string
		max      int
		required bool
		wantErr  string // substring of the description; "" for no error
	}{
		{"plain text passes", "快递到哪了", 10, true, ""},
		{"chinese counts characters, not bytes", strings.Repeat("字", 10), 10, true, ""},
		{"one character too many fails", strings.Repeat("字", 11), 10, true, "longer than 10"},
		{"no limit when max is zero", strings.Repeat("a", 100000), 0, false, ""},
		{"invalid utf-8 fails", "ab\xffcd", 10, false, "UTF-8"},
		{"a nul byte fails", "ab\x00cd", 10, false, "NUL"},
		{"blank fails when required", "  \n\t", 10, true, "required"},
		{"empty fails when required", "", 10, true, "required"},
		{"empty passes when optional", "", 10, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckText("description", tc.in, tc.max, tc.required)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			requireInvalidField(t, err, "description")
			require.Contains(t, err.Error(), tc.wantErr)
			require.Contains(t, err.Error(), "description")
		})
	}
}

func TestCheckReceivedAt(t *testing.T) {
	t.Parallel()
	now := time.Date(2023, 10, 26, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		received time.Time
		ok       bool
	}{
		{"the past is fine", now.Add(-24 * time.Hour), true},
		{"now is fine", now, true},
		{"exactly the allowed skew ahead is fine", now.Add(5 * time.Minute), true},
		{"a second past the skew is rejected", now.Add(5*time.Minute + time.Second), false},
		{"a missing time is rejected", time.Time{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckReceivedAt(tc.received, now, 5*time.Minute)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			requireInvalidField(t, err, "received_time")
		})
	}
}
