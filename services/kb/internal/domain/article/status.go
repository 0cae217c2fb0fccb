package article

import (
	"fmt"
	"time"

	"kefu.dev/pkg/apierr"
)

// Status is where an article is in its life. Readers see published articles only; writers see all.
type Status string

// Statuses.
const (
	Draft     Status = "draft"
	Published Status = "published"
	Archived  Status = "archived"
)

// Valid reports a known status.
func (s Status) Valid() bool { return s == Draft || s == Published || s == Archived }

// Action is a change of an article that its status may forbid.
type Action string

// Actions.
const (
	ActionPublish Action = "publish"
	ActionArchive Action = "archive"
	ActionRestore Action = "restore"
	ActionEdit    Action = "edit"
)

// ReasonIllegalTransition is the ErrorInfo reason of a TransitionError.
const ReasonIllegalTransition = "ARTICLE_ILLEGAL_TRANSITION"

// Publish makes a draft readable: draft → published.
func (a *Article) Publish(actor string, now time.Time) error {
	if a.Status != Draft {
		return &TransitionError{From: a.Status, Action: ActionPublish}
	}
	a.Status, a.PublishedAt = Published, now
	a.touch(actor, now)
	return nil
}

// Archive takes a draft or a published article out of use: → archived. Its uses and marks stay.
func (a *Article) Archive(actor string, now time.Time) error {
	if a.Status == Archived {
		return &TransitionError{From: a.Status, Action: ActionArchive}
	}
	a.Status, a.ArchivedAt = Archived, now
	a.touch(actor, now)
	return nil
}

// Restore brings an archived article back as a draft, to be checked and published again.
func (a *Article) Restore(actor string, now time.Time) error {
	if a.Status != Archived {
		return &TransitionError{From: a.Status, Action: ActionRestore}
	}
	a.Status, a.ArchivedAt = Draft, time.Time{}
	a.touch(actor, now)
	return nil
}

// TransitionError is an action the article's status forbids. It converts to FailedPrecondition with reason
// ARTICLE_ILLEGAL_TRANSITION and the current state in its metadata.
type TransitionError struct {
	From   Status
	Action Action
}

var hints = map[Action]string{
	ActionPublish: "only a draft can be published",
	ActionArchive: "it is archived already",
	ActionRestore: "only an archived article can be restored",
	ActionEdit:    "restore it first",
}

// Error names the current status.
func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot %s an article in status %q: %s", e.Action, e.From, hints[e.Action])
}

// APIError returns the client-facing error.
func (e *TransitionError) APIError() *apierr.Error {
	return apierr.FailedPrecondition(ReasonIllegalTransition, e.Error()).
		WithMeta("current_state", string(e.From)).WithMeta("action", string(e.Action))
}

// As lets errors.As find an *apierr.Error in a chain holding a *TransitionError.
func (e *TransitionError) As(target any) bool {
	if p, ok := target.(**apierr.Error); ok {
		*p = e.APIError()
		return true
	}
	return false
}
