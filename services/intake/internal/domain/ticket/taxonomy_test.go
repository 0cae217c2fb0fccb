package ticket

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		typ  Type
		code string
		ok   bool
	}{
		{"a refund target", "request.refund", TypeRequest, "refund", true},
		{"a snake case subcategory", "inquiry.logistics_status", TypeInquiry, "logistics_status", true},
		{"no dot", "refund", 0, "", false},
		{"unknown type", "question.refund", 0, "", false},
		{"unclassified is not a target type", "unclassified.refund", 0, "", false},
		{"empty code", "request.", 0, "", false},
		{"upper-case code", "request.Refund", 0, "", false},
		{"a second dot", "request.refund.fast", 0, "", false},
		{"a trailing underscore", "request.refund_", 0, "", false},
		{"a leading digit", "request.1refund", 0, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			typ, code, err := ParseTarget(tc.in)
			if !tc.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.typ, typ)
			require.Equal(t, tc.code, code)
			require.Equal(t, tc.in, FormatTarget(typ, code))
		})
	}
}

func TestDefaultTaxonomy(t *testing.T) {
	t.Parallel()
	tax := DefaultTaxonomy()
	want := map[Type][]string{
		TypeInquiry:    {"product", "service", "policy", "order_status", "logistics_status"},
		TypeComplaint:  {"service_attitude", "product_quality", "process", "logistics"},
		TypeRequest:    {"return_exchange", "refund", "information_change"},
		TypeSuggestion: {"product_feature", "service_improvement"},
	}
	for _, typ := range Types() {
		t.Run(typ.String()+" has the issue's subcategories", func(t *testing.T) {
			t.Parallel()
			var codes []string
			for _, s := range tax.Of(typ) {
				codes = append(codes, s.Code)
				require.NoError(t, ValidateSubcategory(s))
			}
			require.Equal(t, want[typ], codes)
		})
	}
	require.True(t, tax.Has(TypeComplaint, "logistics"))
	require.False(t, tax.Has(TypeInquiry, "logistics"), "codes are scoped by type")
	s, ok := tax.Lookup(TypeRequest, "refund")
	require.True(t, ok)
	require.Equal(t, "退款", s.NameZH)
	require.Equal(t, "Refund", s.NameEN)
}

func TestValidateSubcategory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		s     Subcategory
		field string // "" when valid
	}{
		{"a good subcategory", Subcategory{TypeRequest, "gift_card", "礼品卡", "Gift card"}, ""},
		{"no type", Subcategory{TypeUnclassified, "gift_card", "礼品卡", "Gift card"}, "type"},
		{"a code with spaces", Subcategory{TypeRequest, "gift card", "礼品卡", "Gift card"}, "code"},
		{"a code with a double underscore", Subcategory{TypeRequest, "gift__card", "礼品卡", "Gift card"}, "code"},
		{"no chinese name", Subcategory{TypeRequest, "gift_card", "", "Gift card"}, "name_zh"},
		{"no english name", Subcategory{TypeRequest, "gift_card", "礼品卡", " "}, "name_en"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := ValidateSubcategory(tc.s)
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			requireInvalidField(t, err, tc.field)
		})
	}
}
