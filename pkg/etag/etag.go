// Package etag is kefu's optimistic concurrency token for admin records (AIP-154): a record's version,
// which every change increments, rendered as text; an update names the etag it read and is refused when
// the record changed since.
package etag

import (
	"errors"
	"strconv"
	"strings"

	"kefu.dev/pkg/apierr"
)

// Of renders a version as an etag.
func Of(version int64) string { return strconv.FormatInt(version, 10) }

// ErrMismatch is wrapped by the Aborted error of a stale etag.
var ErrMismatch = errors.New("etag mismatch")

// Check accepts given (with or without HTTP quoting and a weak W/ prefix) when it is version's etag. A
// missing one is InvalidArgument on field; a stale one is Aborted with reason ETAG_MISMATCH and the
// current etag in the details. what names the record in messages ("group").
func Check(field, given string, version int64, what string) error {
	g := strings.Trim(strings.TrimPrefix(given, "W/"), `"`)
	if g == "" {
		return apierr.InvalidField(field, "is required: read the "+what+" and pass its etag")
	}
	if g != Of(version) {
		return apierr.New(apierr.KindAborted, "ETAG_MISMATCH", "the %s changed since it was read: read it again and retry", what).
			WithMeta("current_etag", Of(version)).WithCause(ErrMismatch)
	}
	return nil
}
