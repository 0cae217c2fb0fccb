package grpcx

import (
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the default proto codec wrapped below
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// codec wraps grpc's proto codec so that a request with an invalid UTF-8 string becomes InvalidArgument
// naming the field. grpc-go answers Internal for any unmarshal error and runs no interceptor, so the codec
// swallows that one error, remembers which field was bad for this request value, and the validation
// interceptor (which always runs next for a decoded unary request) reports it.
type codec struct {
	base       encoding.CodecV2
	violations sync.Map // request pointer → field path
}

func newCodec() *codec { return &codec{base: encoding.GetCodecV2("proto")} }

func (c *codec) Name() string { return "proto" }

func (c *codec) Marshal(v any) (mem.BufferSlice, error) { return c.base.Marshal(v) }

func (c *codec) Unmarshal(data mem.BufferSlice, v any) error {
	err := c.base.Unmarshal(data, v)
	if err == nil || !strings.Contains(err.Error(), "invalid UTF-8") {
		return err
	}
	m, ok := v.(proto.Message)
	if !ok {
		return err
	}
	field := findInvalidUTF8(m.ProtoReflect().Descriptor(), data.Materialize(), "")
	if field == "" {
		return err
	}
	proto.Reset(m)
	c.violations.Store(v, field)
	return nil
}

// takeViolation returns (and forgets) the bad field recorded for req.
func (c *codec) takeViolation(req any) (string, bool) {
	f, ok := c.violations.LoadAndDelete(req)
	if !ok {
		return "", false
	}
	return f.(string), true
}

// findInvalidUTF8 walks wire bytes against the descriptor and returns the dotted path of the first string
// field holding invalid UTF-8, or "".
func findInvalidUTF8(md protoreflect.MessageDescriptor, b []byte, prefix string) string {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return ""
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		fd := md.Fields().ByNumber(num)
		if fd == nil {
			continue
		}
		path := joinPath(prefix, string(fd.Name()))
		switch fd.Kind() {
		case protoreflect.StringKind:
			if !utf8.Valid(v) {
				return path
			}
		case protoreflect.MessageKind, protoreflect.GroupKind:
			if p := findInvalidUTF8(fd.Message(), v, path); p != "" {
				return p
			}
		}
	}
	return ""
}

// findNUL returns the dotted path of the first string field (at any depth, in lists and maps) that
// contains a NUL byte, or "".
func findNUL(m protoreflect.Message, prefix string) string {
	var found string
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		path := joinPath(prefix, string(fd.Name()))
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && found == ""; i++ {
				found = nulIn(fd, l.Get(i), path)
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if strings.ContainsRune(k.String(), 0) {
					found = path
				} else {
					found = nulIn(fd.MapValue(), mv, path)
				}
				return found == ""
			})
		default:
			found = nulIn(fd, v, path)
		}
		return found == ""
	})
	return found
}

func nulIn(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		if strings.ContainsRune(v.String(), 0) {
			return path
		}
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return findNUL(v.Message(), path)
	}
	return ""
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}
