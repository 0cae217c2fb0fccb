package ticket

import (
	"time"

	"kefu.dev/pkg/apierr"
)

// Satisfaction is the customer's rating of a resolution.
type Satisfaction int8

// Satisfaction ratings. The zero value means "no rating" (for example when the rating was waived).
const (
	SatisfactionUnspecified Satisfaction = iota
	SatisfactionSatisfied
	SatisfactionNeutral
	SatisfactionUnsatisfied
)

var satisfactionNames = []string{"unspecified", "satisfied", "neutral", "unsatisfied"}

// String returns the lower snake name stored in the database and used in events.
func (s Satisfaction) String() string { return enumName(s, satisfactionNames) }

// Valid reports whether s is a real rating.
func (s Satisfaction) Valid() bool {
	return s > SatisfactionUnspecified && int(s) < len(satisfactionNames)
}

// ParseSatisfaction parses a name produced by String.
func ParseSatisfaction(s string) (Satisfaction, error) {
	return parseEnum[Satisfaction]("satisfaction", s, satisfactionNames, 1)
}

// SatisfactionRecord is the outcome of asking the customer about one resolution: a rating (with an optional
// comment) or, when Waived, the agent's statement that the customer could not be reached. Resolution is the
// Ticket.ResolutionCount it belongs to, which is how "once per resolution" is enforced after a reopen.
type SatisfactionRecord struct {
	Rating     Satisfaction // SatisfactionUnspecified when Waived
	Comment    string       // customer's words; stays out of events
	Waived     bool         // customer unreachable; counts as complete for archiving
	Resolution int
	RecordedAt time.Time
}

// RecordSatisfaction stores the customer's rating (field "rating") and optional comment (field "comment")
// for the current resolution. Allowed in resolved and closed. Once per resolution: a second rating is
// FailedPrecondition SATISFACTION_ALREADY_RECORDED; after a reopen and a new resolution the customer may rate
// again. A rating may replace a waiver for the same resolution (the customer surfaced after all). Emits rated.
func (t *Ticket) RecordSatisfaction(rating Satisfaction, comment string, actor Actor, now time.Time) (Change, error) {
	var ratingErr error
	if !rating.Valid() {
		ratingErr = apierr.InvalidField("rating", "must be satisfied, neutral or unsatisfied")
	}
	if err := t.precheck(actor, ActionRecordSatisfaction, StatusUnspecified, ratingErr, CheckText("comment", comment, MaxCommentRunes, false)); err != nil {
		return Change{}, err
	}
	if s := t.currentSatisfaction(); s != nil && !s.Waived {
		return Change{}, t.satisfactionRecorded()
	}
	t.Satisfaction = &SatisfactionRecord{Rating: rating, Comment: comment, Resolution: t.ResolutionCount, RecordedAt: now}
	return t.record(actor, now, recordSpec{kind: EventRated, text: comment, fill: func(e *Event) {
		e.Rating = rating
	}}), nil
}

// WaiveSatisfaction records that the customer could not be reached for a rating of the current resolution,
// which satisfies archiving's satisfaction requirement. Allowed in resolved and closed, and only when nothing
// is recorded for this resolution yet (else SATISFACTION_ALREADY_RECORDED). Emits rated with Waived set.
func (t *Ticket) WaiveSatisfaction(actor Actor, now time.Time) (Change, error) {
	if err := t.precheck(actor, ActionWaiveSatisfaction, StatusUnspecified); err != nil {
		return Change{}, err
	}
	if t.currentSatisfaction() != nil {
		return Change{}, t.satisfactionRecorded()
	}
	t.Satisfaction = &SatisfactionRecord{Waived: true, Resolution: t.ResolutionCount, RecordedAt: now}
	return t.record(actor, now, recordSpec{kind: EventRated, fill: func(e *Event) {
		e.Waived = true
	}}), nil
}

// currentSatisfaction returns the record for the current resolution, or nil.
func (t *Ticket) currentSatisfaction() *SatisfactionRecord {
	if t.Satisfaction != nil && t.Satisfaction.Resolution == t.ResolutionCount {
		return t.Satisfaction
	}
	return nil
}

func (t *Ticket) satisfactionRecorded() error {
	return apierr.FailedPrecondition(ReasonSatisfactionAlreadyRecorded,
		"satisfaction is already recorded for this resolution",
		apierr.PreconditionViolation{Type: PreconditionSatisfaction, Subject: t.ID.String(), Description: "already recorded for this resolution"},
	).WithMeta("current_state", t.Status.String())
}
