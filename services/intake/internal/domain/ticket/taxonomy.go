package ticket

import (
	"fmt"
	"strings"

	"kefu.dev/pkg/apierr"
)

// Type is the top level of classification. The set is fixed (queues, SLA targets and complaint levels depend
// on it); the subcategories below each type are data that admins change (see Taxonomy).
type Type int8

// Types. The zero value is a real state: the ticket is not classified yet.
const (
	TypeUnclassified Type = iota
	TypeInquiry
	TypeComplaint
	TypeRequest
	TypeSuggestion
)

var typeNames = []string{"unclassified", "inquiry", "complaint", "request", "suggestion"}

// Types lists the classified types (without TypeUnclassified).
func Types() []Type { return []Type{TypeInquiry, TypeComplaint, TypeRequest, TypeSuggestion} }

// String returns the lower snake name stored in the database and used in events.
func (t Type) String() string { return enumName(t, typeNames) }

// Valid reports whether t is TypeUnclassified or a real type.
func (t Type) Valid() bool { return t >= TypeUnclassified && int(t) < len(typeNames) }

// ParseType parses a name produced by String; "" is accepted as TypeUnclassified because the column is
// optional.
func ParseType(s string) (Type, error) {
	if s == "" {
		return TypeUnclassified, nil
	}
	return parseEnum[Type]("type", s, typeNames, 0)
}

// Subcategory is one entry of the taxonomy: a code unique within its type plus display names for the UI.
// The full code "type.code" (see FormatTarget) is unique across the taxonomy and is what rules target.
type Subcategory struct {
	Type   Type
	Code   string // lower snake, e.g. "logistics_status"
	NameZH string
	NameEN string
}

// Taxonomy is the set of subcategories in force. The store loads it (admins edit it through the API); the
// domain only reads it to check that classifications and rule targets exist.
type Taxonomy struct {
	Subcategories []Subcategory
}

// Lookup returns the subcategory code under typ.
func (tx Taxonomy) Lookup(typ Type, code string) (Subcategory, bool) {
	for _, s := range tx.Subcategories {
		if s.Type == typ && s.Code == code {
			return s, true
		}
	}
	return Subcategory{}, false
}

// Has reports whether code is a subcategory of typ.
func (tx Taxonomy) Has(typ Type, code string) bool {
	_, ok := tx.Lookup(typ, code)
	return ok
}

// Of returns the subcategories of typ in taxonomy order.
func (tx Taxonomy) Of(typ Type) []Subcategory {
	var out []Subcategory
	for _, s := range tx.Subcategories {
		if s.Type == typ {
			out = append(out, s)
		}
	}
	return out
}

// FormatTarget renders the "type.subcategory" code used by rules and the API ("complaint.service_attitude").
func FormatTarget(typ Type, code string) string { return typ.String() + "." + code }

// ParseTarget splits a "type.subcategory" code. It checks the shape only; whether the subcategory exists is
// a question for a Taxonomy.
func ParseTarget(s string) (Type, string, error) {
	typName, code, ok := strings.Cut(s, ".")
	if !ok {
		return 0, "", fmt.Errorf("target %q is not of the form type.subcategory", s)
	}
	typ, err := ParseType(typName)
	if err != nil || typ == TypeUnclassified {
		return 0, "", fmt.Errorf("target %q: unknown type %q", s, typName)
	}
	if !validCode(code) {
		return 0, "", fmt.Errorf("target %q: subcategory code %q is not lower snake case", s, code)
	}
	return typ, code, nil
}

// maxCodeLen bounds codes so that "type.code" stays a short, indexable key.
const maxCodeLen = 64

// validCode reports whether s is lower snake case: a letter, then letters, digits or single underscores.
func validCode(s string) bool {
	if s == "" || len(s) > maxCodeLen || s[0] < 'a' || s[0] > 'z' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
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

// Display name limit for subcategories; names show in agent UIs and reports.
const maxSubcategoryNameRunes = 64

// ValidateSubcategory checks an admin's new or changed subcategory and reports every bad field at once
// (fields: type, code, name_zh, name_en). Uniqueness is the store's job (a unique constraint).
func ValidateSubcategory(s Subcategory) error {
	var vs []apierr.FieldViolation
	if s.Type == TypeUnclassified || !s.Type.Valid() {
		vs = append(vs, apierr.FieldViolation{Field: "type", Description: "must be inquiry, complaint, request or suggestion"})
	}
	if !validCode(s.Code) {
		vs = append(vs, apierr.FieldViolation{Field: "code", Description: fmt.Sprintf("must be lower snake case, at most %d characters", maxCodeLen)})
	}
	for _, f := range []struct{ field, value string }{{"name_zh", s.NameZH}, {"name_en", s.NameEN}} {
		if err := CheckText(f.field, f.value, maxSubcategoryNameRunes, true); err != nil {
			vs = append(vs, fieldViolations(err)...)
		}
	}
	if len(vs) > 0 {
		return apierr.InvalidFields(vs...)
	}
	return nil
}

// DefaultTaxonomy is the taxonomy a fresh installation starts with (issue 3, section 2). The store seeds it
// once; afterwards admins own it.
func DefaultTaxonomy() Taxonomy {
	return Taxonomy{Subcategories: []Subcategory{
		{TypeInquiry, "product", "产品咨询", "Product"},
		{TypeInquiry, "service", "服务咨询", "Service"},
		{TypeInquiry, "policy", "政策咨询", "Policy"},
		{TypeInquiry, "order_status", "订单状态", "Order status"},
		{TypeInquiry, "logistics_status", "物流状态", "Logistics status"},
		{TypeComplaint, "service_attitude", "服务态度", "Service attitude"},
		{TypeComplaint, "product_quality", "产品质量", "Product quality"},
		{TypeComplaint, "process", "流程问题", "Process"},
		{TypeComplaint, "logistics", "物流投诉", "Logistics"},
		{TypeRequest, "return_exchange", "退换货", "Return / exchange"},
		{TypeRequest, "refund", "退款", "Refund"},
		{TypeRequest, "information_change", "信息变更", "Information change"},
		{TypeSuggestion, "product_feature", "产品功能", "Product feature"},
		{TypeSuggestion, "service_improvement", "服务改进", "Service improvement"},
	}}
}
