package routing

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"kefu.dev/pkg/apierr"
)

// violations collects every bad field of one request, so a client learns about all of them at once.
type violations []apierr.FieldViolation

func (v *violations) add(field, format string, args ...any) {
	*v = append(*v, apierr.FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	return apierr.InvalidFields(v...)
}

// path joins a request field path: path("group", "code") is "group.code", path("", "code") is "code".
func path(prefix, field string) string {
	if prefix == "" {
		return field
	}
	return prefix + "." + field
}

func index(field string, i int) string { return fmt.Sprintf("%s[%d]", field, i) }

// validCode reports whether s is a lower snake code of at most max bytes: a letter, then letters, digits and
// underscores (the proto pattern ^[a-z][a-z0-9_]*$).
func validCode(s string, max int) bool {
	if s == "" || len(s) > max || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// checkText reports what is wrong with a name or keyword: invalid UTF-8, control characters, surrounding
// spaces, more than max runes, or (when required) nothing but spaces. "" means fine.
func checkText(s string, max int, required bool) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.TrimSpace(s) == "":
		if required {
			return "is required"
		}
		if s != "" {
			return "must not be only spaces"
		}
	case strings.TrimSpace(s) != s:
		return "must not start or end with spaces"
	case utf8.RuneCountInString(s) > max:
		return fmt.Sprintf("at most %d characters", max)
	case strings.ContainsFunc(s, unicode.IsControl):
		return "must not contain control characters"
	}
	return ""
}

// checkCodes validates a list of codes: at most maxItems, each accepted by ok.
func (v *violations) checkCodes(field string, codes []string, maxItems int, ok func(string) bool, want string) {
	if len(codes) > maxItems {
		v.add(field, "at most %d items", maxItems)
	}
	for i, c := range codes {
		if !ok(c) {
			v.add(index(field, i), "must be %s", want)
		}
	}
}
