package routing

import (
	"bytes"
	"cmp"
	"slices"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/keyword"
)

// Limits on rules (kefu.routing.v1.RoutingRule), so matching stays cheap and rules stay readable.
const (
	MaxPosition          = 1_000_000
	MaxKeywords          = 50
	MaxKeywordRunes      = 64
	MaxRequiredSkills    = 10
	MaxTierLen           = 32
	maxConditionTypes    = 10
	maxConditionSubcats  = 50
	maxConditionLevels   = 5
	maxConditionUrgency  = 5
	maxConditionChannels = 20
	maxConditionTiers    = 20
)

// Facts are what a ticket offers routing: intake's codes for its classification and channel, the customer's
// tier, and its text (subject and description) for keywords. Empty means unknown (an unclassified ticket
// has Type ""); an empty fact never satisfies a condition that lists values.
type Facts struct {
	Type        string // "complaint"
	Subcategory string // "logistics_status"
	Level       string // "l1"; complaints only
	Urgency     string // "critical"
	Channel     string // "web_chat"
	Tier        string // "vip"
	Text        string
}

// Condition is what a ticket must match: every non-empty list must contain the ticket's value (AND across
// lists, OR within one), and when Keywords is non-empty at least one must occur in the text (see
// kefu.dev/pkg/keyword: Chinese as substrings, other words whole, case-insensitive). An empty condition
// matches every ticket.
type Condition struct {
	Types         []string
	Subcategories []string
	Levels        []string
	Urgencies     []string
	Channels      []string
	Tiers         []string
	Keywords      []string
}

// Matches reports whether f satisfies c.
func (c Condition) Matches(f Facts) bool { return c.matches(f, keyword.Normalize(f.Text)) }

// matches is Matches with the text already normalized, so Route normalizes a ticket's text once for all
// rules.
func (c Condition) matches(f Facts, normalizedText string) bool {
	for _, l := range []struct {
		values []string
		fact   string
	}{
		{c.Types, f.Type}, {c.Subcategories, f.Subcategory}, {c.Levels, f.Level},
		{c.Urgencies, f.Urgency}, {c.Channels, f.Channel}, {c.Tiers, f.Tier},
	} {
		if len(l.values) > 0 && !slices.Contains(l.values, l.fact) {
			return false
		}
	}
	return len(c.Keywords) == 0 || keyword.NewMatcher(c.Keywords...).Match(normalizedText)
}

// validateCondition reports every bad list entry of c under prefix ("rule.condition.keywords[2]"): types,
// levels, urgencies and channels must be intake's codes; subcategories and tiers lower snake codes; keywords
// 1 to 64 characters without surrounding spaces; each list within its size limit.
func (v *violations) validateCondition(prefix string, c Condition) {
	code := func(max int) func(string) bool { return func(s string) bool { return validCode(s, max) } }
	v.checkCodes(path(prefix, "types"), c.Types, maxConditionTypes, oneOf(ticketTypes), "a ticket type (inquiry, complaint, request, suggestion)")
	v.checkCodes(path(prefix, "subcategories"), c.Subcategories, maxConditionSubcats, code(MaxCodeLen), "a lower snake subcategory code")
	v.checkCodes(path(prefix, "levels"), c.Levels, maxConditionLevels, oneOf(levels), "a complaint level (l1, l2, l3)")
	v.checkCodes(path(prefix, "urgencies"), c.Urgencies, maxConditionUrgency, oneOf(urgencies), "an urgency (normal, urgent, critical)")
	v.checkCodes(path(prefix, "channels"), c.Channels, maxConditionChannels, oneOf(channels), "a channel (phone, web_chat, app, mini_program, email, wechat, sms, store, social)")
	v.checkCodes(path(prefix, "tiers"), c.Tiers, maxConditionTiers, code(MaxTierLen), "a lower snake tier code")
	kw := path(prefix, "keywords")
	if len(c.Keywords) > MaxKeywords {
		v.add(kw, "at most %d keywords", MaxKeywords)
	}
	for i, k := range c.Keywords {
		if msg := checkText(k, MaxKeywordRunes, true); msg != "" {
			v.add(index(kw, i), "%s", msg)
		}
	}
}

// Rule sends matching tickets to a group. Rules are tried in (Position, CreatedAt, ID) order and the first
// enabled match wins (see Route).
type Rule struct {
	ID            uuid.UUID
	Position      int // lower first, 0 to MaxPosition
	DisplayName   string
	Condition     Condition
	TargetGroupID uuid.UUID
	// RequiredSkills are the skills an agent should hold; only skills_then_least_loaded uses them.
	RequiredSkills []string
	Enabled        bool
	Builtin        bool // seeded on first start
	Version        int64
	CreatedAt      time.Time
}

// Validate checks r and reports every bad field at once under prefix ("rule.target_group_id"): position (0
// to 1,000,000), display_name (at most 100 characters, optional), condition (see validateCondition),
// target_group_id (required), required_skills (at most 10 lower snake tags). Whether the target group exists
// is the store's question.
func (r Rule) Validate(prefix string) error {
	var v violations
	if r.Position < 0 || r.Position > MaxPosition {
		v.add(path(prefix, "position"), "must be between 0 and %d", MaxPosition)
	}
	if msg := checkText(r.DisplayName, MaxDisplayNameRunes, false); msg != "" {
		v.add(path(prefix, "display_name"), "%s", msg)
	}
	v.validateCondition(path(prefix, "condition"), r.Condition)
	if r.TargetGroupID == uuid.Nil {
		v.add(path(prefix, "target_group_id"), "is required")
	}
	v.checkCodes(path(prefix, "required_skills"), r.RequiredSkills, MaxRequiredSkills,
		func(s string) bool { return validCode(s, MaxCodeLen) }, "a lower snake skill tag")
	return v.err()
}

// CompareRules orders rules as Route tries them: by Position, then CreatedAt (an older rule wins a tie), then
// ID, so the order is total and the same on every replica.
func CompareRules(a, b Rule) int {
	return cmp.Or(
		cmp.Compare(a.Position, b.Position),
		a.CreatedAt.Compare(b.CreatedAt),
		bytes.Compare(a.ID[:], b.ID[:]),
	)
}

// Route returns the first enabled rule, in CompareRules order, whose condition f matches; false when none
// does (the defaults end with a catch-all, so that means an admin removed it).
func Route(rules []Rule, f Facts) (Rule, bool) {
	sorted := rules
	if !slices.IsSortedFunc(rules, CompareRules) {
		sorted = slices.SortedFunc(slices.Values(rules), CompareRules)
	}
	text := keyword.Normalize(f.Text)
	for _, r := range sorted {
		if r.Enabled && r.Condition.matches(f, text) {
			return r, true
		}
	}
	return Rule{}, false
}
