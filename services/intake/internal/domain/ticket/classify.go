package ticket

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"kefu.dev/pkg/apierr"
)

// Rule is one keyword rule. Rules run in Position order; the first enabled rule with a Target that matches
// classifies the ticket, and every enabled matching rule may raise urgency and level.
type Rule struct {
	ID         string
	Position   int      // ascending; ties keep the order the rules were given in
	Keywords   []string // any one matching is enough; see Matches for how a keyword matches
	Target     string   // "type.subcategory" (e.g. "request.refund"), or "" for a rule that only raises
	SetUrgency Urgency  // UrgencyUnspecified: no raise
	SetLevel   Level    // LevelNone: no raise; applies only when the ticket ends up a complaint
	Enabled    bool

	// normalized holds Keywords already normalized (PrepareRules), so classifying a ticket does not
	// re-normalize every keyword of every rule; nil means normalize on the fly.
	normalized []string
}

// PrepareRules returns rules sorted by Position (stable) with their keywords normalized once. Callers that
// classify many texts with one rule set (the policy cache) prepare it when they load it; Classify accepts
// prepared and unprepared rules alike.
func PrepareRules(rules []Rule) []Rule {
	out := slices.Clone(rules)
	slices.SortStableFunc(out, byPosition)
	for i := range out {
		out[i].normalized = make([]string, len(out[i].Keywords))
		for j, k := range out[i].Keywords {
			out[i].normalized[j] = normalize(k)
		}
	}
	return out
}

func byPosition(a, b Rule) int { return cmp.Compare(a.Position, b.Position) }

// Limits on rules, so matching stays cheap and rules stay readable in the admin UI.
const (
	MaxKeywordRunes = 64
	MaxRuleKeywords = 100
)

// Field names ValidateRule reports, as in the rule resource of the admin API.
const (
	ruleFieldTarget  = "target"
	ruleFieldKeyword = "keywords"
)

// Matches reports whether any of r's keywords occurs in text (enabled or not: the admin UI uses this to test
// a draft rule).
func (r Rule) Matches(text string) bool { return ruleMatches(normalize(text), r) }

// Result is what the rules say about a text, before adapter hints are applied (see Decide).
type Result struct {
	Type        Type    // TypeUnclassified when no targeting rule matched
	Subcategory string  // code within Type
	RuleID      string  // the targeting rule that decided Type and Subcategory
	Urgency     Urgency // the highest urgency raised; UrgencyUnspecified when none
	Level       Level   // the most severe level raised, whatever Type is; Decide keeps it only for complaints
	RaisedBy    []string
}

// Classify runs rules over text. Rules are taken in Position order; disabled rules are ignored. The first
// matching rule with a well-formed Target decides Type and Subcategory (later targeting rules do not
// override it: order is how admins express precedence, e.g. a complaint about a courier is a complaint, not
// a delivery question). Every matching rule that sets urgency or level raises them to the maximum seen and is
// listed in RaisedBy, wherever it sits in the order, because a severity signal anywhere in the text matters.
func Classify(text string, rules []Rule) Result {
	sorted := rules
	if !slices.IsSortedFunc(rules, byPosition) {
		sorted = slices.Clone(rules)
		slices.SortStableFunc(sorted, byPosition)
	}
	nt := normalize(text)
	var res Result
	for _, r := range sorted {
		if !r.Enabled || !ruleMatches(nt, r) {
			continue
		}
		if res.Type == TypeUnclassified && r.Target != "" {
			if typ, code, err := ParseTarget(r.Target); err == nil {
				res.Type, res.Subcategory, res.RuleID = typ, code, r.ID
			}
		}
		if r.SetUrgency != UrgencyUnspecified || r.SetLevel != LevelNone {
			res.Urgency = maxUrgency(res.Urgency, r.SetUrgency)
			res.Level = MoreSevere(res.Level, r.SetLevel)
			res.RaisedBy = append(res.RaisedBy, r.ID)
		}
	}
	return res
}

func ruleMatches(normalizedText string, r Rule) bool {
	if r.normalized != nil {
		for _, k := range r.normalized {
			if matchKeyword(normalizedText, k) {
				return true
			}
		}
		return false
	}
	for _, k := range r.Keywords {
		if matchKeyword(normalizedText, normalize(k)) {
			return true
		}
	}
	return false
}

// ClassificationSource records what decided a ticket's type and subcategory.
type ClassificationSource int8

// Classification sources. The zero value means nothing classified the ticket.
const (
	SourceNone ClassificationSource = iota
	SourceAdapterHint
	SourceRule
	SourceStaff
)

var sourceNames = []string{"none", "adapter_hint", "rule", "staff"}

// String returns the lower snake name stored in the database.
func (s ClassificationSource) String() string { return enumName(s, sourceNames) }

// ParseClassificationSource parses a name produced by String ("" is SourceNone).
func ParseClassificationSource(s string) (ClassificationSource, error) {
	if s == "" {
		return SourceNone, nil
	}
	return parseEnum[ClassificationSource]("classification source", s, sourceNames, 0)
}

// Hints are what a channel adapter already knows about a ticket (an IVR menu choice, a web form's category).
// Zero fields mean "no hint".
type Hints struct {
	Type        Type
	Subcategory string // requires Type
	Urgency     Urgency
	Level       Level
}

// Decision is the classification a new ticket starts with.
type Decision struct {
	Type        Type
	Subcategory string
	RuleID      string // set only when Source is SourceRule
	Source      ClassificationSource
	Urgency     Urgency // at least UrgencyNormal
	Level       Level   // LevelNone unless Type is complaint; a complaint defaults to L3 (general)
	Priority    Priority
	RaisedBy    []string
}

