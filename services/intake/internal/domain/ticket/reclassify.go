package ticket

import (
	"fmt"
	"strings"
	"time"

	"kefu.dev/pkg/apierr"
)

// ClassificationUpdate is a staff change to classification (UpdateTicket). A nil field is not in the field
// mask and stays as it is.
type ClassificationUpdate struct {
	Type        *Type
	Subcategory *string // "" clears it
	Urgency     *Urgency
	Level       *Level
}

// Reclassify applies a staff update and recomputes priority. Rules, in the order they are checked:
//   - type must be a real type (field "type"); changing it without naming a subcategory clears the
//     subcategory, which belonged to the old type.
//   - a subcategory must exist under the resulting type in tax (field "subcategory").
//   - urgency must be a real urgency (field "urgency").
//   - level: only complaints have one. Setting a level on a non-complaint is InvalidArgument "level", and a
//     complaint cannot be set to none. Changing the type away from complaint clears the level; changing it to
//     complaint without naming a level gives L3 (general).
//
// Allowed in every status but archived. A type or subcategory change records SourceStaff and forgets the
// rule. Emits updated with Changed listing the fields that changed (priority included when it moved). An
// update that changes nothing returns an empty Change and leaves Version alone: there is nothing to save
// and no event to publish.
func (t *Ticket) Reclassify(u ClassificationUpdate, tax Taxonomy, actor Actor, now time.Time) (Change, error) {
	typ, sub, urg, lvl := t.Type, t.Subcategory, t.Urgency, t.Level
	var errs []error
	if u.Type != nil {
		if *u.Type == TypeUnclassified || !u.Type.Valid() {
			errs = append(errs, apierr.InvalidField("type", "must be inquiry, complaint, request or suggestion"))
		} else if *u.Type != typ {
			typ, sub = *u.Type, ""
		}
	}
	if u.Subcategory != nil {
		sub = *u.Subcategory
		if sub != "" && !tax.Has(typ, sub) {
			errs = append(errs, apierr.InvalidField("subcategory", fmt.Sprintf("%q does not exist", FormatTarget(typ, sub))))
		}
	}
	if u.Urgency != nil {
		if !u.Urgency.Valid() {
			errs = append(errs, apierr.InvalidField("urgency", "must be normal, urgent or critical"))
		} else {
			urg = *u.Urgency
		}
	}
	switch {
	case u.Level != nil && !u.Level.Valid():
		errs = append(errs, apierr.InvalidField("level", "unknown level"))
	case u.Level != nil && typ != TypeComplaint && *u.Level != LevelNone:
		errs = append(errs, apierr.InvalidField("level", "only complaints have a level"))
	case u.Level != nil && typ == TypeComplaint && *u.Level == LevelNone:
		errs = append(errs, apierr.InvalidField("level", "a complaint needs a level (l1, l2 or l3)"))
	case u.Level != nil:
		lvl = *u.Level
	case typ != TypeComplaint:
		lvl = LevelNone
	case lvl == LevelNone:
		lvl = LevelL3
	}
	if err := t.precheck(actor, ActionReclassify, StatusUnspecified, errs...); err != nil {
		return Change{}, err
	}

	prio := DerivePriority(urg, lvl)
	var changed, lines []string
	note := func(field string, from, to fmt.Stringer) {
		if from.String() != to.String() {
			changed = append(changed, field)
			lines = append(lines, fmt.Sprintf("%s: %s → %s", field, from, to))
		}
	}
	note("type", t.Type, typ)
	note("subcategory", code(t.Subcategory), code(sub))
	note("urgency", t.Urgency, urg)
	note("level", t.Level, lvl)
	note("priority", t.Priority, prio)
	if len(changed) == 0 {
		return Change{}, nil
	}
	if typ != t.Type || sub != t.Subcategory {
		t.ClassificationSource, t.RuleID = SourceStaff, ""
	}
	t.Type, t.Subcategory, t.Urgency, t.Level, t.Priority = typ, sub, urg, lvl, prio
	return t.record(actor, now, recordSpec{kind: EventUpdated, text: strings.Join(lines, "; "), fill: func(e *Event) {
		e.Changed, e.Source = changed, t.ClassificationSource
	}}), nil
}

// code renders a subcategory code for the timeline, "-" for none.
type code string

// String implements fmt.Stringer for the timeline text.
func (c code) String() string {
	if c == "" {
		return "-"
	}
	return string(c)
}
