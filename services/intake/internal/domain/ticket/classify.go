package ticket

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"kefu.dev/pkg/apierr"
	"kefu.dev/pkg/keyword"
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

	// matcher holds Keywords already normalized (PrepareRules), so classifying a ticket does not
	// re-normalize every keyword of every rule; nil means normalize on the fly.
	matcher *keyword.Matcher
}

// PrepareRules returns rules sorted by Position (stable) with their keywords normalized once. Callers that
// classify many texts with one rule set (the policy cache) prepare it when they load it; Classify accepts
// prepared and unprepared rules alike.
func PrepareRules(rules []Rule) []Rule {
	out := slices.Clone(rules)
	slices.SortStableFunc(out, byPosition)
	for i := range out {
		m := keyword.NewMatcher(out[i].Keywords...)
		out[i].matcher = &m
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
func (r Rule) Matches(text string) bool { return ruleMatches(keyword.Normalize(text), r) }

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
	nt := keyword.Normalize(text)
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
	if r.matcher != nil {
		return r.matcher.Match(normalizedText)
	}
	for _, k := range r.Keywords {
		if keyword.Match(normalizedText, keyword.Normalize(k)) {
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
