package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Request headers sent with every delivery.
const (
	// SignatureHeader carries the value produced by Sign.
	SignatureHeader = "Kefu-Signature"
	// DeliveryIDHeader identifies one delivery; it stays the same across retries, so receivers can use it
	// to drop duplicates (delivery is at least once).
	DeliveryIDHeader = "Kefu-Delivery-Id"
	// WebhookIDHeader identifies the subscription the delivery belongs to, so a receiver serving several
	// subscriptions knows which secret to verify with.
	WebhookIDHeader = "Kefu-Webhook-Id"
	// SubjectHeader is the event subject (kefu.ticket.created) that triggered the delivery.
	SubjectHeader = "Kefu-Subject"
)

// DefaultWindow is how far a signature's timestamp may be from the receiver's clock. Five minutes tolerates
// ordinary clock skew and network delay while keeping the replay window short.
const DefaultWindow = 5 * time.Minute

// Errors returned by Verify. They are distinct so a receiver can log why it rejected a request; it should
// answer all of them alike (401) so as not to help an attacker.
var (
	// ErrNoSignature means the header is missing or malformed: no timestamp, a bad timestamp or no
	// well-formed v1 value.
	ErrNoSignature = errors.New("webhook: missing or malformed signature header")
	// ErrBadSignature means no v1 value matches the body under the given secret.
	ErrBadSignature = errors.New("webhook: signature does not match")
	// ErrTooOld means the signature matches but its timestamp is outside the window.
	ErrTooOld = errors.New("webhook: signature timestamp outside the allowed window")
)

// Sign returns the SignatureHeader value for body sent at t: "t=<unix seconds>,v1=<lowercase hex
// HMAC-SHA256 of "<unix seconds>.<body>" keyed with secret>". t is passed in (rather than read from the
// clock) so that senders use their injected clock and tests are deterministic.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

// Verify checks a SignatureHeader value against body. It accepts the header if any of its v1 values is the
// HMAC of body under secret (a sender rotating secrets signs with both) and the timestamp is within window
// of now; window <= 0 means DefaultWindow. Unknown fields (a future v2=) are ignored.
//
// The signature is checked before the timestamp, so ErrTooOld is only returned for authentic requests and
// can be trusted to mean clock skew or a late retry rather than a forgery. An empty secret never verifies,
// because a receiver that forgot to configure one would otherwise accept anything signed with "".
func Verify(secret, header string, body []byte, now time.Time, window time.Duration) error {
	ts, sigs, ok := parseHeader(header)
	if !ok {
		return ErrNoSignature
	}
	if secret == "" {
		return ErrBadSignature
	}
	want := mac(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		// Compare every value, without stopping early, so the time taken does not reveal which one matched.
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return ErrBadSignature
	}
	if window <= 0 {
		window = DefaultWindow
	}
	unix, _ := strconv.ParseInt(ts, 10, 64) // parseHeader has checked it.
	if now.Sub(time.Unix(unix, 0)).Abs() > window {
		return ErrTooOld
	}
	return nil
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// parseHeader returns the timestamp exactly as sent (it is signed as text) and the decoded v1 values. A
// header with no t, more than one t, a t that is not a non-negative decimal integer, no v1, or a v1 that is
// not 64 hex digits is malformed.
func parseHeader(header string) (ts string, sigs [][]byte, ok bool) {
	for field := range strings.SplitSeq(header, ",") {
		key, value, found := strings.Cut(strings.TrimSpace(field), "=")
		if !found {
			continue
		}
		switch key {
		case "t":
			if ts != "" || !isDigits(value) {
				return "", nil, false
			}
			if _, err := strconv.ParseInt(value, 10, 64); err != nil {
				return "", nil, false
			}
			ts = value
		case "v1":
			sig, err := hex.DecodeString(value)
			if err != nil || len(sig) != sha256.Size {
				return "", nil, false
			}
			sigs = append(sigs, sig)
		}
	}
	return ts, sigs, ts != "" && len(sigs) > 0
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