// Decide combines adapter hints with the rules for a new ticket:
//   - A type hint wins over the rules for type and subcategory: the adapter asked the customer (a menu
//     choice), which beats guessing from words. A type hint without a subcategory leaves the subcategory
//     empty rather than mixing a rule's subcategory into the adapter's type.
//   - Urgency and level are raised, never lowered: the result is the maximum of the hint and every rule
//     raise, so a hinted "inquiry, normal" that mentions 起火 still becomes critical.
//   - Level exists only for complaints: it is dropped for any other final type, and a complaint with no
//     level from hints or rules gets L3 (general), so every complaint has one.
//
// Decide assumes hints are valid; New checks them against the taxonomy first.
func Decide(text string, h Hints, rules []Rule) Decision {
	res := Classify(text, rules)
	d := Decision{RaisedBy: res.RaisedBy}
	switch {
	case h.Type != TypeUnclassified:
		d.Type, d.Subcategory, d.Source = h.Type, h.Subcategory, SourceAdapterHint
	case res.Type != TypeUnclassified:
		d.Type, d.Subcategory, d.RuleID, d.Source = res.Type, res.Subcategory, res.RuleID, SourceRule
	}
	d.Urgency = maxUrgency(UrgencyNormal, maxUrgency(h.Urgency, res.Urgency))
	if d.Type == TypeComplaint {
		d.Level = MoreSevere(h.Level, res.Level)
		if d.Level == LevelNone {
			d.Level = LevelL3
		}
	}
	d.Priority = DerivePriority(d.Urgency, d.Level)
	return d
}

// ValidateRule checks a rule an admin creates or changes and reports every bad field at once: keywords (at
// least one, at most MaxRuleKeywords), keywords[i] (trimmed non-empty, at most MaxKeywordRunes, valid text),
// target (well-formed and present in tax), set_urgency, set_level, position, and a rule that neither targets
// nor raises anything (reported on target).
func ValidateRule(r Rule, tax Taxonomy) error {
	var errs []error
	switch {
	case len(r.Keywords) == 0:
		errs = append(errs, apierr.InvalidField(ruleFieldKeyword, "at least one keyword is required"))
	case len(r.Keywords) > MaxRuleKeywords:
		errs = append(errs, apierr.InvalidField(ruleFieldKeyword, fmt.Sprintf("at most %d keywords", MaxRuleKeywords)))
	}
	for i, k := range r.Keywords {
		field := fmt.Sprintf("%s[%d]", ruleFieldKeyword, i)
		if err := CheckText(field, k, MaxKeywordRunes, true); err != nil {
			errs = append(errs, err)
		} else if strings.TrimSpace(k) != k {
			errs = append(errs, apierr.InvalidField(field, "must not start or end with spaces"))
		}
	}
	if r.Target != "" {
		typ, code, err := ParseTarget(r.Target)
		switch {
		case err != nil:
			errs = append(errs, apierr.InvalidField(ruleFieldTarget, "must be a type.subcategory code such as request.refund"))
		case !tax.Has(typ, code):
			errs = append(errs, apierr.InvalidField(ruleFieldTarget, fmt.Sprintf("subcategory %q does not exist", r.Target)))
		}
	} else if r.SetUrgency == UrgencyUnspecified && r.SetLevel == LevelNone {
		errs = append(errs, apierr.InvalidField(ruleFieldTarget, "a rule without a target must raise urgency or level"))
	}
	if r.SetUrgency != UrgencyUnspecified && !r.SetUrgency.Valid() {
		errs = append(errs, apierr.InvalidField("set_urgency", "unknown urgency"))
	}
	if !r.SetLevel.Valid() {
		errs = append(errs, apierr.InvalidField("set_level", "unknown level"))
	}
	if r.Position < 0 {
		errs = append(errs, apierr.InvalidField("position", "must not be negative"))
	}
	return collect(errs...)
}

// normalize lower-cases text and collapses every run of white space into one space, so keywords match
// whatever the case and spacing ("Not  Working" matches "not working").
func normalize(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

// matchKeyword reports whether keyword (normalized) occurs in text (normalized). A keyword containing any
// non-ASCII character matches as a substring: Chinese is written without spaces, so there are no words to
// respect. An ASCII keyword must match whole words ("refund" does not match "refunded"), see wordRune.
func matchKeyword(text, keyword string) bool {
	if keyword == "" {
		return false
	}
	if !isASCII(keyword) {
		return strings.Contains(text, keyword)
	}
	first, _ := utf8.DecodeRuneInString(keyword)
	last, _ := utf8.DecodeLastRuneInString(keyword)
	for from := 0; from <= len(text)-len(keyword); {
		i := strings.Index(text[from:], keyword)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(keyword)
		before, _ := utf8.DecodeLastRuneInString(text[:start])
		after, _ := utf8.DecodeRuneInString(text[end:])
		// A boundary is needed only where the keyword itself starts or ends with a word character, as with
		// \b in regular expressions ("c++" may be followed by a letter).
		okBefore := start == 0 || !wordRune(first) || !wordRune(before)
		okAfter := end == len(text) || !wordRune(last) || !wordRune(after)
		if okBefore && okAfter {
			return true
		}
		_, size := utf8.DecodeRuneInString(text[start:])
		from = start + size
	}
	return false
}

// wordRune reports whether r continues a word for whole-word matching: letters and digits do, except the
// scripts written without spaces (Han, Hiragana, Katakana), so "我要refund" still matches "refund" while
// "refunded" and "café" do not match "refund" and "caf".
func wordRune(r rune) bool {
	if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) {
		return false
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
