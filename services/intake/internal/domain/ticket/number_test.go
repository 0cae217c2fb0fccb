package ticket

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFormatNumber(t *testing.T) {
	t.Parallel()
	day := time.Date(2023, 10, 26, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		serial int64
		want   string
	}{
		{"the first ticket of the day pads to four digits", 1, "GD202310260001"},
		{"serial 9999 still fits four digits", 9999, "GD202310269999"},
		{"serial 10000 widens to five digits", 10000, "GD2023102610000"},
		{"serial 123456 widens to six digits", 123456, "GD20231026123456"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := FormatNumber(day, tc.serial)
			require.Equal(t, tc.want, got)
			d, s, ok := ParseNumber(got)
			require.True(t, ok)
			require.Equal(t, "20231026", d)
			require.Equal(t, tc.serial, s)
		})
	}
}

func TestParseNumberRejectsOtherSpellings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"wrong prefix", "XX202310260001"},
		{"lower-case prefix", "gd202310260001"},
		{"three-digit serial", "GD20231026001"},
		{"serial zero", "GD202310260000"},
		{"five digits padded with a zero", "GD2023102600001"},
		{"impossible date", "GD202313260001"},
		{"letters in the serial", "GD20231026000A"},
		{"a sign in the serial", "GD20231026+001"},
		{"serial overflowing int64", "GD2023102699999999999999999999"},
	}
	for _, tc := range tests {
		t.Run(tc.name+" is not a ticket number", func(t *testing.T) {
			t.Parallel()
			_, _, ok := ParseNumber(tc.in)
			require.False(t, ok)
		})
	}
}

func TestBusinessDay(t *testing.T) {
	t.Parallel()
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{"16:30Z on the 25th is already the 26th in Shanghai", time.Date(2023, 10, 25, 16, 30, 0, 0, time.UTC), "20231026"},
		{"15:59:59Z on the 25th is still the 25th in Shanghai", time.Date(2023, 10, 25, 15, 59, 59, 0, time.UTC), "20231025"},
		{"16:00Z on the 25th is Shanghai midnight of the 26th", time.Date(2023, 10, 25, 16, 0, 0, 0, time.UTC), "20231026"},
		{"new year's eve 17:00Z is new year's day in Shanghai", time.Date(2023, 12, 31, 17, 0, 0, 0, time.UTC), "20240101"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			day := BusinessDay(tc.at, shanghai)
			require.Equal(t, tc.want, day.Format("20060102"))
			require.Equal(t, 0, day.Hour())
			require.Equal(t, shanghai, day.Location())
			require.Equal(t, "GD"+tc.want+"0042", FormatNumber(day, 42))
		})
	}
}
