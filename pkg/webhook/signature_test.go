package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSign(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	body := []byte(`{"ticket_id":"0195"}`)

	// An independent computation of the documented formula, so the test fails if Sign drifts from it.
	h := hmac.New(sha256.New, []byte("whsec_test"))
	h.Write([]byte("1740816000." + string(body)))
	want := "t=1740816000,v1=" + hex.EncodeToString(h.Sum(nil))

	require.Equal(t, want, Sign("whsec_test", at, body))
	require.Equal(t, want, Sign("whsec_test", at.In(time.FixedZone("CST", 8*3600)), body),
		"the zone of t does not change the signature")
	require.Equal(t, want, Sign("whsec_test", at.Add(999*time.Millisecond), body),
		"sub-second precision is dropped")
}

func TestVerify(t *testing.T) {
	t.Parallel()
	const secret = "whsec_current"
	now := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	body := []byte(`{"ticket_id":"0195","status":"resolved"}`)
	signed := Sign(secret, now, body)
	v1 := func(s string, at time.Time, b []byte) string {
		_, value, _ := strings.Cut(Sign(s, at, b), ",")
		return value
	}
	ts := "t=1740816000"

	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		now    time.Time
		window time.Duration
		want   error
	}{
		{"a fresh signature over the same body passes", secret, signed, body, now, DefaultWindow, nil},
		{"a tampered body fails", secret, signed, []byte(`{"ticket_id":"0195","status":"closed"}`), now, DefaultWindow, ErrBadSignature},
		{"a wrong secret fails", "whsec_other", signed, body, now, DefaultWindow, ErrBadSignature},
		{"an empty secret never verifies, even against a signature made with it", "", Sign("", now, body), body, now, DefaultWindow, ErrBadSignature},
		{"a timestamp 6 min old fails with ErrTooOld", secret, Sign(secret, now.Add(-6*time.Minute), body), body, now, DefaultWindow, ErrTooOld},
		{"a timestamp 6 min in the future fails with ErrTooOld", secret, Sign(secret, now.Add(6*time.Minute), body), body, now, DefaultWindow, ErrTooOld},
		{"a timestamp exactly at the window edge passes", secret, Sign(secret, now.Add(-5*time.Minute), body), body, now, DefaultWindow, nil},
		{"a zero window means the default window", secret, Sign(secret, now.Add(-4*time.Minute), body), body, now, 0, nil},
		{"a wider window accepts an older timestamp", secret, Sign(secret, now.Add(-6*time.Minute), body), body, now, 10 * time.Minute, nil},
		{"an old timestamp with a wrong signature is a bad signature, not too old", "whsec_other", Sign(secret, now.Add(-time.Hour), body), body, now, DefaultWindow, ErrBadSignature},
		{"a changed timestamp breaks the signature", secret, "t=1740816001," + v1(secret, now, body), body, now, DefaultWindow, ErrBadSignature},
		{"rotation with two v1 values passes when the new one matches", secret, ts + "," + v1("whsec_old", now, body) + "," + v1(secret, now, body), body, now, DefaultWindow, nil},
		{"rotation with two v1 values passes when the old one matches", "whsec_old", ts + "," + v1("whsec_old", now, body) + "," + v1(secret, now, body), body, now, DefaultWindow, nil},
		{"two v1 values neither of which matches fail", "whsec_third", ts + "," + v1("whsec_old", now, body) + "," + v1(secret, now, body), body, now, DefaultWindow, ErrBadSignature},
		{"fields in another order, with spaces and unknown fields, are tolerated", secret, " v2=abc, " + v1(secret, now, body) + " ,x ,  " + ts, body, now, DefaultWindow, nil},
		{"an empty body can be signed", secret, Sign(secret, now, nil), []byte{}, now, DefaultWindow, nil},
		{"a missing header gives ErrNoSignature", secret, "", body, now, DefaultWindow, ErrNoSignature},
		{"a header without a timestamp gives ErrNoSignature", secret, v1(secret, now, body), body, now, DefaultWindow, ErrNoSignature},
		{"a header without v1 gives ErrNoSignature", secret, ts, body, now, DefaultWindow, ErrNoSignature},
		{"a header with only a v2 gives ErrNoSignature", secret, ts + ",v2=" + strings.Repeat("a", 64), body, now, DefaultWindow, ErrNoSignature},
		{"a non-numeric timestamp gives ErrNoSignature", secret, "t=soon," + v1(secret, now, body), body, now, DefaultWindow, ErrNoSignature},
		{"a signed timestamp gives ErrNoSignature", secret, "t=+1740816000," + v1(secret, now, body), body, now, DefaultWindow, ErrNoSignature},
		{"a timestamp too large for int64 gives ErrNoSignature", secret, "t=99999999999999999999," + v1(secret, now, body), body, now, DefaultWindow, ErrNoSignature},
		{"two timestamps give ErrNoSignature", secret, ts + ",t=1740816001," + v1(secret, now, body), body, now, DefaultWindow, ErrNoSignature},
		{"a v1 that is not hex gives ErrNoSignature", secret, ts + ",v1=" + strings.Repeat("z", 64), body, now, DefaultWindow, ErrNoSignature},
		{"a truncated v1 gives ErrNoSignature", secret, signed[:len(signed)-2], body, now, DefaultWindow, ErrNoSignature},
		{"a header that is just text gives ErrNoSignature", secret, "sha256=deadbeef", body, now, DefaultWindow, ErrNoSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Verify(tc.secret, tc.header, tc.body, tc.now, tc.window)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestVerifyAcceptsUppercaseHex(t *testing.T) {
	t.Parallel()
	now := time.Unix(1740816000, 0)
	body := []byte("x")
	// Some receivers' languages print hex in upper case; the bytes are what is compared.
	ts, sig, _ := strings.Cut(Sign("s", now, body), ",v1=")
	require.NoError(t, Verify("s", ts+",v1="+strings.ToUpper(sig), body, now, DefaultWindow))
}
