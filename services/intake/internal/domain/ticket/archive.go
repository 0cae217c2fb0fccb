package ticket

import (
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"kefu.dev/pkg/apierr"
)

// Precondition types reported when archiving an incomplete ticket (apierr.PreconditionViolation.Type).
const (
	PreconditionCustomerIdentified = "CUSTOMER_IDENTIFIED"
	PreconditionHandlingRecord     = "HANDLING_RECORD"
	PreconditionResolutionSummary  = "RESOLUTION_SUMMARY"
	PreconditionSatisfaction       = "SATISFACTION"
)

// MissingForArchive lists what keeps the ticket from being a complete record, in a fixed order; empty means
// complete. Complete is: the customer identified (a customer id, or a contact kept with consent), at least
// one handling record (agent reply or note), a resolution summary, and for the latest resolution either a
// satisfaction rating or the customer-unreachable waiver.
func (t *Ticket) MissingForArchive() []apierr.PreconditionViolation {
	subject := t.ID.String()
	var vs []apierr.PreconditionViolation
	if t.CustomerID == uuid.Nil && t.Contact == nil {
		vs = append(vs, apierr.PreconditionViolation{Type: PreconditionCustomerIdentified, Subject: subject,
			Description: "the customer is not identified: set a customer id or a consented contact"})
	}
	if t.HandlingCount == 0 {
		vs = append(vs, apierr.PreconditionViolation{Type: PreconditionHandlingRecord, Subject: subject,
			Description: "no handling record: add an agent reply or a note"})
	}
	if strings.TrimSpace(t.ResolutionSummary) == "" {
		vs = append(vs, apierr.PreconditionViolation{Type: PreconditionResolutionSummary, Subject: subject,
			Description: "no resolution summary"})
	}
	if t.currentSatisfaction() == nil {
		vs = append(vs, apierr.PreconditionViolation{Type: PreconditionSatisfaction, Subject: subject,
			Description: "no satisfaction rating or customer-unreachable waiver for the latest resolution"})
	}
	return vs
}

// Archive moves closed → archived, freezing the ticket. An incomplete ticket is FailedPrecondition
// TICKET_ARCHIVE_INCOMPLETE listing every missing item (see MissingForArchive), so the agent can fix all of
// them in one go. Emits archived.
func (t *Ticket) Archive(actor Actor, now time.Time) (Change, error) {
	if err := t.precheck(actor, ActionArchive, StatusArchived); err != nil {
		return Change{}, err
	}
	if missing := t.MissingForArchive(); len(missing) > 0 {
		types := make([]string, len(missing))
		for i, m := range missing {
			types[i] = m.Type
		}
		return Change{}, apierr.FailedPrecondition(ReasonArchiveIncomplete,
			fmt.Sprintf("cannot archive an incomplete ticket: missing %s", strings.Join(types, ", ")), missing...).
			WithMeta("current_state", t.Status.String())
	}
	from, to := t.move(StatusArchived)
	t.ArchivedAt = now
	return t.record(actor, now, recordSpec{kind: EventArchived, from: from, to: to}), nil
}
