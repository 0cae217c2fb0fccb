package ticket

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"kefu.dev/pkg/apierr"
)

// Text limits in runes (characters, not bytes: most text here is Chinese, three bytes a character). The
// protos state the same limits for clients and protovalidate; the domain re-checks because it also serves
// callers that do not pass through protovalidate, and because NUL bytes and invalid UTF-8 must be
// InvalidArgument naming the field rather than whatever a lower layer would make of them.
const (
	MaxDescriptionRunes  = 10000 // customer's own words on submit
	MaxMessageRunes      = 10000 // replies, notes, customer messages
	MaxSummaryRunes      = 5000  // resolution summary
	MaxReasonRunes       = 2000  // escalation reason
	MaxCommentRunes      = 2000  // satisfaction comment
	MaxReferenceRunes    = 64    // order number, member number
	MaxKeyFactNameRunes  = 64
	MaxKeyFactValueRunes = 512
	MaxKeyFacts          = 20
	MaxAttachments       = 20
	MaxAttachmentName    = 255
	MaxContentTypeRunes  = 127
	MaxURLRunes          = 2048
	MaxContactValueRunes = 254 // the longest valid email address
	MaxPurposeRunes      = 64
	MaxSubjectRunes      = 200
	// DefaultSubjectRunes is how much of the description becomes the subject when the adapter sent none.
	DefaultSubjectRunes = 80
)

// CheckText applies the meaning rules every stored text shares: valid UTF-8, no NUL byte (Postgres text
// cannot hold one), at most maxRunes characters (maxRunes <= 0 means no limit) and, when required, not
// blank. The error is apierr InvalidArgument with a field violation for field.
func CheckText(field, s string, maxRunes int, required bool) error {
	switch {
	case !utf8.ValidString(s):
		return apierr.InvalidField(field, "is not valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		return apierr.InvalidField(field, "contains a NUL byte")
	case maxRunes > 0 && utf8.RuneCountInString(s) > maxRunes:
		return apierr.InvalidField(field, fmt.Sprintf("is longer than %d characters", maxRunes))
	case required && strings.TrimSpace(s) == "":
		return apierr.InvalidField(field, "is required")
	}
	return nil
}

// CheckReceivedAt rejects a missing received time and one more than maxSkew ahead of now (field
// received_time, as in the submit request). Adapters stamp it with their own clock (to the second), so some skew is normal; a time far in the future would
// start SLA clocks late and is a broken adapter clock.
func CheckReceivedAt(received, now time.Time, maxSkew time.Duration) error {
	if received.IsZero() {
		return apierr.InvalidField("received_time", "is required")
	}
	if received.After(now.Add(maxSkew)) {
		return apierr.InvalidField("received_time", fmt.Sprintf("is more than %s in the future", maxSkew))
	}
	return nil
}

// fieldViolations extracts the field violations of an InvalidArgument error so several checks can be
// reported together with apierr.InvalidFields.
func fieldViolations(err error) []apierr.FieldViolation {
	if e, ok := apierr.As(err); ok && len(e.Fields) > 0 {
		return e.Fields
	}
	return []apierr.FieldViolation{{Field: "", Description: err.Error()}}
}

// collect runs checks and joins the violations of all that fail into one InvalidArgument error, because a
// client fixing a form wants every problem at once.
func collect(errs ...error) error {
	var vs []apierr.FieldViolation
	for _, err := range errs {
		if err != nil {
			vs = append(vs, fieldViolations(err)...)
		}
	}
	if len(vs) == 0 {
		return nil
	}
	if len(vs) == 1 {
		return apierr.InvalidField(vs[0].Field, vs[0].Description)
	}
	return apierr.InvalidFields(vs...)
}
