// Package protocode turns proto enum values into the lower snake codes the services' domains and storage use
// (CHANNEL_WEB_CHAT → web_chat), for the gRPC API and the event consumer alike.
package protocode

import (
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Code renders an enum value as the domain stores it: its name without prefix, lower case; the zero value
// is "". A number the descriptor does not define (proto3 enums are open; a newer sender) becomes its
// decimal digits, which no domain code accepts: validation names the field, and a rule condition never
// matches it, instead of a default silently applying.
func Code(e protoreflect.Enum, prefix string) string {
	if e.Number() == 0 {
		return ""
	}
	v := e.Descriptor().Values().ByNumber(e.Number())
	if v == nil {
		return strconv.Itoa(int(e.Number()))
	}
	return strings.ToLower(strings.TrimPrefix(string(v.Name()), prefix))
}

// Enum is Code's inverse: the value of enum type E named prefix + upper(c); the zero value for "" or an
// unknown code.
func Enum[E interface {
	~int32
	protoreflect.Enum
}](prefix, c string) E {
	var zero E
	if c == "" {
		return zero
	}
	if v := zero.Descriptor().Values().ByName(protoreflect.Name(prefix + strings.ToUpper(c))); v != nil {
		return E(v.Number())
	}
	return zero
}

// Codes renders a repeated enum field (nil for none).
func Codes[E protoreflect.Enum](es []E, prefix string) []string {
	if len(es) == 0 {
		return nil
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = Code(e, prefix)
	}
	return out
}

// Enums is Codes' inverse.
func Enums[E interface {
	~int32
	protoreflect.Enum
}](prefix string, cs []string) []E {
	if len(cs) == 0 {
		return nil
	}
	out := make([]E, len(cs))
	for i, c := range cs {
		out[i] = Enum[E](prefix, c)
	}
	return out
}
